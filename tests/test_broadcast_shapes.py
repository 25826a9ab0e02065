"""aerann's broadcast_shape builds the graph Aesara's builds, with its check ops built once per
kind; elementwise results and broadcast errors are unchanged."""

import aesara
import aesara.tensor as at
import aesara.tensor.extra_ops as extra_ops
import numpy as np
import pytest
from aesara.graph.basic import equal_computations
from aesara.scalar.basic import Composite

from aerann.backend import broadcast_shapes


def composites_in(variables):
    """The Composite ops in the graphs of ``variables``."""
    nodes = aesara.graph.basic.applys_between([], variables)
    return [node.op for node in nodes if isinstance(node.op, Composite)]


def shapes_of(*tensors):
    """The shapes of ``tensors`` as Aesara's Elemwise.infer_shape passes them: a tuple of sizes
    per tensor, the static ones as constants."""
    return [
        tuple(t.shape[i] if size is None else at.constant(size, dtype="int64") for i, size in enumerate(t.type.shape))
        for t in tensors
    ]


def cases():
    """Tensors whose sizes are not provably equal (symbolic ones; a constant and a symbolic one;
    three), sizes that are, and a constant checked against one symbolic size."""
    a, b, c = at.matrix("a"), at.matrix("b"), at.matrix("c")
    fixed = at.tensor("float64", shape=(None, 3), name="fixed")
    row = at.tensor("float64", shape=(1, None), name="row")
    return {
        "symbolic sizes": (a, b),
        "a constant size": (a, fixed),
        "three tensors": (a, b, c),
        "a broadcastable row": (row, a),
        "the same tensor twice": (a, a),
        "different ranks": (at.vector("v"), a),
    }


def test_aesara_uses_it():
    assert extra_ops.broadcast_shape_iter is broadcast_shapes.broadcast_shape_iter


@pytest.mark.parametrize("case", list(cases()))
def test_the_broadcast_shape_graph_equals_aesaras(case):
    tensors = cases()[case]
    ours = extra_ops.broadcast_shape(*shapes_of(*tensors), arrays_are_shapes=True)
    theirs = broadcast_shapes._aesaras(shapes_of(*tensors), arrays_are_shapes=True)
    assert len(composites_in(ours)) == len(composites_in(theirs))
    assert equal_computations(list(ours), list(theirs))
    assert equal_computations(list(broadcast_shapes.broadcast_shape_iter(tensors)),
                              list(broadcast_shapes._aesaras(tensors)))


def test_the_check_ops_are_built_once_per_kind():
    first = composites_in(extra_ops.broadcast_shape(*shapes_of(at.matrix("a"), at.matrix("b")), arrays_are_shapes=True))
    again = composites_in(extra_ops.broadcast_shape(*shapes_of(at.matrix("c"), at.matrix("d")), arrays_are_shapes=True))
    assert first and [id(op) for op in first] == [id(op) for op in again]
    wider = composites_in(extra_ops.broadcast_shape(*shapes_of(*[at.matrix() for _ in range(3)]), arrays_are_shapes=True))
    assert not {id(op) for op in wider} & {id(op) for op in first}


def test_sizes_checked_against_a_constant_keep_their_order():
    def measured(size):
        while size.owner is not None:
            size = size.owner.inputs[0]
        return size

    a, b = at.matrix("a"), at.matrix("b")
    fixed = at.tensor("float64", shape=(None, 3), name="fixed")
    for order in [(a, b), (b, a)]:
        (_, size) = extra_ops.broadcast_shape(*shapes_of(*order, fixed), arrays_are_shapes=True)
        check = size.owner.inputs[1]
        assert [measured(s) for s in check.owner.inputs] == list(order)


def test_sizes_that_cannot_broadcast_are_refused():
    with pytest.raises(ValueError, match="Could not broadcast"):
        broadcast_shapes.broadcast_shape_iter([(at.constant(2), ), (at.constant(3),)], arrays_are_shapes=True)


def test_elementwise_results_and_broadcast_errors_are_unchanged():
    a, b = at.matrix("a"), at.matrix("b")
    f = aesara.function([a, b], (a + b).shape, mode="FAST_COMPILE")
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.ones((1, 3))), [2, 3])
    with pytest.raises(AssertionError, match="Could not broadcast dimensions"):
        f(np.ones((2, 3)), np.ones((4, 3)))
    (size,) = extra_ops.broadcast_shape((a.shape[1],), (at.constant(3, dtype="int64"),), arrays_are_shapes=True)
    g = aesara.function([a], size, mode="FAST_COMPILE")
    assert g(np.ones((2, 1))) == 3 and g(np.ones((2, 3))) == 3
    with pytest.raises(AssertionError, match="Could not broadcast dimensions"):
        g(np.ones((2, 2)))
