"""Aesara's symbolic gradients through the scan driver equal hand-written NumPy BPTT.

Every registered unit (plugins included) is checked, parametrized by unit
name so that ``pytest -k gru`` runs one unit: alone with full BPTT, and
stacked on an Elman (or rated) layer with truncation.  A unit with a NumPy
reference (aerann.reference) is compared with it; a unit without one is
compared with central finite differences of the compiled loss along a
random direction per parameter, untruncated (finite differences measure the
true gradient only).  A three-layer stack mixing units and activations is
checked too.

Graphs are compiled once per stack structure (unit kinds, activations,
truncation), not per example: the LanguageModel is built once with
placeholder sizes and its shared parameters are replaced by symbolic inputs
of the same type, so hypothesis can feed parameters of any size.  The
placeholders are sizes hypothesis never draws, so a size baked into the
graph fails loudly instead of broadcasting silently.
"""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aerann import units
from aerann.backend import compiler
from aerann.models import LanguageModel
from aerann.reference.stack import loss_and_gradients
from aerann.reference.units import UNITS as REFERENCE_UNITS
from strategies import batches, random_parameters

UNIT_NAMES = units.names()
UNIT_TRUNCATION = 2  # of a unit stacked on a partner; full BPTT for units without a reference
MIXED = (("gru", "relu"), ("lstm", "tanh"), ("elman", "sigmoid"))
MIXED_TRUNCATION = 3  # sequences of up to 3 steps get full BPTT, longer ones are truncated
PLACEHOLDER_VOCAB, PLACEHOLDER_EMBEDDING, PLACEHOLDER_HIDDEN = 7, 4, 5  # never drawn below
_functions = {}


def layer_specs(structure, sizes):
    """LanguageModel layer specs of a structure at these sizes: each layer of the structure is
    (unit, activation or None) or (unit, activation or None, the variant's options as items)."""
    specs = []
    for (name, act, *variant), n in zip(structure, sizes):
        options = {**({} if act is None else {"activation": act}), **dict(*variant)}
        specs.append((name, n, options) if options else (name, n))
    return specs


def compiled(structure, truncate_gradient=-1, masked=True):
    """(f, names): f(X, Y, mask, *params) -> [loss, *grads], compiled once per structure and backend.

    ``masked=False`` gives the model's loss without a mask (``mask`` is then ignored).
    """
    key = (structure, truncate_gradient, masked, compiler.get_backend())
    if key not in _functions:
        model = LanguageModel(
            PLACEHOLDER_VOCAB,
            PLACEHOLDER_EMBEDDING,
            layers=layer_specs(structure, [PLACEHOLDER_HIDDEN] * len(structure)),
            truncate_gradient=truncate_gradient,
        )
        shared = list(model.params.values())
        symbols = [at.TensorType(p.dtype, shape=(None,) * p.ndim)(p.name) for p in shared]
        X, Y, mask = at.imatrix("X"), at.imatrix("Y"), at.matrix("mask", dtype=aesara.config.floatX)
        if masked:
            loss = model.symbolic_loss(X, Y, mask)
        else:
            logp = model.symbolic_log_probabilities(X, None)
            loss = -at.sum(at.take_along_axis(logp, Y[:, :, None], axis=-1))
        grads = aesara.grad(loss, shared)
        f = compiler.function([X, Y, mask] + symbols, [loss] + grads, givens=list(zip(shared, symbols)))
        _functions[key] = (f, list(model.params))
    return _functions[key]


def evaluate(structure, truncate_gradient, X, Y, mask, params, masked=True):
    """Aesara's loss and gradients (name -> array) for these parameters."""
    f, names = compiled(structure, truncate_gradient, masked)
    loss, *grads = f(X, Y, mask, *[params[name] for name in names])
    return float(loss), dict(zip(names, grads))


