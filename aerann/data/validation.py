"""Input checks that run before anything reaches Aesara.

A bad argument must produce one clear message that names the problem, not a
traceback from inside a compiled graph.
"""

import numbers

import numpy as np


def positive_int(value, name: str) -> int:
    """``value`` as a positive int, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def finite_float(value, name: str) -> float:
    """``value`` as a finite float (a learning rate, a step size), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def dropout_rate(value, name: str) -> float:
    """``value`` as a dropout rate, in [0, 1) (the fraction of entries dropped), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a rate in [0, 1), got {value!r}")
    return float(value)


def as_index_sequence(seq, vocab_size: int, name: str = "x") -> np.ndarray:
    """``seq`` as a non-empty int32 array of token indices in ``[0, vocab_size)``.

    TypeError for anything that is not a sequence of integers (floats, bools,
    strings, ragged nesting); ValueError for an empty sequence, a sequence that
    is not one-dimensional, or an index outside the vocabulary.
    """
    vocab_size = positive_int(vocab_size, "vocab_size")
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of token indices, not a {type(seq).__name__}")
    try:
        array = np.asarray(seq)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a sequence of token indices: {error}") from None
    if array.ndim != 1:
        what = "a single value" if array.ndim == 0 else f"an array of shape {array.shape}"
        raise ValueError(f"{name} must be a one-dimensional sequence of token indices, got {what}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: a sequence needs at least one token")
    if array.dtype == object:
        # Python ints too large for int64 end up here, next to genuinely wrong values.
        for value in array:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must hold integer token indices, found {value!r}")
        values = [int(value) for value in array]
        low, high = min(values), max(values)
    elif array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
    else:
        raise TypeError(f"{name} must hold integer token indices, got {array.dtype} values")
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"{name} holds token index {bad}, outside the vocabulary [0, {vocab_size})")
    return array.astype(np.int32, copy=False)


def check_pair(x, y, vocab_size: int, names=("x", "y")):
    """Validate an input/target pair of equal length; returns both as int32 arrays."""
    x = as_index_sequence(x, vocab_size, names[0])
    y = as_index_sequence(y, vocab_size, names[1])
    if len(x) != len(y):
        raise ValueError(f"{names[0]} and {names[1]} must have the same length, got {len(x)} and {len(y)}")
    return x, y


def check_dataset(X, Y, vocab_size: int):
    """Validate lists of input/target pairs (a corpus); returns them as lists of int32 arrays."""
    for name, sequences in (("X", X), ("Y", Y)):
        if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
            raise TypeError(f"{name} must be a list of token index sequences, got {type(sequences).__name__}")
    if len(X) != len(Y):
        raise ValueError(f"got {len(X)} input sequences but {len(Y)} target sequences")
    if len(X) == 0:
        raise ValueError("the dataset is empty: it needs at least one sentence")
    pairs = [check_pair(x, y, vocab_size, (f"X[{i}]", f"Y[{i}]")) for i, (x, y) in enumerate(zip(X, Y))]
    return [x for x, _ in pairs], [y for _, y in pairs]
