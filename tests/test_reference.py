"""The NumPy BPTT references are right: their gradients equal central finite differences.

Full BPTT is checked against finite differences of the reference loss.
Truncated BPTT is not the gradient of the loss, so it is checked against
finite differences of the "cut" loss that defines it (aerann.reference.stack):
every layer's forward pass at steps before the window uses frozen copies of
the parameters, the output layer always the live ones.
"""

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import log_softmax

from aerann.reference.stack import loss_and_gradients, parameter_shapes
from aerann.reference.units import ACTIVATIONS, UNITS
from strategies import batches, finite_differences, random_parameters, reference_layers


def model(rng, vocab, embed, layers):
    return random_parameters(rng, parameter_shapes(vocab, embed, layers))


def assert_gradients_equal(grads, expected):
    assert set(grads) == set(expected)
    for name in expected:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-5, atol=1e-7, err_msg=name)


@given(batch=batches(max_steps=4, max_batch=2, vocab=(2, 4)), layers=reference_layers(), embed=st.integers(1, 3))
def test_reference_gradients_equal_finite_differences(batch, layers, embed):
    T, B, V, X, Y, mask, rng = batch
    params = model(rng, V, embed, layers)
    loss, grads = loss_and_gradients(X, Y, mask, params, layers)
    assert np.isfinite(loss)
    numeric = finite_differences(lambda: loss_and_gradients(X, Y, mask, params, layers)[0], params)
    assert_gradients_equal(grads, numeric)


def cut_loss(X, Y, mask, live, frozen, layers, cut):
    """The loss when every layer's steps before ``cut`` (and h0, c0 if cut > 0) use ``frozen`` parameters."""
    early = frozen if cut > 0 else live
    inputs = np.concatenate([frozen["embedding"][X[:cut]], live["embedding"][X[cut:]]])
    for i, (name, _, options) in enumerate(layers):
        unit = UNITS[name](**options)
        prefix = f"layer{i}."
        p_frozen, p_live = ({k[len(prefix):]: v for k, v in d.items() if k.startswith(prefix)} for d in (frozen, live))
        states = [np.tile(early[f"layer{i}.{s}0"], (X.shape[1], 1)) for s in unit.states]
        outputs = []
        for t in range(len(X)):
            new, _ = unit.forward(p_frozen if t < cut else p_live, inputs[t], *states)
            keep = mask[t][:, None]
            states = [keep * n + (1 - keep) * s for n, s in zip(new, states)]
            outputs.append(states[0])
        inputs = np.stack(outputs)
    logp = log_softmax(inputs @ live["output.W"] + live["output.b"], axis=-1)
    return -np.sum(mask * np.take_along_axis(logp, Y[:, :, None], axis=-1)[:, :, 0])


@given(
    batch=batches(max_steps=5, max_batch=2, vocab=(2, 4)),
    layers=reference_layers(max_layers=2),
    embed=st.integers(1, 3),
    window=st.integers(1, 6),
)
def test_truncated_gradients_equal_finite_differences_of_the_cut_loss(batch, layers, embed, window):
    T, B, V, X, Y, mask, rng = batch
    params = model(rng, V, embed, layers)
    _, grads = loss_and_gradients(X, Y, mask, params, layers, truncate_gradient=window)
    frozen = copy.deepcopy(params)
    cut = max(T - window, 0)
    numeric = finite_differences(lambda: cut_loss(X, Y, mask, params, frozen, layers, cut), params)
    assert_gradients_equal(grads, numeric)
    if window >= T:
        _, full = loss_and_gradients(X, Y, mask, params, layers)
        assert_gradients_equal(grads, full)


def test_truncation_stops_at_the_window():
    rng = np.random.default_rng(0)
    layers = [("elman", 3)]
    params = model(rng, 4, 2, layers)
    X = np.array([[0], [1], [2], [3], [3]], dtype=np.int32)
    Y = rng.integers(4, size=(5, 1)).astype(np.int32)
    mask = np.ones((5, 1))
    _, full = loss_and_gradients(X, Y, mask, params, layers)
    _, cut = loss_and_gradients(X, Y, mask, params, layers, truncate_gradient=2)
    np.testing.assert_allclose(cut["output.W"], full["output.W"])  # the output layer sees every step
    np.testing.assert_allclose(cut["output.b"], full["output.b"])
    np.testing.assert_array_equal(cut["layer0.h0"], 0.0)  # nothing reaches the initial state
    np.testing.assert_array_equal(cut["embedding"][:3], 0.0)  # words seen only before the window
    assert np.abs(cut["embedding"][3]).sum() > 0
    assert not np.allclose(cut["layer0.Wh"], full["layer0.Wh"])


