"""``theano.tensor.shared_randomstreams``: Theano's ``RandomStreams``, NumPy draws whose state every
compiled function that uses them moves on.

Aesara's ``RandomStream`` differs from Theano's in its arguments
(``uniform(low, high, size)`` where Theano's is ``uniform(size, low, high)``,
so ``rng.uniform((2, 3))`` would be a draw between 2 and 3) and in how it
seeds its streams.  :class:`RandomStreams` is Theano's: each draw has its
own shared ``numpy.random.RandomState``, seeded from a generator seeded
with the ``seed`` given (``RandomState(seed).randint(2 ** 30)`` per draw,
in the order the draws are made), and its ``default_update`` is the state
after the draw, so every ``theano.function`` that computes the draw stores
the new state and the next call draws new numbers.  ``seed(s)`` restarts
every stream of the object from ``s``.

The draws are Aesara's random variables (``aesara.tensor.random.basic``),
which call the same ``RandomState`` methods with the same arguments
(``binomial(n, p, size)``, ``uniform(low, high, size)``, ``normal(avg,
std, size)``) and cast to ``dtype``.
"""

import aesara
import numpy as np
from aesara.scalar import upcast
from aesara.tensor import random as _random
from aesara.tensor.basic import as_tensor_variable, cast

from aerann.theano import unsupported

__all__ = ["RandomStreams"]


def _size(size):
    """Theano's ``size`` (None, an int, a tuple or list of ints or scalars, or a shape vector) for Aesara."""
    if isinstance(size, list):
        return tuple(size)
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return size


class RandomStreams:
    """Theano's ``RandomStreams(seed=None)``: ``uniform``, ``normal``, ``binomial`` draws with Theano's arguments.

    ``size`` is a tuple or list of ints or scalar variables, or a shape
    vector (``x.shape``); ``ndim`` is accepted, as Theano's was, and not
    needed (the size says it).
    """

    def __init__(self, seed=None):
        self.state_updates = []
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)

    def seed(self, seed=None):
        """Restart every stream of this object from ``seed`` (None: the seed it was made with)."""
        if seed is None:
            seed = self.default_instance_seed
        self.gen_seedgen = np.random.RandomState(seed)
        for old_state, _ in self.state_updates:
            old_state.set_value(np.random.RandomState(int(self.gen_seedgen.randint(2**30))), borrow=True)

    def updates(self):
        """The (state, state after the draw) pairs of every draw made so far."""
        return list(self.state_updates)

    def _draw(self, variable, size, dtype, *parameters):
        state = aesara.shared(np.random.RandomState(int(self.gen_seedgen.randint(2**30))))
        sample = variable(*parameters, size=_size(size), rng=state)
        new_state = sample.owner.outputs[0]
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        if sample.type.dtype != dtype:
            sample = cast(sample, dtype)
        sample.rng, sample.update = state, (state, new_state)
        return sample

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Draws uniform in [low, high); ``dtype`` at least as precise as floatX (Theano's rule)."""
        low, high = as_tensor_variable(low), as_tensor_variable(high)
        dtype = dtype or upcast(aesara.config.floatX, low.dtype, high.dtype)
        return self._draw(_random.uniform, size, dtype, low, high)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Draws from a normal distribution of mean ``avg`` and standard deviation ``std``."""
        avg, std = as_tensor_variable(avg), as_tensor_variable(std)
        dtype = dtype or upcast(aesara.config.floatX, avg.dtype, std.dtype)
        return self._draw(_random.normal, size, dtype, avg, std)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        """Counts of successes in ``n`` trials of probability ``p`` (``prob`` is Theano's older name for ``p``)."""
        if prob is not None:
            p = prob
        return self._draw(_random.binomial, size, dtype, as_tensor_variable(n), as_tensor_variable(p))

    __getattr__ = unsupported.class_getattr("theano.tensor.shared_randomstreams.RandomStreams")


__getattr__ = unsupported.module_getattr("theano.tensor.shared_randomstreams")
