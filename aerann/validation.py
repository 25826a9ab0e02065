"""Input checks that run before anything reaches Aesara.

A bad argument must produce one clear message that names the problem, not a
traceback from inside a compiled graph.
"""

import numbers

import numpy as np


def as_index_sequence(seq, vocab_size: int, name: str = "x") -> np.ndarray:
    """``seq`` as a non-empty int32 array of token indices in ``[0, vocab_size)``."""
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of token indices, not a {type(seq).__name__}")
    try:
        array = np.asarray(seq)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a sequence of token indices: {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional sequence of token indices, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: a sequence needs at least one token")
    if array.dtype == object:
        bad = next(v for v in array if not isinstance(v, numbers.Integral) or isinstance(v, bool))
        raise TypeError(f"{name} must hold integer token indices, found {bad!r}")
    if array.dtype.kind == "b" or array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer token indices, got {array.dtype} values")
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"{name} holds token index {bad}, outside the vocabulary [0, {vocab_size})")
    return array.astype(np.int32, copy=False)


def check_pair(x, y, vocab_size: int):
    """Validate an input/target pair of equal length."""
    x = as_index_sequence(x, vocab_size, "x")
    y = as_index_sequence(y, vocab_size, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    return x, y


def check_dataset(X, Y, vocab_size: int):
    """Validate lists of input/target pairs; returns them as int32 arrays."""
    if len(X) != len(Y):
        raise ValueError(f"got {len(X)} input sequences but {len(Y)} target sequences")
    if len(X) == 0:
        raise ValueError("the dataset is empty")
    pairs = [check_pair(x, y, vocab_size) for x, y in zip(X, Y)]
    return [x for x, _ in pairs], [y for _, y in pairs]


def positive_int(value, name: str) -> int:
    """``value`` as a positive int, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)
