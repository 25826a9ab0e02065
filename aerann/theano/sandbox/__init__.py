"""``theano.sandbox``: of Theano's sandbox, the MRG random streams (``theano.sandbox.rng_mrg``)."""

from aerann.theano import unsupported
from aerann.theano.sandbox import rng_mrg

__all__ = ["rng_mrg"]

__getattr__ = unsupported.module_getattr("theano.sandbox")