@given(batch=batches(max_steps=4, max_batch=2), layers=reference_layers(max_layers=2), extra=st.integers(1, 3))
def test_padding_changes_nothing(batch, layers, extra):
    T, B, V, X, Y, mask, rng = batch
    params = model(rng, V, 2, layers)
    X_pad = rng.integers(V, size=(T + extra, B + 1)).astype(np.int32)
    Y_pad = rng.integers(V, size=(T + extra, B + 1)).astype(np.int32)
    X_pad[:T, :B], Y_pad[:T, :B] = X, Y
    mask_pad = np.zeros((T + extra, B + 1))
    mask_pad[:T, :B] = mask
    loss, grads = loss_and_gradients(X, Y, mask, params, layers)
    loss_pad, grads_pad = loss_and_gradients(X_pad, Y_pad, mask_pad, params, layers)
    np.testing.assert_allclose(loss_pad, loss, rtol=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads_pad[name], grads[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_relu_derivative_is_the_step_function():
    f, df = ACTIVATIONS["relu"]
    a = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(f(a), [0.0, 0.5, 2.0])
    np.testing.assert_array_equal(df(a), [0.0, 1.0, 1.0])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {**a, "layers": [("nope", 2)]}, "no NumPy reference for unit 'nope'"),
        (lambda a: {**a, "layers": [("gru", 2, {"activation": "cube"})]}, "unknown activation 'cube'"),
        (lambda a: {**a, "params": {k: v for k, v in a["params"].items() if k != "layer0.Whz"}}, "lacks layer0.Whz"),
        (lambda a: {**a, "Y": a["Y"][:1]}, "one shape"),
        (lambda a: {**a, "X": a["X"] + 4}, "X holds ids outside"),
        (lambda a: {**a, "truncate_gradient": 0}, "truncate_gradient"),
    ],
)
def test_bad_input_is_named(change, message):
    rng = np.random.default_rng(0)
    layers = [("gru", 2)]
    args = {
        "X": np.zeros((3, 1), dtype=np.int32),
        "Y": np.ones((3, 1), dtype=np.int32),
        "mask": np.ones((3, 1)),
        "params": model(rng, 4, 2, layers),
        "layers": layers,
        "truncate_gradient": -1,
    }
    with pytest.raises(ValueError, match=message):
        loss_and_gradients(**change(args))


VARIANTS = [(name, variant) for name in sorted(UNITS) for variant in UNITS[name].variants]


@pytest.mark.parametrize("name, variant", VARIANTS, ids=[f"{n}-{v}" for n, v in VARIANTS])
@given(batch=batches(max_steps=4, max_batch=2, vocab=(2, 4)), embed=st.integers(1, 3), size=st.integers(1, 3),
       activation=st.sampled_from(sorted(ACTIVATIONS)))
def test_every_variant_gradients_equal_finite_differences(name, variant, batch, embed, size, activation):
    T, B, V, X, Y, mask, rng = batch
    layers = [(name, size, {"activation": activation, **variant})]
    params = model(rng, V, embed, layers)
    loss, grads = loss_and_gradients(X, Y, mask, params, layers)
    numeric = finite_differences(lambda: loss_and_gradients(X, Y, mask, params, layers)[0], params)
    assert_gradients_equal(grads, numeric)


def dropout_masks(rng, T, B, embed, layers):
    """Fixed inverted-dropout masks for each layer's input and recurrent state, or None, drawn at random."""
    sizes = [embed] + [n for _, n, _ in layers]
    input_masks, recurrent_masks = [], []
    for i in range(len(layers)):
        rate = rng.choice([0.0, 0.5])
        input_masks.append((rng.random((T, B, sizes[i])) >= rate) / (1 - rate) if rate else None)
        rate = rng.choice([0.0, 0.3])
        recurrent_masks.append((rng.random((B, sizes[i + 1])) >= rate) / (1 - rate) if rate else None)
    return input_masks, recurrent_masks


@given(batch=batches(max_steps=4, max_batch=2, vocab=(2, 4)), layers=reference_layers(), embed=st.integers(1, 3))
def test_gradients_with_fixed_dropout_masks_equal_finite_differences(batch, layers, embed):
    # Every unit and variant, each layer with or without input and recurrent dropout.
    T, B, V, X, Y, mask, rng = batch
    params = model(rng, V, embed, layers)
    input_masks, recurrent_masks = dropout_masks(rng, T, B, embed, layers)
    loss, grads = loss_and_gradients(X, Y, mask, params, layers, input_masks=input_masks,
                                     recurrent_masks=recurrent_masks)
    numeric = finite_differences(
        lambda: loss_and_gradients(X, Y, mask, params, layers, input_masks=input_masks,
                                   recurrent_masks=recurrent_masks)[0], params)
    assert_gradients_equal(grads, numeric)
    ones = [np.ones((T, B, n)) for n in [embed] + [n for _, n, _ in layers[:-1]]]
    plain = loss_and_gradients(X, Y, mask, params, layers)
    kept = loss_and_gradients(X, Y, mask, params, layers, input_masks=ones,
                              recurrent_masks=[np.ones((B, n)) for _, n, _ in layers])
    assert kept[0] == plain[0]  # masks of ones change nothing
