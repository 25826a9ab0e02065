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


def book_step(name, p, x, h, c=None, f=np.tanh, reset_after=False, peepholes="full"):
    """The book's equations (and the variants' equations), written out independently of the units."""
    if name == "elman":
        return f(x @ p["Wx"] + h @ p["Wh"] + p["bh"])
    if name == "rated":
        hhat = f(x @ p["Wx"] + h @ p["Wh"] + p["bh"])
        z = sigmoid(x @ p["Wxz"] + h @ p["Whz"] + p["bz"])
        return (1 - z) * h + z * hhat
    if name == "gru":
        r = sigmoid(x @ p["Wxr"] + h @ p["Whr"] + p["br"])
        z = sigmoid(x @ p["Wxz"] + h @ p["Whz"] + p["bz"])
        if reset_after:
            hhat = f(x @ p["Wxh"] + p["bh"] + r * (h @ p["Whh"] + p["bhh"]))
        else:
            hhat = f(x @ p["Wxh"] + (r * h) @ p["Whh"] + p["bh"])
        return (1 - z) * h + z * hhat
    peephole = {
        "full": lambda cell, g: cell @ p[f"Wc{g}"],
        "diagonal": lambda cell, g: cell * p[f"Wc{g}"],
        "none": lambda cell, g: 0,
    }[peepholes]
    i = sigmoid(x @ p["Wxi"] + h @ p["Whi"] + peephole(c, "i") + p["bi"])
    f_ = sigmoid(x @ p["Wxf"] + h @ p["Whf"] + peephole(c, "f") + p["bf"])
    c_new = f_ * c + i * f(x @ p["Wxc"] + h @ p["Whc"] + p["bc"])
    o = sigmoid(x @ p["Wxo"] + h @ p["Who"] + peephole(c_new, "o") + p["bo"])
    return o * f(c_new), c_new


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_parameter_names_and_shapes_follow_the_book(name):
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


VARIANT_SHAPES = {
    ("gru", "reset_after", True): {**SHAPES["gru"], "bhh": V},
    ("lstm", "peepholes", "diagonal"): {**SHAPES["lstm"], **{f"Wc{g}": V for g in "ifo"}},
    ("lstm", "peepholes", "none"): {p: shape for p, shape in SHAPES["lstm"].items() if not p.startswith("Wc")},
}


@pytest.mark.parametrize("name, option, value", sorted(VARIANT_SHAPES))
def test_the_variants_parameters_and_configuration(name, option, value):
    unit = units.get(name)(N_IN, N_OUT, np.random.default_rng(0), **{option: value})
    assert {p: v.get_value().shape for p, v in unit.params.items()} == VARIANT_SHAPES[name, option, value]
    assert unit.config() == {"activation": "tanh", option: value}


def test_the_default_variants_keep_the_books_parameters_and_configuration():
    for name, options in (("gru", {"reset_after": False}), ("lstm", {"peepholes": "full", "forget_bias": 0.0})):
        default = units.get(name)(N_IN, N_OUT, np.random.default_rng(0))
        explicit = units.get(name)(N_IN, N_OUT, np.random.default_rng(0), **options)
        assert default.config() == explicit.config() == {"activation": "tanh"}
        for param, shared in default.params.items():
            np.testing.assert_array_equal(shared.get_value(), explicit.params[param].get_value())


@pytest.mark.parametrize("name, option, value", [(None, None, None)] + sorted(VARIANT_SHAPES))
@pytest.mark.parametrize("activation", sorted(NUMPY_ACTIVATIONS))
def test_one_step_equals_the_books_equations(name, option, value, activation):
    for unit_name in sorted(SHAPES) if name is None else [name]:
        check_step(unit_name, activation, {} if option is None else {option: value})


def check_step(name, activation, variant):
    rng = np.random.default_rng(1)
    unit = units.get(name)(N_IN, N_OUT, rng, activation=activation, **variant)
    for shared in unit.params.values():
        shared.set_value(rng.normal(size=shared.get_value().shape))
    x = at.matrix("x")
    prev = [at.matrix(s) for s in unit.states]
    new = unit.step(x, *prev)
    fn = compiler.function([x, *prev], list(new) if isinstance(new, tuple) else [new])
    values = [rng.normal(size=(BATCH, N_IN))] + [rng.normal(size=(BATCH, N_OUT)) for _ in unit.states]
    params = {p: v.get_value() for p, v in unit.params.items()}
    expected = book_step(name, params, *values, f=NUMPY_ACTIVATIONS[activation], **variant)
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    for ours, theirs in zip(fn(*values), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_activation_must_be_tanh_sigmoid_or_relu(name):
    with pytest.raises(ValueError, match="softplus"):
        units.get(name)(N_IN, N_OUT, np.random.default_rng(0), activation="softplus")
    assert units.get(name)(N_IN, N_OUT, 0, activation="relu").config() == {"activation": "relu"}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_orthogonal_recurrent_init_gives_orthogonal_recurrent_matrices(name):
    unit = units.get(name)(N_IN, N_OUT, np.random.default_rng(0), recurrent_init="orthogonal")
    recurrent = [param for param in unit.params if param.startswith("Wh")]
    assert recurrent
    for param in recurrent:
        W = unit.params[param].get_value()
        np.testing.assert_allclose(W @ W.T, np.eye(N_OUT), atol=1e-12, err_msg=param)


def test_orthogonal_init_of_a_rectangular_matrix_has_orthonormal_rows_or_columns():
    unit = Probe(2, 3, np.random.default_rng(0))
    tall, wide = unit.param("Tall", (5, 2), "orthogonal").get_value(), unit.param("Wide", (2, 5), "orthogonal").get_value()
    np.testing.assert_allclose(tall.T @ tall, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(wide @ wide.T, np.eye(2), atol=1e-12)
    with pytest.raises(ValueError, match="needs a matrix"):
        unit.param("v", (3,), "orthogonal")


def test_forget_bias_sets_the_forget_gates_bias_only():
    unit = units.get("lstm")(N_IN, N_OUT, np.random.default_rng(0), forget_bias=1.0)
    np.testing.assert_array_equal(unit.params["bf"].get_value(), np.ones(N_OUT))
    for gate in "ico":
        assert not unit.params[f"b{gate}"].get_value().any()


@pytest.mark.parametrize(
    "name, options, error, message",
    [
        ("lstm", {"peepholes": "half"}, ValueError, "peepholes must be one of 'full', 'diagonal', 'none', got 'half'"),
        ("lstm", {"forget_bias": float("nan")}, ValueError, "forget_bias must be a finite number"),
        ("lstm", {"forget_bias": "1"}, TypeError, "forget_bias must be a real number"),
        ("gru", {"reset_after": "yes"}, TypeError, "reset_after must be True or False, got 'yes'"),
        ("elman", {"recurrent_init": "normal"}, ValueError, "recurrent_init must be one of 'uniform', 'orthogonal'"),
        ("rated", {"recurrent_init": None}, ValueError, "recurrent_init must be one of"),
    ],
)
def test_bad_unit_options_say_what_is_allowed(name, options, error, message):
    with pytest.raises(error, match=message):
        units.get(name)(N_IN, N_OUT, np.random.default_rng(0), **options)


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
