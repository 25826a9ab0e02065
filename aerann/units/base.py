"""RecurrentUnit: one time step of a recurrent layer and its parameters.

A unit knows nothing of scan, masks, batching, truncation or backends: the
scan driver in :mod:`aerann.graph` owns those, once for every unit.  Row-vector
convention: ``x_t`` is (batch, n_in), every state (batch, n_out).

A third-party unit sets ``name`` (and ``states`` if it has more than ``h``),
creates its parameters with :meth:`RecurrentUnit.param` and implements
``step(x_t, *prev_states)``; that is all.  A unit may also split its step in
two so the driver can hoist the input's share out of the recurrence:
``input_projection(x)`` (what depends on the input only, computed once for
the whole sequence, a tensor or a tuple of them) and
``projected_step(p_t, *prev_states)``; the built-in units do.
"""

import re

import aesara
import aesara.tensor as at
import numpy as np

from aerann.backend import parameters
from aerann.data.validation import positive_int

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

ACTIVATIONS = {
    "tanh": at.tanh,
    "sigmoid": at.sigmoid,
    "relu": lambda x: at.maximum(x, 0),
}


def get_activation(name):
    """The elementwise function called ``name`` (tanh, sigmoid or relu)."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def glorot_uniform(rng, shape):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)), fan_in = shape[0], fan_out = shape[-1]."""
    limit = np.sqrt(6.0 / (shape[0] + shape[-1]))
    return rng.uniform(-limit, limit, shape)


def orthogonal(rng, shape):
    """A random (rows, columns) matrix with orthonormal rows or columns, whichever are fewer.

    The Q of the QR decomposition of a Gaussian matrix, each column's sign
    taken from R's diagonal so that Q is uniformly (Haar) distributed (Saxe
    et al., 2014): a recurrent matrix W with W W^T = I keeps the norm of the
    state it multiplies, so products of it neither grow nor vanish.
    """
    if len(shape) != 2:
        raise ValueError(f"orthogonal init needs a matrix, got the shape {shape}")
    rows, columns = shape
    q, r = np.linalg.qr(rng.normal(size=(max(rows, columns), min(rows, columns))))
    q *= np.sign(np.diag(r))
    return q if rows >= columns else q.T


RECURRENT_INITS = ("uniform", "orthogonal")


def check_choice(value, choices, what):
    """``value`` when it is one of ``choices``; a ValueError naming them otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


class RecurrentUnit:
    """Base class of recurrent units, built-in and plugin alike.

    Subclasses set ``name`` and ``states`` (the LSTM has ``("h", "c")``),
    create their parameters in ``__init__(self, n_in, n_out, rng)`` with
    :meth:`param` after calling ``super().__init__(n_in, n_out)``, and
    implement :meth:`step`.  The base class creates one learnable initial
    state per state name (``h0``, ``c0``, ...), zeros of shape (n_out,),
    listed after the unit's own parameters in :attr:`params`.
    """

    name: str = ""
    states: tuple = ("h",)
    # The states that enter the recurrent products, for recurrent dropout: a unit that lists them
    # takes ``recurrent=(...)`` in its step, one tensor per name, to use in those products instead.
    recurrent_inputs: tuple = ()

    def __new__(cls, *args, **kwargs):
        unit = super().__new__(cls)
        # param(..., "uniform") draws from the rng given to __init__(n_in, n_out, rng),
        # caught here so that subclasses need only call super().__init__(n_in, n_out).
        rng = kwargs.get("rng", args[2] if len(args) > 2 else None)
        unit.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return unit

    def __init__(self, n_in, n_out, rng=None):
        self.n_in = positive_int(n_in, "n_in")
        self.n_out = positive_int(n_out, "n_out")
        if rng is not None:
            self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._params = {}
        for state in self.states:
            self.param(f"{state}0", (self.n_out,), "zeros")

    @property
    def params(self) -> dict:
        """Parameter name -> shared variable: the unit's own, then the initial states."""
        initial = [f"{state}0" for state in self.states]
        ordered = {name: p for name, p in self._params.items() if name not in initial}
        ordered.update((name, self._params[name]) for name in initial)
        return ordered

    def param(self, name: str, shape, init="uniform"):
        """Create, record and return a parameter as an Aesara shared variable of floatX.

        ``init`` is "uniform" (Glorot: uniform in ±sqrt(6 / (fan_in + fan_out)),
        the scale of the book's init_weight), "orthogonal" (:func:`orthogonal`,
        matrices only), "zeros", or an array of ``shape``.
        """
        owner = type(self).__name__
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise ValueError(f"{owner}: parameter name {name!r} is not an identifier")
        if name in self._params:
            raise ValueError(f"{owner}: parameter {name!r} is created twice")
        try:
            shape = tuple(shape)
        except TypeError:
            raise TypeError(f"{owner}: the shape of {name} must be a tuple of sizes, got {shape!r}") from None
        shape = tuple(positive_int(n, f"{owner}: a dimension of {name}") for n in shape)
        if isinstance(init, str):
            if init == "zeros":
                value = np.zeros(shape)
            elif init == "uniform":
                if not shape:
                    raise ValueError(f"{owner}: a scalar parameter ({name}) cannot use uniform init")
                value = glorot_uniform(self.rng, shape)
            elif init == "orthogonal":
                if len(shape) != 2:
                    raise ValueError(f"{owner}: orthogonal init needs a matrix, {name} has the shape {shape}")
                value = orthogonal(self.rng, shape)
            else:
                raise ValueError(
                    f"{owner}: unknown init {init!r} for {name} (uniform, orthogonal, zeros or an array)"
                )
        else:
            try:
                value = np.asarray(init, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"{owner}: the initial value of {name} must be an array of numbers") from None
            if value.shape != shape:
                raise ValueError(f"{owner}: initial value of {name} has shape {value.shape}, expected {shape}")
        shared = parameters.shared(value.astype(aesara.config.floatX), name=name)
        self._params[name] = shared
        return shared

    def initial_states(self):
        """The learnable initial states, in the order of ``states``, each (n_out,)."""
        return [self._params[f"{state}0"] for state in self.states]

    def step(self, x_t, *prev_states, **recurrent):
        """New states from the input at one step and the previous states.

        Returns the states in the order of ``states`` (a single tensor for one
        state).  Units that split their step implement :meth:`input_projection`
        and :meth:`projected_step` instead, and this composes them.

        A unit that lists :attr:`recurrent_inputs` also takes
        ``recurrent=(...)``: the states it names, as they should enter the
        products with the recurrent weights (under recurrent dropout, the
        states times a mask); the rest of the step (the LSTM's cell, the GRU's
        interpolation) uses the states themselves.  None, or no keyword,
        means the states themselves.
        """
        if type(self).projected_step is RecurrentUnit.projected_step:
            raise NotImplementedError(f"{type(self).__name__} must implement step(x_t, *prev_states)")
        return self.projected_step(self.input_projection(x_t), *prev_states, **recurrent)

    def input_projection(self, x):
        """What a step needs from the input alone: a tensor or a tuple of tensors.

        ``x`` is (..., n_in).  The driver calls it once on the whole sequence
        (T, B, n_in) and feeds the result to :meth:`projected_step` step by
        step (a tuple stays a tuple).  Default: ``x`` itself.
        """
        return x

    def projected_step(self, p_t, *prev_states, **recurrent):
        """A step from one step of :meth:`input_projection`; the default is :meth:`step`."""
        return self.step(p_t, *prev_states, **recurrent)

    def config(self) -> dict:
        """Keyword arguments (besides n_in, n_out, rng) that rebuild this unit."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_in={self.n_in}, n_out={self.n_out})"

