"""RNNNumpy reproduces the tutorial: initialisation, loss at start, gradients, truncation."""

import numpy as np
import pytest

from aerann import RNNNumpy


def test_initialisation_follows_the_tutorials_draws():
    np.random.seed(10)
    model = RNNNumpy(50, 7)
    np.random.seed(10)
    U = np.random.uniform(-np.sqrt(1 / 50), np.sqrt(1 / 50), (7, 50))
    V = np.random.uniform(-np.sqrt(1 / 7), np.sqrt(1 / 7), (50, 7))
    W = np.random.uniform(-np.sqrt(1 / 7), np.sqrt(1 / 7), (7, 7))
    np.testing.assert_array_equal(model.U, U)
    np.testing.assert_array_equal(model.V, V)
    np.testing.assert_array_equal(model.W, W)


def test_forward_propagation_shapes_and_probabilities():
    np.random.seed(0)
    model = RNNNumpy(30, 5)
    o, s = model.forward_propagation([1, 2, 3])
    assert o.shape == (3, 30) and s.shape == (4, 5)
    np.testing.assert_allclose(o.sum(axis=1), 1.0)
    np.testing.assert_array_equal(s[-1], 0.0)
    np.testing.assert_array_equal(model.predict([1, 2, 3]), o.argmax(axis=1))


def test_tutorials_gradient_check_passes(capsys):
    np.random.seed(10)
    model = RNNNumpy(100, 10, bptt_truncate=1000)
    assert model.gradient_check([0, 1, 2, 3], [1, 2, 3, 4])
    printed = capsys.readouterr().out
    for name, size in (("U", 1000), ("V", 1000), ("W", 100)):
        assert f"Performing gradient check for parameter {name} with size {size}." in printed
        assert f"Gradient check for parameter {name} passed." in printed


def test_gradient_check_reports_a_wrong_gradient(capsys):
    np.random.seed(10)
    model = RNNNumpy(20, 4, bptt_truncate=1000)
    true_bptt = model.bptt
    model.bptt = lambda x, y: [2 * g for g in true_bptt(x, y)]
    assert not model.gradient_check([0, 1, 2], [1, 2, 3])
    printed = capsys.readouterr().out
    assert "Gradient Check ERROR: parameter=U ix=(0, 0)" in printed
    assert "Relative Error: 0.333" in printed  # |2g - g| / (|2g| + |g|)
    assert "passed" not in printed


def test_loss_at_initialisation_is_log_of_the_vocabulary():
    # The tutorial's sizes: 8000 words, 100 hidden units, expected loss 8.987.
    np.random.seed(10)
    vocabulary = 8000
    model = RNNNumpy(vocabulary, 100)
    rng = np.random.default_rng(1)
    lengths = rng.integers(5, 25, size=40)
    X = [rng.integers(vocabulary, size=n) for n in lengths]
    Y = [rng.integers(vocabulary, size=n) for n in lengths]
    assert abs(model.calculate_loss(X, Y) - np.log(vocabulary)) < 0.01


def numerical_gradients(model, loss, h=1e-5):
    """Central differences of loss() over every entry of U, V, W."""
    gradients = []
    for name in ("U", "V", "W"):
        parameter = getattr(model, name)
        gradient = np.zeros_like(parameter)
        for ix in np.ndindex(parameter.shape):
            original = parameter[ix]
            parameter[ix] = original + h
            plus = loss()
            parameter[ix] = original - h
            minus = loss()
            parameter[ix] = original
            gradient[ix] = (plus - minus) / (2 * h)
        gradients.append(gradient)
    return gradients


def window_loss(model, x, y, first, outputs, start_state):
    """Loss of the output steps ``outputs``, running the recurrence from step ``first`` on a fixed state."""
    s, loss = start_state, 0.0
    for t in range(first, max(outputs) + 1):
        s = np.tanh(model.U[:, x[t]] + model.W.dot(s))
        if t in outputs:
            logits = model.V.dot(s)
            loss -= logits[y[t]] - np.log(np.sum(np.exp(logits)))
    return loss


@pytest.mark.parametrize("k", [1, 2, 4])
def test_truncation_is_per_output_step(k):
    """bptt = sum over t of the gradient of loss_t with the state before step t - k held constant."""
    np.random.seed(3)
    model = RNNNumpy(9, 3, bptt_truncate=k)
    x, y = [1, 2, 3, 4, 5, 6, 0], [2, 3, 4, 5, 6, 7, 8]
    _, s = model.forward_propagation(x)  # s[-1] is the zero state before step 0
    expected = [np.zeros_like(p) for p in (model.U, model.V, model.W)]
    for t in range(len(x)):
        first = max(0, t - k)
        frozen = s[first - 1].copy()
        parts = numerical_gradients(model, lambda: window_loss(model, x, y, first, [t], frozen))
        for total, part in zip(expected, parts):
            total += part
    for ours, reference in zip(model.bptt(x, y), expected):
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-8)
    untruncated = RNNNumpy(9, 3, bptt_truncate=len(x))
    untruncated.U, untruncated.V, untruncated.W = model.U, model.V, model.W
    dU, dV, dW = untruncated.bptt(x, y)
    np.testing.assert_allclose(model.bptt(x, y)[1], dV)  # V sits outside the recurrence
    assert not np.allclose(model.bptt(x, y)[2], dW)


def test_gradient_check_lifts_the_truncation():
    np.random.seed(10)
    model = RNNNumpy(12, 4, bptt_truncate=1)
    x, y = [0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]
    assert model.gradient_check(x, y)
    assert model.bptt_truncate == 1


def test_sgd_step_applies_the_bptt_gradients():
    np.random.seed(4)
    model = RNNNumpy(15, 6)
    x, y = [0, 3, 5, 7], [3, 5, 7, 1]
    before = [p.copy() for p in (model.U, model.V, model.W)]
    gradients = model.bptt(x, y)
    loss = model.calculate_total_loss([x], [y])
    model.sgd_step(x, y, 0.1)
    for parameter, old, gradient in zip((model.U, model.V, model.W), before, gradients):
        np.testing.assert_allclose(parameter, old - 0.1 * gradient, rtol=0, atol=1e-15)
    assert model.calculate_total_loss([x], [y]) < loss
    with pytest.raises(ValueError, match="learning_rate"):
        model.sgd_step(x, y, float("inf"))


@pytest.mark.parametrize(
    "x, y, error, words",
    [
        ([1, 2], [1], ValueError, "same length"),
        ([], [], ValueError, "empty"),
        ([1, 99], [1, 2], ValueError, "outside the vocabulary"),
        ([1, -1], [1, 2], ValueError, "outside the vocabulary"),
        ([1.5, 2.0], [1, 2], TypeError, "integer"),
        ("ab", [1, 2], TypeError, "str"),
    ],
)
def test_bad_input_gets_a_clear_error(x, y, error, words):
    model = RNNNumpy(10, 3)
    with pytest.raises(error, match=words):
        model.bptt(x, y)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="word_dim"):
        RNNNumpy(0)
    with pytest.raises(TypeError, match="hidden_dim"):
        RNNNumpy(10, 2.5)
