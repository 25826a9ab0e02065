"""Aesara's broadcast shapes built through aerann's shared Composites: the same graphs and
values as with a new Composite each time, and one op per distinct scalar graph."""

import aesara
import aesara.scalar as aes
import aesara.tensor as at
import aesara.tensor.extra_ops as extra_ops
import numpy as np
import pytest
from aesara.graph.basic import equal_computations
from aesara.scalar.basic import Composite

from aerann import shared_composites


def composites_in(variables):
    """The Composite ops in the graphs of ``variables``."""
    nodes = aesara.graph.basic.applys_between([], variables)
    return [node.op for node in nodes if isinstance(node.op, Composite)]


def broadcast_sizes(*tensors):
    """The broadcast shape of ``tensors`` as Aesara's Elemwise.infer_shape asks for it: a
    tuple of sizes per tensor, the static ones as constants."""
    shapes = [
        tuple(t.shape[i] if size is None else at.constant(size, dtype="int64") for i, size in enumerate(t.type.shape))
        for t in tensors
    ]
    return extra_ops.broadcast_shape(*shapes, arrays_are_shapes=True)


def cases():
    """Tensors whose sizes are not provably equal: symbolic ones, and a constant and a symbolic
    one.  (With a constant and several symbolic sizes, Aesara orders the symbolic ones as a set
    of variables does, so two of its own graphs differ in the order of their inputs.)"""
    a, b, c = at.matrix("a"), at.matrix("b"), at.matrix("c")
    fixed = at.tensor("float64", shape=(None, 3), name="fixed")
    return {"symbolic sizes": (a, b), "a constant size": (a, fixed), "three tensors": (a, b, c)}


def test_aesara_uses_them():
    assert extra_ops.Composite is shared_composites.shared_composite


@pytest.mark.parametrize("case", list(cases()))
def test_the_broadcast_shape_graph_equals_aesaras(case, monkeypatch):
    tensors = cases()[case]
    ours = broadcast_sizes(*tensors)
    monkeypatch.setattr(extra_ops, "Composite", Composite)
    theirs = broadcast_sizes(*tensors)
    assert composites_in(ours) and len(composites_in(ours)) == len(composites_in(theirs))
    assert equal_computations(list(ours), list(theirs))


def test_one_op_per_distinct_scalar_graph():
    first = composites_in(broadcast_sizes(at.matrix("a"), at.matrix("b")))
    again = composites_in(broadcast_sizes(at.matrix("c"), at.matrix("d")))
    assert [id(op) for op in first] == [id(op) for op in again]
    wider = composites_in(broadcast_sizes(at.matrix("a"), at.matrix("b"), at.matrix("c")))
    assert not {id(op) for op in wider} & {id(op) for op in first}


def test_graphs_that_differ_get_different_signatures():
    x, y = aes.int64("x"), aes.int64("y")
    maximum = shared_composites.signature([x, y], [aes.scalar_maximum(x, y)])
    assert maximum == shared_composites.signature([y, x], [aes.scalar_maximum(y, x)])
    assert maximum != shared_composites.signature([x, y], [aes.scalar_maximum(y, x)])
    assert maximum != shared_composites.signature([x, y], [aes.scalar_minimum(x, y)])
    assert shared_composites.signature([x], [x + 1]) != shared_composites.signature([x], [x + 2])
    z = aes.int32("z")
    assert shared_composites.signature([x], [x + 1]) != shared_composites.signature([z], [z + 1])


def test_a_graph_not_computed_from_its_inputs_is_refused():
    x, y = aes.int64("x"), aes.int64("y")
    with pytest.raises(ValueError, match="neither an input"):
        shared_composites.signature([x], [x + y])


def test_elementwise_results_and_broadcast_errors_are_unchanged():
    a, b = at.matrix("a"), at.matrix("b")
    f = aesara.function([a, b], (a + b).shape, mode="FAST_COMPILE")
    np.testing.assert_array_equal(f(np.ones((2, 3)), np.ones((1, 3))), [2, 3])
    with pytest.raises(AssertionError, match="Could not broadcast dimensions"):
        f(np.ones((2, 3)), np.ones((4, 3)))
