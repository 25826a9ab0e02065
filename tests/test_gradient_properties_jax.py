"""The gradient properties on Aesara's JAX backend (JAX on the CPU): same numbers as C and NumPy.

The graphs are the ones tests/test_gradient_properties.py builds, compiled
with ``AERANN_BACKEND=jax`` semantics (aerann's own JAX Scan dispatch).  JAX
compiles one program per input shape, so every drawn batch is padded to one
bucket shape with its mask, the way aerann's training pads batches: one
trace per graph, however many examples hypothesis draws.  Padding changes
nothing (the CPU tests prove it), so each example is compared with the
NumPy reference on its unpadded batch and with the C backend.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("jax")

import test_gradient_properties as properties  # noqa: E402
from aerann.backend import compiler  # noqa: E402
from aerann.reference.stack import loss_and_gradients  # noqa: E402
from aerann.reference.units import UNITS as REFERENCE_UNITS  # noqa: E402
from strategies import batches  # noqa: E402

VOCAB, EMBED, HIDDEN = 5, 3, [3, 2, 3]
BUCKET_STEPS, BUCKET_BATCH = 6, 3
EXAMPLES = 5  # per test; each example runs compiled programs, it does not compile


def on_backend(name, run):
    """``run()`` with every function it compiles built for backend ``name``."""
    with compiler.backend(name):
        return run()


def padded(X, Y, mask):
    """The batch padded to the bucket shape (extra steps and sequences masked out)."""
    T, B = X.shape
    shape = (BUCKET_STEPS, BUCKET_BATCH)
    Xp, Yp, maskp = np.zeros(shape, np.int32), np.zeros(shape, np.int32), np.zeros(shape)
    Xp[:T, :B], Yp[:T, :B], maskp[:T, :B] = X, Y, mask
    return Xp, Yp, maskp


def check(structure, truncate_gradient, batch):
    T, B, V, X, Y, mask, rng = batch
    params = properties.draw_parameters(rng, structure, VOCAB, EMBED, HIDDEN[: len(structure)])
    on_jax = on_backend("jax", lambda: properties.evaluate(structure, truncate_gradient, *padded(X, Y, mask), params))
    on_jax = (on_jax[0], {name: np.asarray(g) for name, g in on_jax[1].items()})
    on_c = on_backend("c", lambda: properties.evaluate(structure, truncate_gradient, X, Y, mask, params))
    if truncate_gradient == -1 or T == BUCKET_STEPS:
        # Truncation counts padded steps too, so only full BPTT or a full-length batch pads freely.
        properties.assert_same(on_jax, on_c, rtol=1e-9)
    if all(name in REFERENCE_UNITS for name, _ in structure) and (truncate_gradient == -1 or T == BUCKET_STEPS):
        specs = properties.layer_specs(structure, HIDDEN)
        properties.assert_same(on_jax, loss_and_gradients(X, Y, mask, params, specs, truncate_gradient), rtol=1e-6)


jax_batches = batches(max_steps=BUCKET_STEPS, max_batch=BUCKET_BATCH, vocab=(VOCAB, VOCAB))
full_length_batches = jax_batches.filter(lambda batch: batch[0] == BUCKET_STEPS)


@pytest.mark.parametrize("unit_name", properties.UNIT_NAMES)
@settings(max_examples=EXAMPLES)
@given(batch=jax_batches)
def test_jax_gradients_of_a_unit_alone_equal_c_and_numpy(unit_name, batch):
    check(properties.structures(unit_name)[0][0], -1, batch)


@pytest.mark.parametrize("unit_name", properties.UNIT_NAMES)
@settings(max_examples=EXAMPLES)
@given(batch=full_length_batches)
def test_jax_gradients_of_a_stacked_truncated_unit_equal_c_and_numpy(unit_name, batch):
    structure, truncate_gradient = properties.structures(unit_name)[1]
    check(structure, truncate_gradient, batch)


@pytest.mark.slow
@settings(max_examples=EXAMPLES)
@given(batch=st.one_of(jax_batches, full_length_batches))
def test_jax_gradients_of_the_mixed_three_layer_stack(batch):
    check(properties.MIXED, properties.MIXED_TRUNCATION, batch)
