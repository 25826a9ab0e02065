"""Hypothesis strategies and helpers of the reference tests; batches and parameters are the harness's."""

import numpy as np
from hypothesis import strategies as st

from aerann.reference.units import ACTIVATIONS, UNITS
from aerann.testing.strategies import batches, random_parameters  # noqa: F401  (the tests' too)

REFERENCE_UNITS = sorted(UNITS)


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


def reference_layers(max_layers=3, max_size=3):
    """Layer specs of 1..max_layers reference units, each any variant of its unit, with any activation."""
    variants = [(name, variant) for name in REFERENCE_UNITS for variant in UNITS[name].variants]
    layer = st.tuples(st.sampled_from(variants), st.integers(1, max_size), st.sampled_from(sorted(ACTIVATIONS)))
    return st.lists(layer, min_size=1, max_size=max_layers).map(
        lambda specs: [(name, n, {"activation": act, **variant}) for (name, variant), n, act in specs]
    )
