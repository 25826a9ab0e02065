"""Padding, masks and length buckets for batches of variable-length sequences (time-major)."""

import numpy as np


def pad(sequences, length=None, dtype=None):
    """Stack sequences time-major into (T, B, ...) with zero padding, and their (T, B) mask.

    Each sequence is an array whose first axis is time; the trailing axes must
    agree.  ``length`` (at least the longest sequence) fixes T.
    """
    if not sequences:
        raise ValueError("cannot pad an empty list of sequences")
    arrays = [np.asarray(s) for s in sequences]
    longest = max(len(a) for a in arrays)
    length = longest if length is None else length
    if length < longest:
        raise ValueError(f"padding length {length} is shorter than the longest sequence ({longest})")
    trailing = arrays[0].shape[1:]
    if any(a.shape[1:] != trailing for a in arrays):
        raise ValueError("all sequences must have the same shape after the time axis")
    out = np.zeros((length, len(arrays), *trailing), dtype=dtype or arrays[0].dtype)
    mask = np.zeros((length, len(arrays)))
    for b, a in enumerate(arrays):
        out[: len(a), b] = a
        mask[: len(a), b] = 1.0
    return out, mask


def bucket_length(length: int, buckets) -> int:
    """The smallest bucket length that holds ``length`` (or ``length`` if none does)."""
    fitting = [b for b in sorted(buckets or ()) if b >= length]
    return fitting[0] if fitting else length


def minibatches(n_items: int, lengths, batch_size: int, rng=None, buckets=None):
    """Index lists of minibatches, each of sequences with similar lengths.

    Items are shuffled (when ``rng`` is given), then grouped by bucket length
    so little padding is wasted; batch order is shuffled too.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if len(lengths) != n_items:
        raise ValueError(f"got {len(lengths)} lengths for {n_items} items")
    order = np.arange(n_items) if rng is None else rng.permutation(n_items)
    keys = np.array([bucket_length(int(lengths[i]), buckets) for i in order])
    order = order[np.argsort(keys, kind="stable")]
    batches = [order[i : i + batch_size].tolist() for i in range(0, n_items, batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
