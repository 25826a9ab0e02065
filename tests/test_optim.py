"""Optimizers as update lists, L2 regularisation and gradient clipping, checked against NumPy."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aerann import compile, optim

START = np.array([[1.0, -2.0], [0.5, 3.0]])
TARGET = np.array([[0.0, 1.0], [-1.0, 2.0]])


def run(name, steps=3, learning_rate=0.1, **options):
    """Minimise 0.5 |p - TARGET|^2 for ``steps`` steps; returns the parameter after each."""
    p = aesara.shared(START.copy(), name="p")
    grad = p - TARGET
    lr = at.scalar("lr", dtype=aesara.config.floatX)
    updates, state = optim.build(name, [p], [grad], lr, **options)
    step = compile.function([lr], [], updates=updates)
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


def test_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match="adam"):
        optim.build("adam", [], [], 0.1)


def test_l2_penalty_covers_weight_matrices_only():
    W = aesara.shared(np.full((2, 2), 2.0))
    b = aesara.shared(np.full(3, 5.0))
    assert optim.l2_penalty([W, b], 0.0) == 0
    assert np.isclose(optim.l2_penalty([W, b], 0.1).eval(), 0.1 * 16)


def test_gradient_clipping_by_global_norm_and_elementwise():
    g1, g2 = at.vector("g1"), at.vector("g2")
    clipped = optim.clip_by_norm([g1, g2], 1.0) + optim.clip_elementwise([g1, g2], 2.0)
    fn = compile.function([g1, g2], clipped)
    big = fn(np.array([3.0, 0.0]), np.array([0.0, 4.0]))
    np.testing.assert_allclose(big[0], [0.6, 0.0])
    np.testing.assert_allclose(big[1], [0.0, 0.8])
    np.testing.assert_allclose(big[2], [2.0, 0.0])
    np.testing.assert_allclose(big[3], [0.0, 2.0])
    small = fn(np.array([0.3, 0.0]), np.array([0.0, -0.4]))
    np.testing.assert_allclose(small[0], [0.3, 0.0])
    np.testing.assert_allclose(small[1], [0.0, -0.4])
