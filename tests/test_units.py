"""The built-in units: parameter names and shapes, initialisation, and their step equations."""

import aesara.tensor as at
import numpy as np
import pytest

from aerann import units
from aerann.backend import compiler
from aerann.units import RecurrentUnit

N_IN, N_OUT, BATCH = 3, 4, 2
X, H, V = (N_IN, N_OUT), (N_OUT, N_OUT), (N_OUT,)

SHAPES = {
    "elman": {"Wx": X, "Wh": H, "bh": V, "h0": V},
    "rated": {"Wx": X, "Wh": H, "bh": V, "Wxz": X, "Whz": H, "bz": V, "h0": V},
    "gru": {
        **{f"Wx{g}": X for g in "rzh"},
        **{f"Wh{g}": H for g in "rzh"},
        **{f"b{g}": V for g in "rzh"},
        "h0": V,
    },
    "lstm": {
        **{f"Wx{g}": X for g in "ifco"},
        **{f"Wh{g}": H for g in "ifco"},
        **{f"Wc{g}": H for g in "ifo"},
        **{f"b{g}": V for g in "ifco"},
        "h0": V,
        "c0": V,
    },
}


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def relu(a):
    return np.maximum(a, 0)


NUMPY_ACTIVATIONS = {"tanh": np.tanh, "sigmoid": sigmoid, "relu": relu}


def book_step(name, p, x, h, c=None, f=np.tanh):
    """The brief's equations, written out independently of the units."""
    if name == "elman":
        return f(x @ p["Wx"] + h @ p["Wh"] + p["bh"])
    if name == "rated":
        hhat = f(x @ p["Wx"] + h @ p["Wh"] + p["bh"])
        z = sigmoid(x @ p["Wxz"] + h @ p["Whz"] + p["bz"])
        return (1 - z) * h + z * hhat
    if name == "gru":
        r = sigmoid(x @ p["Wxr"] + h @ p["Whr"] + p["br"])
        z = sigmoid(x @ p["Wxz"] + h @ p["Whz"] + p["bz"])
        hhat = f(x @ p["Wxh"] + (r * h) @ p["Whh"] + p["bh"])
        return (1 - z) * h + z * hhat
    i = sigmoid(x @ p["Wxi"] + h @ p["Whi"] + c @ p["Wci"] + p["bi"])
    f_ = sigmoid(x @ p["Wxf"] + h @ p["Whf"] + c @ p["Wcf"] + p["bf"])
    c_new = f_ * c + i * f(x @ p["Wxc"] + h @ p["Whc"] + p["bc"])
    o = sigmoid(x @ p["Wxo"] + h @ p["Who"] + c_new @ p["Wco"] + p["bo"])
    return o * f(c_new), c_new


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_parameter_names_and_shapes_follow_the_brief(name):
    unit = units.get(name)(N_IN, N_OUT, np.random.default_rng(0))
    assert {p: v.get_value().shape for p, v in unit.params.items()} == SHAPES[name]
    assert list(unit.params)[-len(unit.states) :] == [f"{s}0" for s in unit.states]
    assert all(v.dtype == "float64" for v in unit.params.values())


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_initialisation_is_glorot_uniform_with_zero_biases_and_initial_states(name):
    unit = units.get(name)(N_IN, N_OUT, np.random.default_rng(0))
    same = units.get(name)(N_IN, N_OUT, np.random.default_rng(0))
    for param, shared in unit.params.items():
        value = shared.get_value()
        np.testing.assert_array_equal(value, same.params[param].get_value())
        if value.ndim == 1:
            assert not value.any(), param
        else:
            limit = np.sqrt(6.0 / (value.shape[0] + value.shape[1]))
            assert np.abs(value).max() <= limit and value.std() > 0, param


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
def test_one_step_equals_the_books_equations(name, activation):
    rng = np.random.default_rng(1)
    unit = units.get(name)(N_IN, N_OUT, rng, activation=activation)
    for shared in unit.params.values():
        shared.set_value(rng.normal(size=shared.get_value().shape))
    x = at.matrix("x")
    prev = [at.matrix(s) for s in unit.states]
    new = unit.step(x, *prev)
    fn = compiler.function([x, *prev], list(new) if isinstance(new, tuple) else [new])
    values = [rng.normal(size=(BATCH, N_IN))] + [rng.normal(size=(BATCH, N_OUT)) for _ in unit.states]
    params = {p: v.get_value() for p, v in unit.params.items()}
    expected = book_step(name, params, *values, f=NUMPY_ACTIVATIONS[activation])
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    for ours, theirs in zip(fn(*values), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_activation_must_be_tanh_sigmoid_or_relu(name):
    with pytest.raises(ValueError, match="softplus"):
        units.get(name)(N_IN, N_OUT, np.random.default_rng(0), activation="softplus")
    assert units.get(name)(N_IN, N_OUT, 0, activation="relu").config() == {"activation": "relu"}


class Probe(RecurrentUnit):
    name = "probe"

    def step(self, x_t, h):
        return h


def test_param_accepts_uniform_zeros_or_an_array_of_the_right_shape():
    unit = Probe(2, 3, np.random.default_rng(0))
    W = unit.param("W", (2, 3))
    assert W.get_value().shape == (2, 3) and W is unit.params["W"]
    assert not unit.param("b", (3,), "zeros").get_value().any()
    given = unit.param("A", (3, 3), np.eye(3))
    np.testing.assert_array_equal(given.get_value(), np.eye(3))
    assert list(unit.params) == ["W", "b", "A", "h0"]


@pytest.mark.parametrize(
    "name, shape, init, error, message",
    [
        ("W", (2, 2), np.eye(3), ValueError, r"shape \(3, 3\), expected \(2, 2\)"),
        ("h0", (3,), "zeros", ValueError, "twice"),
        ("not a name", (3,), "zeros", ValueError, "identifier"),
        ("W", (2, 0), "zeros", ValueError, "positive"),
        ("W", (2, 2), "normal", ValueError, "unknown init 'normal'"),
        ("W", 3, "zeros", TypeError, "tuple"),
    ],
)
def test_param_rejects_bad_definitions(name, shape, init, error, message):
    unit = Probe(2, 3, np.random.default_rng(0))
    with pytest.raises(error, match=message):
        unit.param(name, shape, init)


def test_a_unit_without_a_step_says_so():
    class Empty(RecurrentUnit):
        name = "empty"

    with pytest.raises(NotImplementedError, match="Empty"):
        Empty(1, 1, 0).step(at.matrix(), at.matrix())


def test_sizes_must_be_positive_integers():
    with pytest.raises(ValueError, match="n_out"):
        units.get("gru")(2, 0, 0)
    with pytest.raises(TypeError, match="n_in"):
        units.get("gru")(2.5, 3, 0)
