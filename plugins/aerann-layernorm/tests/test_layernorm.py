"""The layer-normalised units, tested as a user of the installed plugin would.

The NumPy references' hand-written backward steps are checked against
central finite differences of their own forward steps; the Aesara units are
then checked against the references, forward and gradients, step by step.
"""

import aerann  # first: it configures Aesara before Aesara is imported

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aerann.testing import certification
from aerann_layernorm.reference import LayerNormGRUReference, LayerNormLSTMReference

REFERENCES = {"ln_lstm": LayerNormLSTMReference, "ln_gru": LayerNormGRUReference}
# The options each unit is checked with: the defaults, and every option off its default.
CONFIGS = {"ln_lstm": {}, "ln_gru": {"eps": 1e-2}}
sizes = st.integers(1, 3)


def random_step(reference, n_in, n_out, B, rng, dropout):
    """Parameters, input, previous states, weights of a linear function of the new states, keep mask."""
    p = {name: rng.normal(size=shape) for name, shape in reference.shapes(n_in, n_out).items()}
    x = rng.normal(size=(B, n_in))
    prev = [rng.normal(size=(B, n_out)) for _ in reference.states]
    weights = [rng.normal(size=(B, n_out)) for _ in reference.states]
    keep = (rng.random((B, n_out)) < 0.7) / 0.7 if dropout else None
    return p, x, prev, weights, keep


def forward(reference, p, x, prev, keep):
    return reference.forward(p, x, *prev) if keep is None else reference.forward(p, x, *prev, keep=keep)


def test_the_units_are_registered_by_the_plugins_distribution():
    assert {"ln_lstm", "ln_gru"} <= set(aerann.units.names())
    for name in ("ln_lstm", "ln_gru"):
        assert "aerann-layernorm" in aerann.units.sources()[name]


@pytest.mark.parametrize("name", ["ln_lstm", "ln_gru"])
def test_the_references_have_the_units_states_and_parameters(name):
    unit = aerann.units.get(name)(2, 3, np.random.default_rng(0))
    reference = REFERENCES[name](**unit.config())
    assert reference.states == unit.states
    assert reference.shapes(2, 3) == {n: v.get_value().shape for n, v in unit.params.items()}


def test_config_keeps_only_the_options_off_their_defaults():
    ln_lstm, ln_gru = aerann.units.get("ln_lstm"), aerann.units.get("ln_gru")
    assert ln_lstm(2, 3).config() == {} and ln_gru(2, 3).config() == {}
    unit = ln_lstm(2, 3, eps=1e-3, forget_bias=1.0)
    assert unit.config() == {"eps": 1e-3, "forget_bias": 1.0}
    np.testing.assert_array_equal(unit.params["bf"].get_value(), np.ones(3))
    np.testing.assert_array_equal(unit.params["gi"].get_value(), np.ones(3))
    assert ln_lstm(2, 3, **unit.config()).config() == unit.config()
    LayerNormLSTMReference(**unit.config())  # forget_bias, an initial value, is accepted
    for bad in (0, -1e-5, float("nan"), "1e-5", True):
        with pytest.raises(ValueError, match="eps"):
            ln_gru(2, 3, eps=bad)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(REFERENCES)), n_in=sizes, n_out=sizes, B=sizes, dropout=st.booleans(),
       seed=st.integers(0, 2**31))
