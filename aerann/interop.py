"""Weights in and out of PyTorch: ``from_torch(module)`` and ``to_torch(stack)``.

A PyTorch ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` of L layers is the same
network as a :class:`~aerann.RecurrentStack` of L units:

- ``nn.RNN``: ``elman`` with activation tanh or relu; Wx = W_ih^T,
  Wh = W_hh^T, bh = b_ih + b_hh;
- ``nn.LSTM``: ``lstm`` with ``peepholes="none"``; PyTorch stacks the gates
  i, f, g, o in its matrices, aerann's i, f, c, o, so gate k of W_ih^T is
  Wx<k>, and b<k> = b_ih<k> + b_hh<k>;
- ``nn.GRU``: ``gru`` with ``reset_after=True``; the reset gate's and the
  candidate's weights carry over, with b_hn as ``bhh``.  PyTorch's update
  gate z' keeps the old state (h' = (1 - z') n + z' h), aerann's z takes the
  new one (h' = (1 - z) h + z hhat), so z = 1 - z' = sigmoid(-a'): aerann's
  update-gate weights and bias are PyTorch's negated.

PyTorch's modules start from zero states; aerann's units have learnable
initial states, zero for a stack from ``from_torch``.  A bidirectional
module is a stack of bidirectional layers (PyTorch's ``*_reverse`` weights
are the backward units', ``layer{i}.backward.*``, and its final states are
listed in the same order: each layer's forward, then backward).  Modules
are taken with ``batch_first`` either way (the weights do not depend on it; the
stack itself is time-major).  Dropout between PyTorch's layers is a
training setting, not a weight, and is not carried over.
"""

import warnings

import aesara
import numpy as np

from aerann.stack import RecurrentStack

MODES = {"RNN_TANH": ("elman", "tanh"), "RNN_RELU": ("elman", "relu"), "GRU": ("gru", "tanh"), "LSTM": ("lstm", "tanh")}
OPTIONS = {"elman": {}, "gru": {"reset_after": True}, "lstm": {"peepholes": "none"}}
# aerann's gate names in the order PyTorch stacks its gates, and the sign each gate's weights take.
TORCH_GATES = {"elman": [("", 1.0)], "gru": [("r", 1.0), ("z", -1.0), ("h", 1.0)],
               "lstm": [("i", 1.0), ("f", 1.0), ("c", 1.0), ("o", 1.0)]}
DTYPES = ("float32", "float64")
# PyTorch's suffix of a direction's weights, and aerann's prefix of its parameters.
DIRECTIONS = (("", ""), ("_reverse", "backward."))


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("aerann.interop needs PyTorch: pip install torch") from None
    return torch


def _check_module(module):
    torch = _torch()
    if not isinstance(module, torch.nn.RNNBase) or getattr(module, "mode", None) not in MODES:
        raise TypeError(f"from_torch takes a torch.nn.RNN, nn.GRU or nn.LSTM, got {type(module).__name__}")
    kind = type(module).__name__
    if getattr(module, "proj_size", 0):
        raise ValueError(f"this {kind} has proj_size={module.proj_size}: aerann's LSTM has no projection of h")
    dtype = str(module.weight_ih_l0.dtype).replace("torch.", "")
    if dtype not in DTYPES:
        raise ValueError(f"this {kind} holds {dtype} weights; convert it to float32 or float64 first")
    return dtype


def from_torch(module) -> RecurrentStack:
    """The RecurrentStack that computes what ``module`` (an nn.RNN, nn.GRU or nn.LSTM) does.

    Its parameters are in the module's dtype (float32 or float64), whatever
    Aesara's floatX, and are copies: training one leaves the other alone.
    """
    dtype = _check_module(module)
    unit, activation = MODES[module.mode]
    hidden, n_in = module.hidden_size, module.input_size
    spec = {"unit": unit, "size": hidden, "kwargs": {"activation": activation, **OPTIONS[unit]},
            "bidirectional": module.bidirectional}
    with aesara.config.change_flags(floatX=dtype):
        stack = RecurrentStack(n_in, [spec] * module.num_layers)
    for layer in range(module.num_layers):
        for suffix, prefix in DIRECTIONS[: 2 if module.bidirectional else 1]:
            weights = {name: getattr(module, f"{name}_l{layer}{suffix}").detach().cpu().numpy().astype(np.float64)
                       for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if module.bias or "weight" in name}
            for name, value in _aerann_values(unit, hidden, weights).items():
                stack.params[f"layer{layer}.{prefix}{name}"].set_value(value.astype(dtype))
    return stack