def draw_parameters(rng, structure, vocab, embed, sizes):
    """Random parameters for the structure at these sizes (shapes from the registered units)."""
    shapes = {"embedding": (vocab, embed)}
    n_in = embed
    for i, (name, _, *options) in enumerate(layer_specs(structure, sizes)):
        unit = units.get(name)(n_in, sizes[i], np.random.default_rng(0), **(options[0] if options else {}))
        shapes.update({f"layer{i}.{p}": v.get_value().shape for p, v in unit.params.items()})
        n_in = sizes[i]
    shapes["output.W"] = (n_in, vocab)
    shapes["output.b"] = (vocab,)
    return random_parameters(rng, shapes)


def assert_same(ours, theirs, rtol):
    """Equal losses and gradients: relative to each entry, or to the largest entry of the array."""
    (loss, grads), (other_loss, other_grads) = ours, theirs
    assert set(grads) == set(other_grads)
    np.testing.assert_allclose(loss, other_loss, rtol=1e-10)
    for name in other_grads:
        scale = max(np.abs(other_grads[name]).max(), 1e-6)
        np.testing.assert_allclose(grads[name], other_grads[name], rtol=rtol, atol=rtol * scale, err_msg=name)


def assert_directional_derivatives(structure, X, Y, mask, params, rng, step=1e-5):
    """Each parameter's gradient, projected on a random direction, equals central differences along it."""
    _, grads = evaluate(structure, -1, X, Y, mask, params)
    for name, value in params.items():
        direction = rng.normal(size=value.shape)
        plus = evaluate(structure, -1, X, Y, mask, {**params, name: value + step * direction})[0]
        minus = evaluate(structure, -1, X, Y, mask, {**params, name: value - step * direction})[0]
        np.testing.assert_allclose(
            np.sum(grads[name] * direction), (plus - minus) / (2 * step), rtol=1e-5, atol=1e-7, err_msg=name
        )


def structures(unit_name):
    """(structure, truncate_gradient) pairs checked for one unit: alone with full BPTT, and on a
    cheap partner, truncated when the unit has a reference."""
    partner = "rated" if unit_name == "elman" else "elman"
    truncate_gradient = UNIT_TRUNCATION if unit_name in REFERENCE_UNITS else -1
    return [(((unit_name, None),), -1), (((partner, None), (unit_name, None)), truncate_gradient)]


def check_gradients(structure, truncate_gradient, batch, embed, hidden):
    T, B, V, X, Y, mask, rng = batch
    params = draw_parameters(rng, structure, V, embed, hidden[: len(structure)])
    if all(name in REFERENCE_UNITS for name, *_ in structure):
        reference = loss_and_gradients(X, Y, mask, params, layer_specs(structure, hidden), truncate_gradient)
        assert_same(evaluate(structure, truncate_gradient, X, Y, mask, params), reference, rtol=1e-6)
    else:
        assert truncate_gradient == -1, "finite differences measure untruncated gradients only"
        assert_directional_derivatives(structure, X, Y, mask, params, rng)


sizes = st.lists(st.integers(1, PLACEHOLDER_HIDDEN - 1), min_size=3, max_size=3)
embeddings = st.integers(1, PLACEHOLDER_EMBEDDING - 1)
sequence_batches = batches(vocab=(2, PLACEHOLDER_VOCAB - 1))


@pytest.mark.parametrize("unit_name", UNIT_NAMES)
@given(batch=sequence_batches, embed=embeddings, hidden=sizes, which=st.integers(0, 1))
def test_symbolic_gradients_equal_numpy_bptt(unit_name, batch, embed, hidden, which):
    structure, truncate_gradient = structures(unit_name)[which]
    check_gradients(structure, truncate_gradient, batch, embed, hidden)


# The variants of the built-in units besides their defaults (LSTM peepholes, the GRU's reset_after).
VARIANTS = [(name, variant) for name in sorted(REFERENCE_UNITS) for variant in REFERENCE_UNITS[name].variants[1:]]


@pytest.mark.parametrize("unit_name, variant", VARIANTS, ids=[f"{n}-{v}" for n, v in VARIANTS])
@given(batch=sequence_batches, embed=embeddings, hidden=sizes)
def test_unit_variants_gradients_equal_numpy_bptt(unit_name, variant, batch, embed, hidden):
    # Each variant alone with full BPTT, on every kind of batch and mask the units are checked on;
    # truncation and stacking go through the same driver code as the default variants'.
    check_gradients(((unit_name, None, tuple(variant.items())),), -1, batch, embed, hidden)


