"""``theano.tensor.extra_ops``: one-hot codes, cumulative sums and products, counts, differences, repeats.

Aesara's functions, which kept Theano's arguments: ``to_one_hot(y, nb_class,
dtype=None)`` is an (n, nb_class) matrix with a 1 in each row at ``y``'s
class (floatX unless ``dtype`` says otherwise).
"""

from aesara.tensor.extra_ops import (
    bincount,
    cumprod,
    cumsum,
    diff,
    fill_diagonal,
    repeat,
    squeeze,
    to_one_hot,
)

from aerann.theano import unsupported

__all__ = ["bincount", "cumprod", "cumsum", "diff", "fill_diagonal", "repeat", "squeeze", "to_one_hot"]

__getattr__ = unsupported.module_getattr("theano.tensor.extra_ops")
