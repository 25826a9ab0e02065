"""aerann's infer_static_shape finds the static sizes Aesara's own finds (but those only the computing
node or algebra gives), without building a graph, and Aesara's allocations use it."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.tensor.extra_ops import broadcast_shape

from aerann.backend import static_shapes


def scan_over(x):
    """States (T, 3, 4) of a tanh recurrence over ``x`` (T, 3, 4), from a zero state of static size."""
    states, _ = aesara.scan(lambda x_t, h: at.tanh(x_t + h), sequences=[x], outputs_info=[at.zeros((3, 4))])
    return states


def cases():
    static = at.tensor("float64", shape=(2, None, 5), name="static")
    loose = at.matrix("loose")
    n = at.iscalar("n")
    x = at.tensor("float64", shape=(None, 3, 4), name="x")
    states = scan_over(x)
    gradient = aesara.grad(states.sum(), x)
    return {
        "constants": (3, 4),
        "static sizes": (static.shape[0], static.shape[2]),
        "unknown sizes": (static.shape[1], loose.shape[0]),
        "arithmetic on sizes": (static.shape[0] * static.shape[2] + 1, loose.shape[1] + 2, n),
        "a scan's gradient": tuple(gradient.shape[i] for i in range(3)),
        "broadcast sizes and their checks": tuple(
            broadcast_shape(tuple(static.shape[i] for i in range(3)), (2, 1, loose.shape[0]), arrays_are_shapes=True)
        ),
        "sizes of a reshaped tensor": tuple(static.reshape((10, -1)).shape),
        "a size cast and clipped": (at.cast(static.shape[2], "int32"), at.clip(loose.shape[1], 1, 3)),
    }


def test_a_size_only_the_computing_node_or_algebra_knows_is_left_open_never_changed():
    x = at.tensor("float64", shape=(None, 3, 4), name="x")
    shape = tuple(scan_over(x).shape[i] for i in range(3))
    assert static_shapes._aesaras(shape)[1] == (None, 3, 4)  # Aesara asks the scan
    assert static_shapes.infer_static_shape(shape)[1] == (None, None, None)  # the scan output's type
    n = at.iscalar("n")
    assert static_shapes._aesaras((2 + n * 0,))[1] == (2,)  # Aesara simplifies n * 0
    assert static_shapes.infer_static_shape((2 + n * 0,))[1] == (None,)  # n is not known


def test_a_size_from_an_op_that_folds_only_by_the_graph_around_it_is_left_open():
    size = at.alloc(at.constant(3, dtype="int64"))  # Alloc decides from its clients whether to fold
    assert static_shapes._aesaras((size, 2))[1] == (3, 2)
    assert static_shapes.infer_static_shape((size, 2))[1] == (None, 2)


def test_a_check_known_to_fail_is_left_to_the_running_graph():
    static = at.tensor("float64", shape=(2, None), name="static")
    (size,) = broadcast_shape((static.shape[0],), (3,), arrays_are_shapes=True)
    assert static_shapes.infer_static_shape((size,))[1] == (None,)


@pytest.mark.parametrize("case", list(cases()))
def test_the_static_sizes_equal_aesaras(case):
    shape = cases()[case]
    ours, theirs = static_shapes.infer_static_shape(shape), static_shapes._aesaras(shape)
    assert ours[1] == theirs[1]
    assert [size.type for size in ours[0]] == [size.type for size in theirs[0]]


def test_non_integer_sizes_are_refused():
    with pytest.raises(TypeError, match="Shapes must be scalar integers"):
        static_shapes.infer_static_shape((at.scalar("x"),))


def test_allocations_use_it_and_their_values_are_unchanged():
    assert aesara.tensor.basic.infer_static_shape is static_shapes.infer_static_shape
    x = at.tensor("float64", shape=(None, 3, 4), name="x")
    states = scan_over(x)
    zeros = at.zeros((states.shape[0], 2 * x.shape[2]))
    assert zeros.type.shape == (None, 8)
    f = aesara.function([x], [zeros, states], mode="FAST_COMPILE")
    value, states_value = f(np.ones((5, 3, 4)))
    np.testing.assert_array_equal(value, np.zeros((5, 8)))
    assert states_value.shape == (5, 3, 4)
