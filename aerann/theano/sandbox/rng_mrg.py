"""``theano.sandbox.rng_mrg``: ``MRG_RandomStreams``, L'Ecuyer's MRG31k3p generator in the graph.

Aesara kept Theano's MRG sampler as ``aesara.sandbox.rng_mrg.MRG_RandomStream``
(one letter shorter, and a deprecation warning on import): the same
algorithm, the same streams for the same seed, the same arguments
(``binomial(size, n=1, p=0.5, dtype="int64")``, ``uniform(size, low, high)``,
``normal(size, avg, std)``), and each draw's state a shared variable whose
``default_update`` every compiled function applies, so the next call draws
new numbers.  :class:`MRG_RandomStreams` is that class under Theano's name,
taking ``size`` as a list or an int too, and Theano's ``use_cuda`` argument
(not used).  On the JAX backend its draws are computed by
:mod:`aerann.theano.sandbox.jax_mrg`, bit for bit the numbers of the C backend.
"""

import warnings

from aerann.theano import unsupported

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="The module `aesara.sandbox.rng_mrg` is deprecated")
    from aesara.sandbox.rng_mrg import MRG_RandomStream, guess_n_streams

__all__ = ["MRG_RandomStreams", "guess_n_streams"]


def _size(size):
    """Theano's ``size`` as Aesara's MRG sampler takes it: a tuple, or a shape vector."""
    if isinstance(size, list):
        return tuple(size)
    if isinstance(size, int):
        return (size,)
    return size


class MRG_RandomStreams(MRG_RandomStream):
    """Theano's ``MRG_RandomStreams(seed=12345)``: ``uniform``, ``normal``, ``binomial`` and Aesara's other
    MRG draws (``multinomial``, ``choice``, ``truncated_normal``)."""

    def __init__(self, seed=12345, use_cuda=None):
        super().__init__(seed)

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None, **kwargs):
        return super().uniform(_size(size), low, high, ndim=ndim, dtype=dtype, nstreams=nstreams, **kwargs)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None, truncate=False, **kwargs):
        return super().normal(_size(size), avg, std, ndim=ndim, dtype=dtype, nstreams=nstreams, truncate=truncate,
                              **kwargs)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None, **kwargs):
        return super().binomial(_size(size), n, p, ndim=ndim, dtype=dtype, nstreams=nstreams, **kwargs)

    __getattr__ = unsupported.class_getattr("theano.sandbox.rng_mrg.MRG_RandomStreams")


__getattr__ = unsupported.module_getattr("theano.sandbox.rng_mrg")
