"""Every registered unit is certified through aerann.testing, the harness plugins use.

One test per unit and property (``pytest -k gru`` runs one unit, ``-k
"gru and reference"`` one property): Aesara's symbolic gradients through
the scan driver against the hand-written NumPy BPTT references and against
finite differences, alone, truncated and among every built-in unit;
padding, masks, truncation's definition, final states; training, saving
and loading; float32 and the JAX backend.  The variants of the built-in
units (LSTM peepholes, the GRU's reset_after, other activations) are
checked alone with full BPTT, against their references: truncation and
stacking go through the same driver code as the default variants'.

The last test checks fixed dropout masks, which the harness does not
draw, against the NumPy reference.
"""

import aesara
import aesara.tensor as at
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aerann import units
from aerann.backend import compiler
from aerann.models import LanguageModel
from aerann.reference.stack import loss_and_gradients
from aerann.reference.units import UNITS as REFERENCE_UNITS
from aerann.testing import certification
from aerann.testing.graphs import layer_specs, parameter_shapes
from aerann.testing.properties import compare
from aerann.testing.strategies import batches, random_parameters

ACTIVATION_VARIANTS = [("gru", {"activation": "relu"}), ("elman", {"activation": "sigmoid"}),
                       ("rated", {"activation": "relu"})]
VARIANTS = [(name, variant) for name in sorted(REFERENCE_UNITS) for variant in REFERENCE_UNITS[name].variants[1:]]

test_units = certification(*units.names(), jax=True)
test_variants = certification(variants=VARIANTS + ACTIVATION_VARIANTS, only=("contract", "reference", "padding"),
                              stacks=("alone",))

PLACEHOLDER_VOCAB, PLACEHOLDER_EMBEDDING, PLACEHOLDER_HIDDEN = 7, 4, 5  # never drawn below
_functions = {}


DROPPED = (("elman", ()), ("rated", ()), ("gru", ()), ("lstm", ()))  # every built-in unit, stacked


def compiled_with_dropout():
    """(f, names, model): f(X, Y, mask, *dropout masks, *params) -> [loss, *grads] for DROPPED with
    dropout on every layer's input and recurrent state, the masks given."""
    key = ("dropout", compiler.get_backend())
    if key not in _functions:
        model = LanguageModel(PLACEHOLDER_VOCAB, PLACEHOLDER_EMBEDDING,
                              layers=layer_specs(DROPPED, [PLACEHOLDER_HIDDEN] * len(DROPPED)),
                              dropout=0.5, recurrent_dropout=0.5)
        shared = list(model.params.values())
        symbols = [at.TensorType(p.dtype, shape=(None,) * p.ndim)(p.name) for p in shared]
        X, Y, mask = at.imatrix("X"), at.imatrix("Y"), at.matrix("mask", dtype=aesara.config.floatX)
        masks = model.stack.symbolic_dropout_masks()
        loss = model.loss_of(model.symbolic_stack(X, mask, None, masks).output, X, Y, mask)
        grads = aesara.grad(loss, shared)
        f = compiler.function([X, Y, mask, *masks, *symbols], [loss, *grads], givens=list(zip(shared, symbols)))
        _functions[key] = (f, list(model.params))
    return _functions[key]


@pytest.mark.slow
@given(batch=batches(vocab=(2, PLACEHOLDER_VOCAB - 1)), embed=st.integers(1, PLACEHOLDER_EMBEDDING - 1),
       hidden=st.lists(st.integers(1, PLACEHOLDER_HIDDEN - 1), min_size=4, max_size=4))
def test_symbolic_gradients_with_fixed_dropout_masks_equal_numpy_bptt(batch, embed, hidden):
    T, B, V, X, Y, mask, rng = batch
    params = random_parameters(rng, parameter_shapes(DROPPED, V, embed, hidden))
    sizes = [embed] + hidden
    input_masks = [(rng.random((T, B, sizes[i])) >= 0.5) * 2.0 for i in range(len(DROPPED))]
    recurrent_masks = [(rng.random((B, sizes[i + 1])) >= 0.3) / 0.7 for i in range(len(DROPPED))]
    f, names = compiled_with_dropout()
    loss, *grads = f(X, Y, mask, *input_masks, *recurrent_masks, *[params[name] for name in names])
    reference = loss_and_gradients(X, Y, mask, params, layer_specs(DROPPED, hidden),
                                   input_masks=input_masks, recurrent_masks=recurrent_masks)
    reference_loss, reference_grads = reference
    errors = {}
    compare(errors, "loss", loss, reference_loss, 1e-10, "the loss against the reference")
    for name, grad in zip(names, grads):
        compare(errors, name, grad, reference_grads[name], 1e-6, "Aesara's gradient against the reference")
    assert set(names) == set(reference_grads)