def _aerann_values(unit, hidden, weights):
    """aerann's parameter values of one layer from PyTorch's weight_ih, weight_hh[, bias_ih, bias_hh]."""
    zeros = np.zeros(len(TORCH_GATES[unit]) * hidden)
    w_ih, w_hh = weights["weight_ih"], weights["weight_hh"]
    b_ih, b_hh = weights.get("bias_ih", zeros), weights.get("bias_hh", zeros)
    values = {}
    for k, (gate, sign) in enumerate(TORCH_GATES[unit]):
        rows = slice(k * hidden, (k + 1) * hidden)
        values[f"Wx{gate}"] = sign * w_ih[rows].T
        values[f"Wh{gate}"] = sign * w_hh[rows].T
        if unit == "gru" and gate == "h":
            values["bh"], values["bhh"] = b_ih[rows], b_hh[rows]
        else:
            values[f"b{gate or 'h'}"] = sign * (b_ih[rows] + b_hh[rows])
    return values


def _check_stack(stack):
    """The PyTorch class, its nonlinearity and its hidden size for ``stack``, or a ValueError saying why
    there is none."""
    if not isinstance(stack, RecurrentStack):
        raise TypeError(f"to_torch takes an aerann.RecurrentStack, got {type(stack).__name__}")
    first = stack.units[0]
    if len({spec.bidirectional for spec in stack.layers}) > 1:
        raise ValueError("some layers are bidirectional and some not: a PyTorch module's layers are all one or "
                         "the other")
    for i, unit in enumerate(stack.units):
        if unit.name not in OPTIONS:
            raise ValueError(f"layer {i} is a {unit.name} unit: PyTorch has elman (nn.RNN), gru and lstm units only")
        if unit.name != first.name:
            raise ValueError(f"layer {i} is a {unit.name} unit and layer 0 a {first.name}: a PyTorch module has "
                             "one kind of unit")
        if unit.n_out != first.n_out:
            raise ValueError(f"layer {i} has {unit.n_out} units and layer 0 {first.n_out}: a PyTorch module's "
                             "layers have one size")
        activation, allowed = unit.config().get("activation"), ("tanh", "relu") if unit.name == "elman" else ("tanh",)
        if activation not in allowed:
            raise ValueError(f"layer {i} ({unit.name}) uses {activation}: PyTorch's has {' or '.join(allowed)}")
        if activation != first.config().get("activation"):
            raise ValueError(f"layer {i} uses {activation} and layer 0 {first.config().get('activation')}: "
                             "nn.RNN has one nonlinearity")
        for option, value in OPTIONS[unit.name].items():
            if getattr(unit, option) != value:
                raise ValueError(f"layer {i} ({unit.name}) has {option}={getattr(unit, option)!r}: "
                                 f"PyTorch's has {value!r}")
    return first.name, first.config()["activation"], first.n_out


def to_torch(stack, batch_first=False):
    """The PyTorch module (nn.RNN, nn.GRU or nn.LSTM) that computes what ``stack`` does.

    Every layer must be the same unit, of one size, in PyTorch's variant
    (``peepholes="none"`` for an LSTM, ``reset_after=True`` for a GRU, tanh,
    or relu for Elman units), and every layer bidirectional or none (a
    bidirectional module then).  The module's weights are in the stack's dtype;
    the biases go into ``bias_ih`` (and the GRU's ``bhh`` into b_hn), with
    ``bias_hh`` zero elsewhere.  PyTorch's modules start from zero states: a
    stack whose learned initial states are not zero warns, and they must
    then be passed to the module as its ``h0`` (and ``c0``).
    """
    torch = _torch()
    unit, activation, hidden = _check_stack(stack)
    kind = {"elman": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[unit]
    extra = {"nonlinearity": activation} if unit == "elman" else {}
    dtype = getattr(torch, stack.dtype)
    bidirectional = stack.layers[0].bidirectional
    module = kind(stack.n_in, hidden, num_layers=len(stack.layers), batch_first=batch_first, dtype=dtype,
                  bidirectional=bidirectional, **extra)
    gates = TORCH_GATES[unit]
    with torch.no_grad():
        for index, aerann_unit in enumerate(stack.units):
            layer, direction = divmod(index, 2) if bidirectional else (index, 0)
            suffix = DIRECTIONS[direction][0]
            p = {name: shared.get_value().astype(np.float64) for name, shared in aerann_unit.params.items()}
            w_ih = np.concatenate([sign * p[f"Wx{g}"].T for g, sign in gates])
            w_hh = np.concatenate([sign * p[f"Wh{g}"].T for g, sign in gates])
            b_ih = np.concatenate([sign * p[f"b{g or 'h'}"] for g, sign in gates])
            b_hh = np.zeros_like(b_ih)
            if unit == "gru":
                b_hh[2 * hidden :] = p["bhh"]
            for name, value in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
                getattr(module, f"{name}_l{layer}{suffix}").copy_(torch.from_numpy(value))
            learned = [state for state in aerann_unit.states if np.any(p[f"{state}0"])]
            if learned:
                where = f"layer {layer}{' (backward)' if direction else ''}"
                warnings.warn(f"{where}'s initial state(s) {', '.join(learned)} are not zero; the PyTorch "
                              "module starts from zeros unless they are passed to it", UserWarning, stacklevel=2)
    return module
