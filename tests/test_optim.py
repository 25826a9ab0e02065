"""Optimizers as update lists, L2 regularisation and gradient clipping, checked against NumPy."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aerann.backend import compiler
from aerann.training import optim

START = np.array([[1.0, -2.0], [0.5, 3.0]])
TARGET = np.array([[0.0, 1.0], [-1.0, 2.0]])


def run(name, steps=3, learning_rate=0.1, **options):
    """Minimise 0.5 |p - TARGET|^2 for ``steps`` steps; returns the parameter after each."""
    p = aesara.shared(START.copy(), name="p")
    grad = p - TARGET
    lr = at.scalar("lr", dtype=aesara.config.floatX)
    updates, state = optim.build(name, [p], [grad], lr, **options)
    step = compiler.function([lr], [], updates=updates)
    history = []
    for _ in range(steps):
        step(learning_rate)
        history.append(p.get_value().copy())
    return history, state


def numpy_run(update, steps=3):
    p, memory, history = START.copy(), np.zeros_like(START), []
    for _ in range(steps):
        p, memory = update(p, p - TARGET, memory)
        history.append(p.copy())
    return history


def test_sgd_steps_against_the_gradient():
    history, state = run("sgd")
    expected = numpy_run(lambda p, g, m: (p - 0.1 * g, m))
    np.testing.assert_allclose(history, expected)
    assert state == []


def test_momentum_is_the_books_velocity_update():
    history, state = run("momentum", mu=0.9)

    def update(p, g, v):
        v = 0.9 * v - 0.1 * g
        return p + v, v

    np.testing.assert_allclose(history, numpy_run(update))
    assert len(state) == 1 and state[0].get_value().shape == START.shape


def test_adagrad_is_min_char_rnns():
    history, _ = run("adagrad")

    def update(p, g, cache):
        cache = cache + g**2
        return p - 0.1 * g / np.sqrt(cache + 1e-8), cache

    np.testing.assert_allclose(history, numpy_run(update))


def test_rmsprop_keeps_a_decaying_average_of_squared_gradients():
    history, _ = run("rmsprop", decay=0.5)

    def update(p, g, cache):
        cache = 0.5 * cache + 0.5 * g**2
        return p - 0.1 * g / np.sqrt(cache + 1e-8), cache

    np.testing.assert_allclose(history, numpy_run(update))


def test_nesterov_takes_the_look_ahead_step():
    history, state = run("nesterov", steps=4, mu=0.8)

    def update(p, g, v):
        v = 0.8 * v - 0.1 * g
        return p + 0.8 * v - 0.1 * g, v

    np.testing.assert_allclose(history, numpy_run(update, steps=4))
    assert len(state) == 1


def test_adam_corrects_the_bias_of_both_running_averages():
    history, state = run("adam", steps=5, beta1=0.8, beta2=0.9)
    p, m, v, expected = START.copy(), np.zeros_like(START), np.zeros_like(START), []
    for t in range(1, 6):
        g = p - TARGET
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g**2
        p = p - 0.1 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t)) + 1e-8)
        expected.append(p.copy())
    np.testing.assert_allclose(history, expected)
    # The first step is lr * sign(g) (up to eps): what bias correction is for.
    np.testing.assert_allclose(history[0], START - 0.1 * np.sign(START - TARGET), atol=1e-7)
    assert [s.get_value().shape for s in state] == [(), START.shape, START.shape]


def test_adadelta_scales_by_the_ratio_of_running_rms():
    history, state = run("adadelta", steps=5, learning_rate=1.0, rho=0.9, epsilon=1e-4)
    p, squares, steps, expected = START.copy(), np.zeros_like(START), np.zeros_like(START), []
    for _ in range(5):
        g = p - TARGET
        squares = 0.9 * squares + 0.1 * g**2
        delta = -np.sqrt(steps + 1e-4) / np.sqrt(squares + 1e-4) * g
        steps = 0.9 * steps + 0.1 * delta**2
        p = p + delta
        expected.append(p.copy())
    np.testing.assert_allclose(history, expected)
    assert len(state) == 2


def test_every_registered_optimizer_lowers_the_loss_and_checks_its_options():
    assert optim.OPTIMIZERS == ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adadelta")
    for name in optim.OPTIMIZERS:
        history, _ = run(name, steps=3, learning_rate=1.0 if name == "adadelta" else 0.1)
        losses = [0.5 * np.sum((p - TARGET) ** 2) for p in history]
        assert losses[-1] < 0.5 * np.sum((START - TARGET) ** 2), name
        optimizer = optim.get(name)
        assert set(optimizer.check_options({})) == set(optimizer.options)
        with pytest.raises(ValueError, match=f"the optimizer {name} has no option 'colour'"):
            optimizer.check_options({"colour": 1})
    with pytest.raises(ValueError, match=r"beta2 \(adam\) must be in \[0, 1\), got 1"):
        optim.get("adam").check_options({"beta2": 1.0})
    with pytest.raises(ValueError, match=r"epsilon \(rmsprop\) must be in \(0, inf\), got 0"):
        optim.get("rmsprop").check_options({"epsilon": 0})


def test_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match="unknown optimizer .adamw.: choose one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adadelta"):
        optim.build("adamw", [], [], 0.1)


def test_l2_penalty_covers_weight_matrices_only():
    W = aesara.shared(np.full((2, 2), 2.0))
    b = aesara.shared(np.full(3, 5.0))
    assert optim.l2_penalty([W, b], 0.0) == 0
    assert np.isclose(optim.l2_penalty([W, b], 0.1).eval(), 0.1 * 16)


def test_gradient_clipping_by_global_norm_and_elementwise():
    g1, g2 = at.vector("g1"), at.vector("g2")
    clipped = optim.clip_by_norm([g1, g2], 1.0) + optim.clip_elementwise([g1, g2], 2.0)
    fn = compiler.function([g1, g2], clipped)
    big = fn(np.array([3.0, 0.0]), np.array([0.0, 4.0]))
    np.testing.assert_allclose(big[0], [0.6, 0.0])
    np.testing.assert_allclose(big[1], [0.0, 0.8])
    np.testing.assert_allclose(big[2], [2.0, 0.0])
    np.testing.assert_allclose(big[3], [0.0, 2.0])
    small = fn(np.array([0.3, 0.0]), np.array([0.0, -0.4]))
    np.testing.assert_allclose(small[0], [0.3, 0.0])
    np.testing.assert_allclose(small[1], [0.0, -0.4])
