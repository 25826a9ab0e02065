"""Hypothesis strategies of the certification: batches with masks, sizes, parameters.

A :class:`Case` is what one example draws: the sizes and a seed from which
the token ids, the mask and the parameters are made.  Hypothesis shrinks its
fields, so a failure is reported on the smallest case that still fails, in
numbers a person can read (:meth:`Case.describe`).
"""

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st


def random_parameters(rng, shapes, scale=0.5):
    """Normal random arrays (float64) of these shapes, keyed like ``shapes``."""
    return {name: rng.normal(size=shape) * scale for name, shape in shapes.items()}


@st.composite
def batches(draw, max_steps=6, max_batch=3, vocab=(2, 6), min_steps=1):
    """(T, B, V, X, Y, mask, rng): a padded batch of int32 ids and its (T, B) mask.

    Half the masks pad sequences of 1..T real steps at the end (sequence 0 is
    full length); the others are arbitrary 0/1 patterns, holes included.
    """
    T = draw(st.integers(min_steps, max_steps))
    B = draw(st.integers(1, max_batch))
    V = draw(st.integers(*vocab))
    holes = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if holes:
        mask = (rng.random((T, B)) < 0.7).astype(np.float64)
    else:
        lengths = [T] + [int(rng.integers(1, T + 1)) for _ in range(B - 1)]
        mask = (np.arange(T)[:, None] < np.array(lengths)[None, :]).astype(np.float64)
    X = rng.integers(V, size=(T, B)).astype(np.int32)
    Y = rng.integers(V, size=(T, B)).astype(np.int32)
    return T, B, V, X, Y, mask, rng


class Case(NamedTuple):
    """One example: a batch (X, Y, mask), the model's sizes and random parameters for a structure."""

    structure: tuple
    truncate_gradient: int
    embed: int
    hidden: tuple
    X: np.ndarray
    Y: np.ndarray
    mask: np.ndarray
    vocab: int
    seed: int

    def describe(self) -> str:
        """The case in words: what a failure report shows."""
        layers = " -> ".join(f"{name}({n}{', ' if options else ''}{', '.join(f'{k}={v!r}' for k, v in options)})"
                             for (name, options), n in zip(self.structure, self.hidden))
        T, B = self.X.shape
        rows = "; ".join("".join(str(int(m)) for m in self.mask[:, b]) for b in range(B))
        return (f"layers {layers}, embedding {self.embed}, vocabulary {self.vocab}, truncate_gradient "
                f"{self.truncate_gradient}; {T} steps x {B} sequences, mask per sequence {rows}; "
                f"X = {self.X.T.tolist()}, Y = {self.Y.T.tolist()} (per sequence); parameters: normal(0, 0.5) "
                f"from numpy.random.default_rng({self.seed})")


@st.composite
def cases(draw, structures, max_steps=6, min_steps=1, max_batch=3, max_size=4, sizes=None):
    """A :class:`Case` for one of ``structures`` ((structure, truncate_gradient) pairs).

    ``sizes`` (vocabulary, embedding, hidden sizes) fixes the model's sizes instead of drawing them.
    """
    structure, truncate_gradient = draw(st.sampled_from(structures))
    vocab = (2, 6) if sizes is None else (sizes[0], sizes[0])
    T, B, V, X, Y, mask, _ = draw(batches(max_steps=max_steps, max_batch=max_batch, min_steps=min_steps, vocab=vocab))
    if sizes is None:
        embed = draw(st.integers(1, max_size))
        hidden = tuple(draw(st.lists(st.integers(1, max_size), min_size=len(structure), max_size=len(structure))))
    else:
        embed, hidden = sizes[1], tuple(sizes[2][: len(structure)])
    seed = draw(st.integers(0, 2**31 - 1))
    return Case(structure, truncate_gradient, embed, hidden, X, Y, mask, V, seed)
