"""The output layer's fused loss and gradients equal the formula, however the rows are split into blocks
and threads, on both backends; a loss-only function leaves the gradients out."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from hypothesis import given, HealthCheck, settings, strategies as st

from aerann.backend import compiler, output_loss
from aerann.backend.output_loss import OutputCrossEntropy, output_cross_entropy


def reference(rows, weights, targets, token_weights):
    """The loss sum_n w_n (logsumexp(Z_n) - Z_n,y_n) of Z = R W and its gradients, in float64 NumPy."""
    rows, weights = rows.astype(np.float64), weights.astype(np.float64)
    logits = rows @ weights
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_totals = np.log(np.exp(shifted).sum(axis=1))
    picked = shifted[np.arange(len(targets)), targets]
    loss = float(np.dot(token_weights, log_totals - picked))
    d_logits = np.exp(shifted - log_totals[:, None]) * token_weights[:, None]
    d_logits[np.arange(len(targets)), targets] -= token_weights
    return loss, d_logits @ weights.T, rows.T @ d_logits


def draw(data, dtype):
    n, m, k = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 30))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = rng.normal(0, 2, (n, m)).astype(dtype)
    weights = rng.normal(0, 2, (m, k)).astype(dtype)
    targets = rng.integers(0, k, n).astype(np.int32)
    token_weights = (rng.random(n) < 0.7).astype(dtype)  # a mask: some tokens count, some do not
    return rows, weights, targets, token_weights


@pytest.fixture(scope="module")
def compiled():
    """Loss and gradients through Aesara's symbolic gradient, one function per dtype (sizes symbolic)."""
    functions = {}
    for dtype in ("float64", "float32"):
        rows, weights = at.matrix("rows", dtype=dtype), at.matrix("weights", dtype=dtype)
        targets, token_weights = at.ivector("targets"), at.vector("token_weights", dtype=dtype)
        loss = 3.0 * output_cross_entropy(rows, weights, targets, token_weights)  # a factor on the way back
        functions[dtype] = compiler.function([rows, weights, targets, token_weights],
                                             [loss, *aesara.grad(loss, [rows, weights])])
    return functions


# Blocks of one row up to all rows in one block, one thread or several: every split gives the formula.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), block_entries=st.sampled_from([1, 7, 64, 1 << 20]), per_thread=st.sampled_from([1, 1 << 30]),
       dtype=st.sampled_from(["float64", "float32"]))
def test_loss_and_gradients_equal_the_formula_for_any_blocks_and_threads(compiled, monkeypatch, data, block_entries,
                                                                         per_thread, dtype):
    monkeypatch.setattr(output_loss, "BLOCK_ENTRIES", block_entries)
    monkeypatch.setattr(output_loss, "ENTRIES_PER_THREAD", per_thread)
    inputs = draw(data, dtype)
    loss, d_rows, d_weights = compiled[dtype](*inputs)
    expected = reference(*inputs)
    tolerance = 1e-10 if dtype == "float64" else 2e-4
    assert loss.dtype == dtype and d_rows.dtype == dtype and d_weights.dtype == dtype
    np.testing.assert_allclose(loss, 3.0 * expected[0], rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(d_rows, 3.0 * expected[1], rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(d_weights, 3.0 * expected[2], rtol=tolerance, atol=tolerance)


def test_the_same_inputs_give_the_same_bits_every_time(monkeypatch):
    monkeypatch.setattr(output_loss, "BLOCK_ENTRIES", 64)
    monkeypatch.setattr(output_loss, "ENTRIES_PER_THREAD", 1)  # as many threads as cores
    rng = np.random.default_rng(0)
    inputs = (rng.normal(size=(200, 5)), rng.normal(size=(5, 33)), rng.integers(0, 33, 200).astype(np.int32),
              np.ones(200))
    results = []
    for _ in range(5):
        outputs = [[None], [None], [None]]
        OutputCrossEntropy().perform(None, inputs, outputs)
        results.append([o[0] for o in outputs])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_a_loss_only_function_computes_no_gradients_and_the_same_loss(compiled):
    rows, weights = at.matrix("rows"), at.matrix("weights")
    targets, token_weights = at.ivector("targets"), at.vector("token_weights")
    loss = compiler.function([rows, weights, targets, token_weights],
                             output_cross_entropy(rows, weights, targets, token_weights))
    ops = [node.op for node in loss.maker.fgraph.toposort() if isinstance(node.op, OutputCrossEntropy)]
    assert ops == [OutputCrossEntropy(gradients=False)]
    rng = np.random.default_rng(1)
    inputs = (rng.normal(size=(9, 4)), rng.normal(size=(4, 6)), rng.integers(0, 6, 9).astype(np.int32), np.ones(9))
    assert float(loss(*inputs)) == pytest.approx(reference(*inputs)[0], rel=1e-12)
    assert float(loss(*inputs)) == pytest.approx(float(compiled["float64"](*inputs)[0]) / 3.0, rel=1e-12)


def test_on_the_jax_backend_loss_and_gradients_equal_the_c_backends(compiled):
    pytest.importorskip("jax")
    rows, weights = at.matrix("rows"), at.matrix("weights")
    targets, token_weights = at.ivector("targets"), at.vector("token_weights")
    loss = 3.0 * output_cross_entropy(rows, weights, targets, token_weights)
    with compiler.backend("jax"):
        on_jax = compiler.function([rows, weights, targets, token_weights], [loss, *aesara.grad(loss, [rows, weights])])
        loss_only = compiler.function([rows, weights, targets, token_weights], loss)
    rng = np.random.default_rng(2)
    inputs = (rng.normal(size=(17, 5)), rng.normal(size=(5, 11)), rng.integers(0, 11, 17).astype(np.int32),
              (rng.random(17) < 0.6).astype(np.float64))
    for ours, theirs in zip(on_jax(*inputs), compiled["float64"](*inputs)):
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(loss_only(*inputs)), compiled["float64"](*inputs)[0], rtol=1e-10)


@pytest.mark.parametrize("shapes, message", [
    (((3, 2), (4, 5), (3,), (3,)), "shapes do not match"),
    (((3, 2), (2, 5), (4,), (3,)), "shapes do not match"),
])
def test_mismatched_shapes_are_named(shapes, message):
    rows, weights, targets, token_weights = (np.ones(s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        OutputCrossEntropy().perform(None, (rows, weights, targets.astype(np.int32), token_weights), [[None]] * 3)


def test_bad_symbolic_inputs_are_refused():
    with pytest.raises(TypeError, match="targets must be integers"):
        output_cross_entropy(at.matrix(), at.matrix(), at.vector(), at.vector())
    with pytest.raises(TypeError, match="share a dtype"):
        output_cross_entropy(at.matrix(dtype="float32"), at.matrix(dtype="float64"), at.ivector(), at.vector())
    with pytest.raises(TypeError, match="2-D rows"):
        output_cross_entropy(at.vector(), at.matrix(), at.ivector(), at.vector())