@pytest.mark.slow
@given(batch=sequence_batches, embed=embeddings, hidden=sizes)
def test_mixed_three_layer_stack_with_activations(batch, embed, hidden):
    check_gradients(MIXED, MIXED_TRUNCATION, batch, embed, hidden)


@pytest.mark.parametrize("unit_name", UNIT_NAMES)
@given(batch=sequence_batches, embed=embeddings, hidden=sizes)
def test_all_ones_mask_equals_no_mask(unit_name, batch, embed, hidden):
    T, B, V, X, Y, _, rng = batch
    structure = ((unit_name, None),)
    params = draw_parameters(rng, structure, V, embed, hidden[:1])
    ones = np.ones((T, B))
    assert_same(
        evaluate(structure, -1, X, Y, ones, params),
        evaluate(structure, -1, X, Y, ones, params, masked=False),
        rtol=1e-12,
    )


@pytest.mark.parametrize("unit_name", UNIT_NAMES)
@given(batch=sequence_batches, embed=embeddings, hidden=sizes, extra_steps=st.integers(1, 3))
def test_padding_changes_nothing(unit_name, batch, embed, hidden, extra_steps):
    T, B, V, X, Y, mask, rng = batch
    structure = ((unit_name, None),)
    params = draw_parameters(rng, structure, V, embed, hidden[:1])
    # Padded steps appended, filled with arbitrary tokens, and a sequence that is all padding.
    X_pad = rng.integers(V, size=(T + extra_steps, B + 1)).astype(np.int32)
    Y_pad = rng.integers(V, size=(T + extra_steps, B + 1)).astype(np.int32)
    X_pad[:T, :B], Y_pad[:T, :B] = X, Y
    mask_pad = np.zeros((T + extra_steps, B + 1))
    mask_pad[:T, :B] = mask
    assert_same(
        evaluate(structure, -1, X_pad, Y_pad, mask_pad, params),
        evaluate(structure, -1, X, Y, mask, params),
        rtol=1e-10,
    )


ALL_VARIANTS = [(name, variant) for name in sorted(REFERENCE_UNITS) for variant in REFERENCE_UNITS[name].variants]


@pytest.mark.parametrize("unit_name, variant", ALL_VARIANTS, ids=[f"{n}-{v}" for n, v in ALL_VARIANTS])
def test_reference_has_the_units_parameters(unit_name, variant):
    unit = units.get(unit_name)(3, 2, np.random.default_rng(0), **variant)
    shapes = {name: p.get_value().shape for name, p in unit.params.items()}
    assert shapes == REFERENCE_UNITS[unit_name](**variant).shapes(3, 2)
    assert tuple(unit.states) == REFERENCE_UNITS[unit_name].states


DROPPED = (("elman", None), ("rated", None), ("gru", None), ("lstm", None))  # every built-in unit, stacked


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
@given(batch=sequence_batches, embed=embeddings, hidden=st.lists(st.integers(1, PLACEHOLDER_HIDDEN - 1),
                                                                min_size=4, max_size=4))
def test_symbolic_gradients_with_fixed_dropout_masks_equal_numpy_bptt(batch, embed, hidden):
    T, B, V, X, Y, mask, rng = batch
    params = draw_parameters(rng, DROPPED, V, embed, hidden)
    sizes = [embed] + hidden
    input_masks = [(rng.random((T, B, sizes[i])) >= 0.5) * 2.0 for i in range(len(DROPPED))]
    recurrent_masks = [(rng.random((B, sizes[i + 1])) >= 0.3) / 0.7 for i in range(len(DROPPED))]
    f, names = compiled_with_dropout()
    loss, *grads = f(X, Y, mask, *input_masks, *recurrent_masks, *[params[name] for name in names])
    reference = loss_and_gradients(X, Y, mask, params, layer_specs(DROPPED, hidden),
                                   input_masks=input_masks, recurrent_masks=recurrent_masks)
    assert_same((float(loss), dict(zip(names, grads))), reference, rtol=1e-6)
