"""RecurrentStack on its own, and weights moved to and from PyTorch's nn.RNN, nn.GRU and nn.LSTM.

The conversions are checked against PyTorch itself: the same random inputs
and initial states through the PyTorch module and through the stack give the
same outputs and final states (to 1e-5 in float32, 1e-10 in float64).
Every kind of module (nn.RNN with tanh and relu, nn.GRU, nn.LSTM) is checked
in both dtypes; hypothesis draws the sizes, one or two layers (the first
layer's input size differs from the others', so two cover every layer's
conversion), with or without biases, one direction or both, and
``batch_first`` either way.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from aerann import interop, RecurrentStack

KINDS = {
    "rnn-tanh": (torch.nn.RNN, {}),
    "rnn-relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
    "gru": (torch.nn.GRU, {}),
    "lstm": (torch.nn.LSTM, {}),
}
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
CASES = [(kind, dtype) for kind in KINDS for dtype in TOLERANCE]


def torch_run(module, x, states):
    """The module's outputs (T, B, H) and final states [(layers, B, H), ...] on time-major NumPy inputs."""
    dtype = module.weight_ih_l0.dtype
    inputs = torch.from_numpy(x).to(dtype)
    if module.batch_first:
        inputs = inputs.transpose(0, 1)
    given_states = [torch.from_numpy(s).to(dtype) for s in states]
    with torch.no_grad():
        out, final = module(inputs, tuple(given_states) if isinstance(module, torch.nn.LSTM) else given_states[0])
    if module.batch_first:
        out = out.transpose(0, 1)
    final = list(final) if isinstance(final, tuple) else [final]
    return out.numpy(), [f.numpy() for f in final]


def per_layer(states):
    """PyTorch's states [(layers x directions, B, H), ...] as a stack's: for every unit (each layer's
    forward, then backward), one (B, H) array per state."""
    return [[s[layer] for s in states] for layer in range(states[0].shape[0])]


def assert_same_run(stack, module, x, states, dtype):
    outputs, final = stack(x, per_layer(states))
    theirs, their_final = torch_run(module, x, states)
    tolerance = TOLERANCE[dtype]
    assert outputs.dtype == dtype
    np.testing.assert_allclose(outputs, theirs, rtol=tolerance, atol=tolerance)
    for layer, layer_states in enumerate(per_layer(their_final)):
        for ours, theirs_state in zip(final[layer], layer_states):
            np.testing.assert_allclose(ours, theirs_state, rtol=tolerance, atol=tolerance)


modules = st.fixed_dictionaries({
    "steps": st.integers(1, 5), "batch": st.integers(1, 3), "n_in": st.integers(1, 4), "hidden": st.integers(1, 4),
    "layers": st.integers(1, 2), "bias": st.booleans(), "batch_first": st.booleans(), "bidirectional": st.booleans(),
    "seed": st.integers(0, 2**31),
})


def drawn_module(kind, dtype, drawn):
    torch.manual_seed(drawn["seed"])
    cls, options = KINDS[kind]
    module = cls(drawn["n_in"], drawn["hidden"], num_layers=drawn["layers"], bias=drawn["bias"],
                 batch_first=drawn["batch_first"], bidirectional=drawn["bidirectional"],
                 **options).to(getattr(torch, dtype))
    rng = np.random.default_rng(drawn["seed"])
    x = rng.normal(size=(drawn["steps"], drawn["batch"], drawn["n_in"]))
    count = 2 if kind == "lstm" else 1
    units = drawn["layers"] * (2 if drawn["bidirectional"] else 1)
    states = [rng.normal(size=(units, drawn["batch"], drawn["hidden"])) for _ in range(count)]
    return module, x, states


@pytest.mark.parametrize("kind, dtype", CASES)
@given(drawn=modules)
def test_from_torch_computes_what_the_module_computes(kind, dtype, drawn):
    module, x, states = drawn_module(kind, dtype, drawn)
    stack = interop.from_torch(module)
    assert stack.dtype == dtype and len(stack.layers) == drawn["layers"]
    assert stack.bidirectional == drawn["bidirectional"]
    assert_same_run(stack, module, x, states, dtype)