@example(name="ln_lstm", n_in=1, n_out=1, B=1, dropout=False, seed=0)
@example(name="ln_gru", n_in=1, n_out=1, B=1, dropout=False, seed=0)
def test_each_references_backward_equals_finite_differences_of_its_forward(name, n_in, n_out, B, dropout, seed):
    reference = REFERENCES[name](**CONFIGS[name])
    rng = np.random.default_rng(seed)
    p, x, prev, weights, keep = random_step(reference, n_in, n_out, B, rng, dropout)

    def loss():
        new, _ = forward(reference, p, x, prev, keep)
        return sum((w * s).sum() for w, s in zip(weights, new))

    _, cache = forward(reference, p, x, prev, keep)
    dx, d_prev, dparams = reference.backward(p, cache, *weights)
    assert set(dparams) == set(p) - {f"{s}0" for s in reference.states}
    h = 1e-6
    for value, grad in [(x, dx), *zip(prev, d_prev), *((p[n], dparams[n]) for n in dparams)]:
        assert grad.shape == value.shape
        numeric = np.empty_like(value)
        for ix in np.ndindex(value.shape):
            original = value[ix]
            value[ix] = original + h
            plus = loss()
            value[ix] = original - h
            minus = loss()
            value[ix] = original
            numeric[ix] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module", params=["ln_lstm", "ln_gru"])
def compiled_step(request):
    """(unit, reference, f): f(xs, t, *states, keep, *weights, *params) -> [*new states, dx, *d_states,
    *d_params] of one step at time t of a sequence xs (T, B, n_in), through the unit's input_projection
    of the whole sequence and its projected_step; every size symbolic, so one graph serves them all."""
    name = request.param
    unit = aerann.units.get(name)(1, 1, np.random.default_rng(0), **CONFIGS[name])
    reference = REFERENCES[name](**unit.config())
    shared = {n: v for n, v in unit.params.items() if n not in {f"{s}0" for s in unit.states}}
    symbols = {n: v.type(n) for n, v in shared.items()}
    xs, t, keep = at.tensor3("xs"), at.iscalar("t"), at.matrix("keep")
    states = [at.matrix(s) for s in unit.states]
    weights = [at.matrix(f"w_{s}") for s in unit.states]
    projected = unit.input_projection(xs)
    p_t = tuple(p[t] for p in projected) if isinstance(projected, tuple) else projected[t]
    new = unit.projected_step(p_t, *states, recurrent=(states[0] * keep,))
    new = list(new) if isinstance(new, (tuple, list)) else [new]
    loss = sum((w * s).sum() for w, s in zip(weights, new))
    grads = aesara.grad(loss, [xs, *states, *shared.values()])
    # Python's implementations of the ops: the C code is certified below, this checks the math
    fn = aesara.function([xs, t, *states, keep, *weights, *symbols.values()], new + grads,
                         givens=[(shared[n], symbols[n]) for n in shared], mode="FAST_COMPILE")
    return unit, reference, fn


@settings(max_examples=15, deadline=None)
@given(n_in=sizes, n_out=sizes, B=sizes, T=st.integers(1, 3), dropout=st.booleans(), seed=st.integers(0, 2**31))
@example(n_in=1, n_out=1, B=1, T=2, dropout=False, seed=0)
def test_the_units_equal_their_references_step_by_step(compiled_step, n_in, n_out, B, T, dropout, seed):
    unit, reference, fn = compiled_step
    rng = np.random.default_rng(seed)
    p, _, states, weights, keep = random_step(reference, n_in, n_out, B, rng, dropout)
    xs = rng.normal(size=(T, B, n_in))
    names = [n for n in p if n not in {f"{s}0" for s in unit.states}]
    for t in range(T):
        new, cache = forward(reference, p, xs[t], states, keep)
        dx, d_prev, dparams = reference.backward(p, cache, *weights)
        mask = np.ones((B, n_out)) if keep is None else keep
        out = fn(xs, t, *states, mask, *weights, *(p[n] for n in names))
        k = len(unit.states)
        got_new, got_dxs, got_prev, got_params = out[:k], out[k], out[k + 1:2 * k + 1], out[2 * k + 1:]
        for got, expected in zip(got_new + [got_dxs[t]] + got_prev + got_params,
                                 new + [dx] + d_prev + [dparams[n] for n in names]):
            assert np.all(np.isfinite(got))
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
        assert not np.any(np.delete(got_dxs, t, axis=0))
        states = new


# Everything aerann certifies (gradients against the references above and against finite
# differences, masks, truncation, stacking, saving, float32): one test per unit and property.
test_certified = certification("ln_lstm", "ln_gru")
