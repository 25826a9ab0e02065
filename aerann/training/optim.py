"""Optimizers as Aesara update lists, from one registry; L2 regularisation and gradient clipping.

Each optimizer takes parameters (shared variables), their gradients ``g``
and a symbolic learning rate ``lr``, and returns ``(updates, state)`` where
``state`` is the list of shared variables it keeps (velocities, running
averages, a step count) so they can be saved and restored.  Each is
registered in :data:`REGISTRY` with its options and their defaults; the
models, training runs and the command line take their names and checks
from it, so an optimizer added here is available everywhere.

The updates, for every parameter ``p`` (``eps`` keeps divisions finite):

- ``sgd``: ``p <- p - lr g``;
- ``momentum`` (the book's): ``v <- mu v - lr g``, ``p <- p + v``;
- ``nesterov`` (Sutskever et al. 2013, in the form that keeps ``p`` at the
  look-ahead point): ``v <- mu v - lr g``, ``p <- p + mu v - lr g``;
- ``adagrad`` (Duchi et al. 2011, Karpathy's min-char-rnn):
  ``s <- s + g^2``, ``p <- p - lr g / sqrt(s + eps)``;
- ``rmsprop`` (Hinton's lecture 6e): ``s <- decay s + (1 - decay) g^2``,
  ``p <- p - lr g / sqrt(s + eps)``;
- ``adam`` (Kingma and Ba 2015, with bias correction): ``t <- t + 1``,
  ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``,
  ``p <- p - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)``;
- ``adadelta`` (Zeiler 2012, the Theano LSTM tutorial's; ``lr`` scales its
  step and is 1 in the paper): ``s <- rho s + (1 - rho) g^2``,
  ``d <- -sqrt(u + eps) / sqrt(s + eps) g``, ``u <- rho u + (1 - rho) d^2``,
  ``p <- p + lr d``.
"""

from dataclasses import dataclass

import aesara
import aesara.tensor as at
import numpy as np

from aerann.backend import parameters
from aerann.data.validation import finite_float


def _zeros_like(param, what="state"):
    value = param.get_value(borrow=True)
    return parameters.shared(np.zeros(value.shape, dtype=value.dtype), name=f"{param.name}_{what}")


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


def nesterov(params, grads, learning_rate, mu=0.9):
    """Nesterov's momentum: v <- mu v - lr g, p <- p + mu v - lr g (the gradient taken at p)."""
    updates, state = [], []
    for p, g in zip(params, grads):
        v = _zeros_like(p)
        v_new = mu * v - learning_rate * g
        updates += [(v, v_new), (p, p + mu * v_new - learning_rate * g)]
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


def adam(params, grads, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam with bias correction: m, v running averages of g and g^2, corrected by 1 - beta^t."""
    t = parameters.shared(np.asarray(0.0, dtype=aesara.config.floatX), name="adam_step")
    t_new = t + 1
    m_correction, v_correction = 1 - beta1**t_new, 1 - beta2**t_new
    updates, state = [(t, t_new)], [t]
    for p, g in zip(params, grads):
        m, v = _zeros_like(p, "adam_m"), _zeros_like(p, "adam_v")
        m_new = beta1 * m + (1 - beta1) * g
        v_new = beta2 * v + (1 - beta2) * g**2
        step = (m_new / m_correction) / (at.sqrt(v_new / v_correction) + epsilon)
        updates += [(m, m_new), (v, v_new), (p, p - learning_rate * step)]
        state += [m, v]
    return updates, state


def adadelta(params, grads, learning_rate, rho=0.95, epsilon=1e-6):
    """Adadelta: the step is g scaled by RMS(past steps) / RMS(gradients), times lr."""
    updates, state = [], []
    for p, g in zip(params, grads):
        squares, steps = _zeros_like(p, "adadelta_g2"), _zeros_like(p, "adadelta_d2")
        squares_new = rho * squares + (1 - rho) * g**2
        delta = -at.sqrt(steps + epsilon) / at.sqrt(squares_new + epsilon) * g
        updates += [(squares, squares_new), (steps, rho * steps + (1 - rho) * delta**2),
                    (p, p + learning_rate * delta)]
        state += [squares, steps]
    return updates, state


@dataclass(frozen=True)
class Option:
    """An optimizer option: its default and the open or closed interval it must lie in."""

    default: float
    low: float
    high: float = float("inf")
    low_inclusive: bool = False
    high_inclusive: bool = False

    def check(self, value, what):
        value = finite_float(value, what)
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        if not (above and below):
            interval = (("[" if self.low_inclusive else "(") + f"{self.low:g}, {self.high:g}"
                        + ("]" if self.high_inclusive else ")"))
            raise ValueError(f"{what} must be in {interval}, got {value:g}")
        return value


_FRACTION = dict(low=0.0, high=1.0, low_inclusive=True)  # [0, 1)
_POSITIVE = dict(low=0.0)


@dataclass(frozen=True)
class Optimizer:
    """A registered optimizer: the function building its updates and its options."""

    name: str
    build: object
    options: dict

    def check_options(self, given) -> dict:
        """Every option of this optimizer, the given ones checked, the others at their defaults."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ValueError(f"the optimizer {self.name} has no option {unknown[0]!r} (its options: {known})")
        return {name: option.check(given.get(name, option.default), f"{name} ({self.name})")
                for name, option in self.options.items()}


REGISTRY = {
    optimizer.name: optimizer
    for optimizer in (
        Optimizer("sgd", sgd, {}),
        Optimizer("momentum", momentum, {"mu": Option(0.9, **_FRACTION)}),
        Optimizer("nesterov", nesterov, {"mu": Option(0.9, **_FRACTION)}),
        Optimizer("adagrad", adagrad, {"epsilon": Option(1e-8, **_POSITIVE)}),
        Optimizer("rmsprop", rmsprop, {"decay": Option(0.9, **_FRACTION), "epsilon": Option(1e-8, **_POSITIVE)}),
        Optimizer("adam", adam, {"beta1": Option(0.9, **_FRACTION), "beta2": Option(0.999, **_FRACTION),
                                 "epsilon": Option(1e-8, **_POSITIVE)}),
        Optimizer("adadelta", adadelta, {"rho": Option(0.95, **_FRACTION), "epsilon": Option(1e-6, **_POSITIVE)}),
    )
}
OPTIMIZERS = tuple(REGISTRY)


def get(name) -> Optimizer:
    """The registered optimizer ``name``; a ValueError listing the registered ones otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return REGISTRY[name]


def build(name, params, grads, learning_rate, **options):
    """The updates and state of the optimizer called ``name`` (one of :data:`OPTIMIZERS`)."""
    optimizer = get(name)
    return optimizer.build(params, grads, learning_rate, **optimizer.check_options(options))


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
