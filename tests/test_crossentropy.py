"""The fused softmax cross-entropy Ops equal Aesara's log-softmax graph, values and gradients."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.tensor.special import log_softmax, softmax
from hypothesis import given
from hypothesis import strategies as st

from aerann.backend import compiler, crossentropy
from aerann.backend.crossentropy import cross_entropy, softmax_cross_entropy

logits_var, targets_var, weights_var = at.matrix("logits"), at.ivector("targets"), at.vector("weights")
probability_weights = at.matrix("probability_weights")


def _functions():
    """(ours, Aesara's): f(logits, targets, weights, probability_weights) -> [loss, d loss / d logits].

    The loss uses both outputs of the Op, so both gradient paths are checked.
    """
    losses, probabilities = softmax_cross_entropy(logits_var, targets_var)
    rows = at.arange(targets_var.shape[0])
    reference_losses = -log_softmax(logits_var, axis=1)[rows, targets_var]
    outputs = []
    for per_row, probs in ((losses, probabilities), (reference_losses, softmax(logits_var, axis=1))):
        loss = at.sum(per_row * weights_var) + at.sum(probs * probability_weights)
        outputs.append(
            compiler.function(
                [logits_var, targets_var, weights_var, probability_weights], [loss, aesara.grad(loss, logits_var)]
            )
        )
    return outputs


FUNCTIONS = {}


def functions():
    if not FUNCTIONS:
        FUNCTIONS["pair"] = _functions()
    return FUNCTIONS["pair"]


@st.composite
def problems(draw):
    rows, classes = draw(st.integers(1, 6)), draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 30.0]))
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((rows, classes))
    targets = rng.integers(0, classes, rows).astype(np.int32)
    return logits, targets, rng.standard_normal(rows), rng.standard_normal((rows, classes))


@given(problems())
def test_loss_and_gradient_equal_the_log_softmax_graph(problem):
    ours, reference = functions()
    (loss, grad), (expected_loss, expected_grad) = ours(*problem), reference(*problem)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-10)


def test_rows_split_over_threads_give_exactly_the_one_block_result(monkeypatch):
    ours, _ = functions()
    rng = np.random.default_rng(7)
    problem = (rng.standard_normal((7, 5)), rng.integers(0, 5, 7).astype(np.int32), rng.standard_normal(7), rng.standard_normal((7, 5)))
    one_block = ours(*problem)
    monkeypatch.setattr(crossentropy, "ENTRIES_PER_THREAD", 1)
    monkeypatch.setattr(crossentropy.os, "cpu_count", lambda: 3)
    in_threads = ours(*problem)
    assert 3 in crossentropy._pools, "the rows should have run as 3 blocks"
    for value, expected in zip(in_threads, one_block):
        np.testing.assert_array_equal(value, expected)


def test_large_logits_do_not_overflow():
    losses = compiler.function([logits_var, targets_var], cross_entropy(logits_var, targets_var))
    result = losses(np.array([[1000.0, 0.0], [-1000.0, 0.0]]), np.array([0, 0], dtype=np.int32))
    np.testing.assert_allclose(result, [0.0, 1000.0])


def test_float32_stays_float32():
    logits32 = at.matrix("logits32", dtype="float32")
    loss = at.sum(cross_entropy(logits32, targets_var))
    f = compiler.function([logits32, targets_var], [loss, aesara.grad(loss, logits32)])
    values = f(np.zeros((3, 4), dtype=np.float32), np.array([0, 1, 3], dtype=np.int32))
    assert [v.dtype for v in values] == [np.float32, np.float32]
    np.testing.assert_allclose(values[0], 3 * np.log(4), rtol=1e-6)


@pytest.mark.parametrize(
    "logits, targets, message",
    [(at.vector(), at.ivector(), "2-D logits"), (at.matrix(), at.vector(), "integers")],
)
def test_bad_inputs_are_named(logits, targets, message):
    with pytest.raises(TypeError, match=message):
        cross_entropy(logits, targets)


def test_the_jax_backend_gives_the_same_loss_and_gradient():
    pytest.importorskip("jax")
    from aerann.backend import jax_scan

    jax_scan.register()
    losses, probabilities = softmax_cross_entropy(logits_var, targets_var)
    loss = at.sum(losses * weights_var) + at.sum(probabilities * probability_weights)
    outputs = [loss, aesara.grad(loss, logits_var)]
    inputs = [logits_var, targets_var, weights_var, probability_weights]
    on_jax = aesara.function(inputs, outputs, mode="JAX")
    on_c = aesara.function(inputs, outputs)
    rng = np.random.default_rng(5)
    problem = (rng.standard_normal((4, 6)), np.array([0, 5, 2, 2], dtype=np.int32), rng.standard_normal(4), rng.standard_normal((4, 6)))
    for ours, theirs in zip(on_jax(*problem), on_c(*problem)):
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-10, atol=1e-12)
