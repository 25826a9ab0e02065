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


def test_tutorials_gradient_check_passes():
    np.random.seed(10)
    model = RNNNumpy(100, 10, bptt_truncate=1000)
    assert model.gradient_check([0, 1, 2, 3], [1, 2, 3, 4])


def test_gradient_check_reports_a_wrong_gradient(capsys):
    np.random.seed(10)
    model = RNNNumpy(20, 4, bptt_truncate=1000)
    true_bptt = model.bptt
    model.bptt = lambda x, y: [2 * g for g in true_bptt(x, y)]
    assert not model.gradient_check([0, 1, 2], [1, 2, 3])
    assert "Gradient Check ERROR: parameter=U" in capsys.readouterr().out


def test_loss_at_initialisation_is_log_of_the_vocabulary():
    np.random.seed(10)
    vocabulary = 2000
    model = RNNNumpy(vocabulary, 20)
    rng = np.random.default_rng(1)
    X = [rng.integers(vocabulary, size=10) for _ in range(20)]
    Y = [rng.integers(vocabulary, size=10) for _ in range(20)]
    assert abs(model.calculate_loss(X, Y) - np.log(vocabulary)) < 0.01


def test_truncation_limits_how_far_each_error_travels_back():
    np.random.seed(3)
    full = RNNNumpy(12, 4, bptt_truncate=100)
    truncated = RNNNumpy(12, 4, bptt_truncate=1)
    truncated.U, truncated.V, truncated.W = full.U, full.V, full.W
    x, y = [1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7]
    dU_full, dV_full, dW_full = full.bptt(x, y)
    dU_trunc, dV_trunc, dW_trunc = truncated.bptt(x, y)
    np.testing.assert_allclose(dV_trunc, dV_full)  # V sits outside the recurrence
    assert not np.allclose(dW_trunc, dW_full)
    # The last error reaches back over two steps only: input x[3] affects
    # nothing it sees, yet U's column for x[3] still gets the error of step 3.
    assert np.abs(dU_trunc[:, 1]).sum() > 0


def test_sgd_step_lowers_the_loss_on_its_sentence():
    np.random.seed(4)
    model = RNNNumpy(15, 6)
    x, y = [0, 3, 5, 7], [3, 5, 7, 1]
    before = model.calculate_total_loss([x], [y])
    model.sgd_step(x, y, 0.1)
    assert model.calculate_total_loss([x], [y]) < before


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
