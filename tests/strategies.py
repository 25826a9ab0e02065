"""Hypothesis strategies and helpers shared by the gradient tests: batches, masks, parameters."""

import numpy as np
from hypothesis import strategies as st

from aerann.reference.units import ACTIVATIONS, UNITS

REFERENCE_UNITS = sorted(UNITS)


def random_parameters(rng, shapes, scale=0.5):
    """Normal random arrays (float64) of these shapes, keyed like ``shapes``."""
    return {name: rng.normal(size=shape) * scale for name, shape in shapes.items()}


def finite_differences(loss, params, step=1e-6):
    """Central differences of ``loss()`` with respect to every entry of ``params`` (changed in place, restored)."""
    grads = {}
    for name, value in params.items():
        grads[name] = np.zeros_like(value)
        for ix in np.ndindex(value.shape):
            original = value[ix]
            value[ix] = original + step
            plus = loss()
            value[ix] = original - step
            minus = loss()
            value[ix] = original
            grads[name][ix] = (plus - minus) / (2 * step)
    return grads


@st.composite
def batches(draw, max_steps=6, max_batch=3, vocab=(2, 6)):
    """(T, B, V, X, Y, mask, rng): a padded batch of int32 ids and its (T, B) mask.

    Half the masks pad sequences of 1..T real steps at the end (sequence 0 is
    full length); the others are arbitrary 0/1 patterns, holes included.
    """
    T = draw(st.integers(1, max_steps))
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


def reference_layers(max_layers=3, max_size=3):
    """Layer specs of 1..max_layers reference units, each any variant of its unit, with any activation."""
    variants = [(name, variant) for name in REFERENCE_UNITS for variant in UNITS[name].variants]
    layer = st.tuples(st.sampled_from(variants), st.integers(1, max_size), st.sampled_from(sorted(ACTIVATIONS)))
    return st.lists(layer, min_size=1, max_size=max_layers).map(
        lambda specs: [(name, n, {"activation": act, **variant}) for (name, variant), n, act in specs]
    )
