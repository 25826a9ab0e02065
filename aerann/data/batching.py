"""Padding, masks and length buckets for batches of variable-length sequences (time-major)."""

import numpy as np

DEFAULT_BUCKETS = (8, 16, 32, 64, 128, 256)  # the padded lengths the models' minibatches use


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


def stream_columns(tokens, batch_size: int, bptt: int) -> np.ndarray:
    """One token stream as ``batch_size`` columns, time-major: (N, batch_size), N = len(tokens) // batch_size.

    Column b is the b-th of ``batch_size`` equal, consecutive pieces of the
    stream (the tokens left over at the end are dropped), so a state carried
    down a column always follows the text.  A stream needs at least
    ``batch_size * (bptt + 1)`` tokens: one chunk of ``bptt`` inputs and their
    next-token targets in every column.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"a token stream must be one sequence of token indices, got shape {tokens.shape}")
    if len(tokens) < batch_size * (bptt + 1):
        raise ValueError(
            f"a stream of {len(tokens)} tokens is too short for batch_size {batch_size} and bptt {bptt}: "
            f"it needs at least batch_size * (bptt + 1) = {batch_size * (bptt + 1)}"
        )
    steps = len(tokens) // batch_size
    return np.ascontiguousarray(tokens[: steps * batch_size].reshape(batch_size, steps).T)


def stream_chunks(columns: np.ndarray, bptt: int):
    """(X, Y) of every chunk of at most ``bptt`` steps down ``columns``, in order; Y is X one step later."""
    for start in range(0, len(columns) - 1, bptt):
        stop = min(start + bptt, len(columns) - 1)
        yield columns[start:stop], columns[start + 1 : stop + 1]
