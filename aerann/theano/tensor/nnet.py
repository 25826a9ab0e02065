"""``theano.tensor.nnet``: Theano's activations and losses, with Theano's shapes and formulas.

Aesara deprecated ``aesara.tensor.nnet`` and changed what stayed: its
``softmax`` of a vector is a vector, where Theano 1.0's was a (1, n) row, so
the tutorials' ``T.nnet.softmax(V.dot(s_t))[0]`` would take the first
probability instead of the row.  Here:

- ``softmax(x)`` of a vector is a (1, n) row and of a matrix the softmax of
  each row; other ranks and integer tensors raise ValueError, as Theano did;
- ``categorical_crossentropy(coding_dist, true_dist)``: with ``true_dist`` a
  vector of class indices (int32 or int64), ``-log`` of each row's picked
  probability; with ``true_dist`` a distribution of the same rank,
  ``-sum(true_dist * log(coding_dist))`` over the last axis;
- ``binary_crossentropy``, ``relu`` (and its ``alpha``), ``hard_sigmoid``,
  ``elu``, ``softsign``: Theano's formulas, so that gradients match too
  (relu's gradient at 0 is 0.5, as in Theano);
- ``sigmoid``, ``softplus``: Aesara's elementwise ops, Theano's own.

The picked probabilities are the log of the whole distribution, indexed:
when the distribution is a ``softmax``, Aesara rewrites ``log(softmax(x))``
into a log-softmax, so a confident wrong prediction costs a large finite
loss instead of ``inf``, as Theano's fused softmax cross-entropy did.
"""

import sys

from aesara.scalar import ScalarType, upgrade_to_float
from aesara.tensor import math as _math
from aesara.tensor import special as _special
from aesara.tensor.basic import arange, as_tensor_variable, constant, switch
from aesara.tensor.math import sigmoid, softplus
from aesara.tensor.type import float_dtypes

from aerann.theano import unsupported

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "elu",
    "hard_sigmoid",
    "nnet",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "softsign",
]


def softmax(c):
    """Theano's softmax: of each row of a matrix; of a vector, as a (1, n) row matrix."""
    c = as_tensor_variable(c)
    if c.type.ndim not in (1, 2) or c.type.dtype not in float_dtypes:
        raise ValueError(f"x must be 1-d or 2-d tensor of floats. Got {c.type}")
    if c.type.ndim == 1:
        c = c.dimshuffle("x", 0)
    return _special.softmax(c, axis=-1)


def categorical_crossentropy(coding_dist, true_dist):
    """Cross-entropy of each row of ``coding_dist`` (probabilities) against class indices or distributions."""
    coding_dist, true_dist = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if true_dist.type.ndim == coding_dist.type.ndim:
        return -_math.sum(true_dist * _math.log(coding_dist), axis=coding_dist.type.ndim - 1)
    if true_dist.type.ndim == coding_dist.type.ndim - 1:
        if coding_dist.type.ndim != 2:
            raise TypeError(f"matrix req'd for coding_dist, got {coding_dist.type}")
        if true_dist.type.dtype not in ("int32", "int64"):
            raise TypeError(f"integer vector required for true_one_of_n, got {true_dist.type}")
        rows = arange(coding_dist.shape[0])
        return -_math.log(coding_dist)[rows, true_dist]
    raise TypeError("rank mismatch between coding and true distributions")


def binary_crossentropy(output, target):
    """Theano's ``-(target * log(output) + (1 - target) * log(1 - output))``, elementwise."""
    return -(target * _math.log(output) + (1.0 - target) * _math.log(1.0 - output))


def relu(x, alpha=0):
    """Theano's rectifier, ``0.5 * (x + abs(x))`` (with ``alpha``, a leaky one: ``alpha * x`` below 0)."""
    if alpha == 0:
        return 0.5 * (x + _math.abs(x))
    alpha = as_tensor_variable(alpha)
    return 0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * _math.abs(x)


def hard_sigmoid(x):
    """Theano's piecewise-linear sigmoid, ``clip(0.2 * x + 0.5, 0, 1)``, computed in x's float type."""
    x = as_tensor_variable(x)
    dtype = upgrade_to_float(ScalarType(x.type.dtype))[0].dtype
    return _math.clip(x * constant(0.2, dtype=dtype) + constant(0.5, dtype=dtype), 0, 1)


def elu(x, alpha=1):
    """Theano's exponential linear unit: ``x`` above 0, ``alpha * (exp(x) - 1)`` below."""
    return switch(x > 0, x, alpha * _math.expm1(x))


def softsign(x):
    """Theano's ``x / (1 + abs(x))``."""
    return x / (1.0 + _math.abs(x))


# Theano defined these functions in its submodule theano.tensor.nnet.nnet, which scripts name
# (``T.nnet.nnet.sigmoid``): here that is this module itself.
nnet = sys.modules[__name__]

__getattr__ = unsupported.module_getattr("theano.tensor.nnet")
