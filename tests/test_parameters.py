"""Parameters stay on the JAX device between calls, read back as NumPy, and C functions still see NumPy."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest

jax = pytest.importorskip("jax")

from aerann import RNNTheano  # noqa: E402
from aerann.backend import compiler, parameters
from aerann.models import LanguageModel  # noqa: E402


def internal(shared):
    return shared.get_value(return_internal_type=True)


def test_shared_copies_the_value_and_keeps_its_dtype_and_memory_order():
    value = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    p = parameters.shared(value, "p")
    value[0, 0] = 99.0
    assert p.get_value()[0, 0] == 0.0
    assert p.dtype == "float64" and p.get_value(borrow=True).flags.f_contiguous
    assert isinstance(p, aesara.compile.SharedVariable) and p.name == "p"


def test_a_jax_training_step_leaves_the_parameters_on_the_device_and_get_value_reads_numpy():
    np.random.seed(3)
    with compiler.backend("jax"):
        model = RNNTheano(7, 3, bptt_truncate=5)
    before = model.W.get_value()
    model.sgd_step([0, 1, 2], [1, 2, 3], 0.1)
    for shared in (model.U, model.V, model.W):
        assert isinstance(internal(shared), jax.Array), shared.name
        value = shared.get_value()
        assert type(value) is np.ndarray and value.flags.writeable and value.dtype == shared.dtype
        np.testing.assert_array_equal(value, np.asarray(internal(shared)))
    assert not np.allclose(model.W.get_value(), before)
    # get_value is a copy: changing it does not change the parameter.
    value = model.W.get_value()
    value[:] = 0.0
    assert np.abs(model.W.get_value()).sum() > 0


def test_set_value_after_jax_steps_is_what_the_next_jax_call_uses():
    np.random.seed(3)
    with compiler.backend("jax"):
        model = RNNTheano(7, 3, bptt_truncate=5)
    x, y = [0, 1, 2], [1, 2, 3]
    start = [p.get_value() for p in (model.U, model.V, model.W)]
    first = float(model.ce_error(x, y))
    model.sgd_step(x, y, 0.1)
    assert float(model.ce_error(x, y)) != first
    for shared, value in zip((model.U, model.V, model.W), start):
        shared.set_value(value)
    assert float(model.ce_error(x, y)) == pytest.approx(first, rel=1e-12)


def test_a_c_function_runs_on_parameters_that_a_jax_function_left_on_the_device():
    rng = np.random.default_rng(0)
    X = [rng.integers(0, 6, 4) for _ in range(3)]
    Y = [rng.integers(0, 6, 4) for _ in range(3)]
    model = LanguageModel(6, 3, [("gru", 3)], seed=0)
    with compiler.backend("jax"):
        model.fit(X, Y, epochs=1, batch_size=3, learning_rate=0.1, seed=0)
        on_jax = model.loss(X, Y)
    assert all(isinstance(internal(p), jax.Array) for p in model.params.values())
    model._functions.clear()  # compile the loss again, for C this time
    with compiler.backend("c"):
        on_c = model.loss(X, Y)
    np.testing.assert_allclose(on_c, on_jax, rtol=1e-9)
    assert all(type(internal(p)) is np.ndarray for p in model.params.values())


def test_updates_of_other_shared_variables_are_stored_as_aesara_stores_them():
    counter = aesara.shared(np.zeros(2), name="counter")
    step = at.scalar("step", dtype="float64")
    with compiler.backend("jax"):
        increment = compiler.function([step], [], updates=[(counter, counter + step)])
    increment(1.5)
    increment(1.0)
    assert type(counter.get_value(return_internal_type=True)) is np.ndarray
    np.testing.assert_array_equal(counter.get_value(), [2.5, 2.5])