@pytest.mark.parametrize("kind, dtype", CASES)
@given(drawn=modules)
def test_to_torch_computes_what_the_stack_computes(kind, dtype, drawn):
    module, x, states = drawn_module(kind, dtype, drawn)
    stack = interop.from_torch(module)
    rng = np.random.default_rng(drawn["seed"])
    for name, shared in stack.params.items():  # new weights of its own, biases included, initial states zero
        if not name.endswith(("h0", "c0")):
            shared.set_value(rng.normal(scale=0.5, size=shared.get_value().shape).astype(dtype))
    back = interop.to_torch(stack, batch_first=drawn["batch_first"])
    assert type(back) is type(module) and back.batch_first == drawn["batch_first"]
    assert back.bidirectional == drawn["bidirectional"] and back.num_layers == drawn["layers"]
    assert back.weight_ih_l0.dtype == getattr(torch, dtype)
    assert_same_run(stack, back, x, states, dtype)
    again = interop.from_torch(back)
    for name, shared in stack.params.items():
        np.testing.assert_allclose(again.params[name].get_value(), shared.get_value(), rtol=1e-6, err_msg=name)


def test_a_stack_carries_its_states_from_one_call_to_the_next():
    stack = RecurrentStack(3, [("gru", 4), ("lstm", 2)], seed=1)
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    whole, final = stack(x)
    first, middle = stack(x[:4])
    second, carried = stack(x[4:], middle)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)
    for layer, layer_carried in zip(final, carried):
        for ours, theirs in zip(layer, layer_carried):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    default, _ = stack(x, stack.initial_states(2))
    np.testing.assert_array_equal(default, whole)
    assert whole.shape == (6, 2, 2) and [len(layer) for layer in final] == [1, 2]


def test_a_models_recurrent_layers_are_its_stack():
    from aerann import LanguageModel

    model = LanguageModel(5, 3, layers=[("elman", 4), ("gru", 2)])
    assert model.units == model.stack.units and model.stack.n_in == 3 and model.stack.n_out == 2
    assert set(model.stack.params) < set(model.params)
    assert all(model.params[name] is shared for name, shared in model.stack.params.items())


def test_bad_calls_of_a_stack_say_what_is_expected():
    stack = RecurrentStack(3, [("elman", 2)])
    with pytest.raises(ValueError, match=r"x must have shape \(steps, batch, 3\).*\(4, 3\)"):
        stack(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        stack(np.full((2, 1, 3), np.nan))
    with pytest.raises(ValueError, match=r"h of layer 0 \(elman\) must be a \(1, 2\) array"):
        stack(np.zeros((2, 1, 3)), [[np.zeros((2, 2))]])
    with pytest.raises(TypeError, match="seed"):
        RecurrentStack(3, [("elman", 2)], seed=1.5)


@pytest.mark.parametrize(
    "module, error, message",
    [
        (torch.nn.Linear(2, 3), TypeError, "from_torch takes a torch.nn.RNN, nn.GRU or nn.LSTM, got Linear"),
        (torch.nn.LSTM(2, 3, proj_size=2), ValueError, "proj_size=2"),
        (torch.nn.RNN(2, 3).half(), ValueError, "float16 weights"),
    ],
)
def test_modules_that_have_no_equal_say_why(module, error, message):
    with pytest.raises(error, match=message):
        interop.from_torch(module)


@pytest.mark.parametrize(
    "layers, message",
    [
        ([("lstm", 3)], "peepholes='full': PyTorch's has 'none'"),
        ([("gru", 3)], "reset_after=False: PyTorch's has True"),
        ([("gru", 3, {"reset_after": True}), ("lstm", 3, {"peepholes": "none"})], "a PyTorch module has one kind"),
        ([("elman", 3), ("elman", 2)], "one size"),
        ([("elman", 3, {"activation": "sigmoid"})], "uses sigmoid: PyTorch's has tanh or relu"),
        ([("elman", 3), ("elman", 3, {"activation": "relu"})], "one nonlinearity"),
        ([("rated", 3)], "PyTorch has elman"),
        ([{"unit": "elman", "size": 3, "bidirectional": True}, ("elman", 3)], "some layers are bidirectional"),
    ],
)
def test_stacks_that_have_no_equal_say_why(layers, message):
    with pytest.raises(ValueError, match=message):
        interop.to_torch(RecurrentStack(2, layers))
    with pytest.raises(TypeError, match="RecurrentStack"):
        interop.to_torch("not a stack")


def test_learned_initial_states_are_named_when_they_cannot_go_along():
    stack = RecurrentStack(2, [("lstm", 3, {"peepholes": "none"})])
    stack.params["layer0.c0"].set_value(np.ones(3))
    with pytest.warns(UserWarning, match="layer 0's initial state.*c are not zero"):
        interop.to_torch(stack)
