"""Optimizers as Aesara update lists, L2 regularisation and gradient clipping.

Each optimizer takes parameters (shared variables), their gradients and a
symbolic learning rate, and returns ``(updates, state)`` where ``state`` is
the list of shared variables it keeps (velocities, caches) so they can be
saved and restored.
"""

import aesara.tensor as at
import numpy as np

from aerann import parameters

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop")


def _zeros_like(param):
    value = param.get_value(borrow=True)
    return parameters.shared(np.zeros(value.shape, dtype=value.dtype), name=f"{param.name}_state")


def sgd(params, grads, learning_rate):
    """p <- p - lr g."""
    return [(p, p - learning_rate * g) for p, g in zip(params, grads)], []


def momentum(params, grads, learning_rate, mu=0.9):
    """The book's momentum: v <- mu v - lr g, p <- p + v."""
    updates, state = [], []
    for p, g in zip(params, grads):
        v = _zeros_like(p)
        v_new = mu * v - learning_rate * g
        updates += [(v, v_new), (p, p + v_new)]
        state.append(v)
    return updates, state


def adagrad(params, grads, learning_rate, epsilon=1e-8):
    """Karpathy's min-char-rnn: cache <- cache + g^2, p <- p - lr g / sqrt(cache + eps)."""
    updates, state = [], []
    for p, g in zip(params, grads):
        cache = _zeros_like(p)
        cache_new = cache + g**2
        updates += [(cache, cache_new), (p, p - learning_rate * g / at.sqrt(cache_new + epsilon))]
        state.append(cache)
    return updates, state


def rmsprop(params, grads, learning_rate, decay=0.9, epsilon=1e-8):
    """cache <- decay cache + (1 - decay) g^2, p <- p - lr g / sqrt(cache + eps)."""
    updates, state = [], []
    for p, g in zip(params, grads):
        cache = _zeros_like(p)
        cache_new = decay * cache + (1 - decay) * g**2
        updates += [(cache, cache_new), (p, p - learning_rate * g / at.sqrt(cache_new + epsilon))]
        state.append(cache)
    return updates, state


def build(name, params, grads, learning_rate, **options):
    """The updates of the optimizer called ``name`` (one of OPTIMIZERS)."""
    builders = {"sgd": sgd, "momentum": momentum, "adagrad": adagrad, "rmsprop": rmsprop}
    if name not in builders:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return builders[name](params, grads, learning_rate, **options)


def l2_penalty(params, reg):
    """reg * sum of squared weights (matrices only: biases and initial states are not penalised)."""
    weights = [p for p in params if p.ndim == 2]
    if not reg or not weights:
        return 0
    return reg * sum(at.sum(p**2) for p in weights)


def clip_by_norm(grads, max_norm):
    """Rescale all gradients together so their global L2 norm is at most ``max_norm``."""
    norm = at.sqrt(sum(at.sum(g**2) for g in grads))
    scale = at.minimum(1.0, max_norm / at.maximum(norm, 1e-12))
    return [g * scale for g in grads]


def clip_elementwise(grads, limit):
    """Clip every gradient entry to [-limit, limit] (min-char-rnn clips to ±5)."""
    return [at.clip(g, -limit, limit) for g in grads]
