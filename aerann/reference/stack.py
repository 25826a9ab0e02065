"""NumPy reference of a language model on a stack of units: loss and hand-written BPTT.

The model is aerann's LanguageModel: ``embedding[X]`` feeds layer 0, each
layer feeds the next with its first state, and a softmax output layer
(``output.W``, ``output.b``) predicts Y at every step.  Time-major: X, Y, mask
are (T, B).  At a padded step (mask 0) every state keeps its previous value,
and the loss is the cross-entropy summed over the steps whose mask is 1.

Truncation is Aesara scan's ``truncate_gradient``, which the driver puts on
every layer's scan (checked against ``aesara.grad`` on a one-layer tanh scan).
With ``truncate_gradient = k`` and k < T (T the padded length), the backward
scan of each layer runs over the last k steps, t = T-k .. T-1, only:

- the gradient reaching a layer's outputs at steps t < T-k is dropped (from
  the loss or from the layer above alike), so nothing flows back through
  those steps;
- the layer's state at step T-k-1 acts as a constant: its initial states
  (h0, c0) get a zero gradient, and the parameters get contributions from
  steps T-k .. T-1 only (step T-k with the true previous state);
- the layer's inputs at steps t < T-k get a zero gradient, so an embedding row
  used only there gets none;
- the output layer (``output.W``, ``output.b``) is outside the scans and gets
  the error of every step.

Equivalently: the gradient of the loss in which the forward pass of every
layer at steps t < T-k uses frozen copies of the parameters and the
embedding (the output layer always the live ones).  With k >= T or k = -1
the gradients are those of full BPTT.
"""

import numpy as np

from aerann import units


INITIALISATION_OPTIONS = ("forget_bias", "recurrent_init")  # they change the starting values, not the equations


def _parse(layers):
    """The reference of each layer of LanguageModel layer specs, with clear errors."""
    if isinstance(layers, (str, bytes)) or not layers:
        raise ValueError("layers must be a non-empty list like [('gru', 4), ('lstm', 3)]")
    parsed = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
            raise ValueError(f"layer {i}: expected (unit_name, n_out) or (unit_name, n_out, kwargs), got {spec!r}")
        name, kwargs = spec[0], (dict(spec[2]) if len(spec) == 3 else {})
        reference = units.reference(name)
        if reference is None:
            raise ValueError(f"layer {i}: no NumPy reference for unit {name!r} (have {', '.join(units.references())})")
        for option in INITIALISATION_OPTIONS:
            kwargs.pop(option, None)
        try:
            parsed.append(reference(**kwargs))
        except TypeError:
            raise ValueError(f"layer {i}: the reference {name} unit takes no options {sorted(kwargs)}") from None
    return parsed


def parameter_shapes(vocab_size, embedding_dim, layers):
    """Full parameter name -> shape of a LanguageModel with these sizes and layer specs."""
    shapes = {"embedding": (vocab_size, embedding_dim)}
    n_in = embedding_dim
    for i, (unit, (_, n_out, *_)) in enumerate(zip(_parse(layers), layers)):
        for param, shape in unit.shapes(n_in, n_out).items():
            shapes[f"layer{i}.{param}"] = shape
        n_in = n_out
    shapes["output.W"] = (n_in, vocab_size)
    shapes["output.b"] = (vocab_size,)
    return shapes


def _check_inputs(X, Y, mask, params, spec):
    X, Y = np.asarray(X), np.asarray(Y)
    mask = np.asarray(mask, dtype=np.float64)
    if X.ndim != 2 or X.shape != Y.shape or X.shape != mask.shape or X.shape[0] == 0:
        raise ValueError(
            f"X, Y and mask must be (T, B) arrays of one shape with T >= 1, got {X.shape}, {Y.shape}, {mask.shape}"
        )
    if not (np.issubdtype(X.dtype, np.integer) and np.issubdtype(Y.dtype, np.integer)):
        raise TypeError(f"X and Y must hold integer ids, got {X.dtype} and {Y.dtype}")
    embedding = params.get("embedding")
    if embedding is None:
        raise ValueError("params lacks 'embedding'")
    vocab_size = embedding.shape[0]
    for name, ids in (("X", X), ("Y", Y)):
        if ids.min() < 0 or ids.max() >= vocab_size:
            raise ValueError(f"{name} holds ids outside [0, {vocab_size})")
    needed = {"output.W", "output.b"}
    for i, unit in enumerate(spec):
        needed.update(f"layer{i}.{param}" for param in unit.shapes(1, 1))
    missing = sorted(needed - set(params))
    if missing:
        raise ValueError(f"params lacks {', '.join(missing)}")
    return X, Y, mask


def _layer_params(params, i):
    prefix = f"layer{i}."
    return {name[len(prefix):]: np.asarray(v, np.float64) for name, v in params.items() if name.startswith(prefix)}


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _forward_layer(unit, p, inputs, mask, recurrent_mask=None):
    """Run one layer (with its recurrent dropout mask); returns its state sequences and every step's cache."""
    T, B, _ = inputs.shape
    states = [np.tile(p[f"{s}0"], (B, 1)) for s in unit.states]
    outputs = [np.zeros((T, *state.shape)) for state in states]
    caches = []
    for t in range(T):
        new, cache = unit.forward(p, inputs[t], *states, **({} if recurrent_mask is None else {"keep": recurrent_mask}))
        keep = mask[t][:, None]
        states = [keep * n + (1 - keep) * s for n, s in zip(new, states)]
        for out, s in zip(outputs, states):
            out[t] = s
        caches.append(cache)
    return outputs, caches


def _backward_layer(unit, p, caches, d_outputs, mask, first):
    """BPTT through one layer over steps first .. T-1, given the gradient of its output sequence.

    Returns the gradient of its input sequence (zero before ``first``) and of its parameters.
    """
    T = len(caches)
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    d_inputs = None
    carry = [np.zeros_like(d_outputs[0]) for _ in unit.states]
    for t in range(T - 1, first - 1, -1):
        d_states = [carry[0] + d_outputs[t]] + carry[1:]
        keep = mask[t][:, None]
        dx, d_prev, dparams = unit.backward(p, caches[t], *[keep * d for d in d_states])
        carry = [(1 - keep) * d + dp for d, dp in zip(d_states, d_prev)]
        for name, value in dparams.items():
            grads[name] += value
        if d_inputs is None:
            d_inputs = np.zeros((T, *dx.shape))
        d_inputs[t] = dx
    if first == 0:
        for state, d in zip(unit.states, carry):
            grads[f"{state}0"] += d.sum(axis=0)
    return d_inputs, grads


def loss_and_gradients(X, Y, mask, params, layers, truncate_gradient=-1, input_masks=None, recurrent_masks=None):
    """Summed masked cross-entropy and its gradient for every parameter (full name -> array).

    ``params`` uses the LanguageModel's names ("embedding", "layer0.Wx", ...,
    "output.W", "output.b"); ``layers`` its layer specs (n_out is read from
    the parameters).  ``truncate_gradient`` as in the module docstring.
    Dropout with fixed masks: ``input_masks`` (one per layer, None or
    (T, B, n_in)) multiply each layer's input, ``recurrent_masks`` (None or
    (B, n_out)) each layer's ``h`` where it enters the recurrent products.
    """
    spec = _parse(layers)
    truncate_gradient = int(truncate_gradient)
    if truncate_gradient == 0 or truncate_gradient < -1:
        raise ValueError(f"truncate_gradient must be -1 (full BPTT) or a positive number of steps: {truncate_gradient}")
    X, Y, mask = _check_inputs(X, Y, mask, params, spec)
    T, B = Y.shape
    first = 0 if truncate_gradient == -1 or truncate_gradient >= T else T - truncate_gradient

    input_masks = [None] * len(spec) if input_masks is None else list(input_masks)
    recurrent_masks = [None] * len(spec) if recurrent_masks is None else list(recurrent_masks)
    inputs = np.asarray(params["embedding"], dtype=np.float64)[X]
    caches = []
    for i, unit in enumerate(spec):
        if input_masks[i] is not None:
            inputs = inputs * input_masks[i]
        outputs, layer_caches = _forward_layer(unit, _layer_params(params, i), inputs, mask, recurrent_masks[i])
        caches.append(layer_caches)
        inputs = outputs[0]
    top = inputs
    W_out = np.asarray(params["output.W"], dtype=np.float64)
    logp = _log_softmax(top @ W_out + params["output.b"])
    steps, rows = np.arange(T)[:, None], np.arange(B)[None, :]
    loss = -np.sum(mask * logp[steps, rows, Y])

    d_logits = np.exp(logp)
    d_logits[steps, rows, Y] -= 1.0
    d_logits *= mask[:, :, None]
    grads = {
        "output.W": np.einsum("tbi,tbj->ij", top, d_logits),
        "output.b": d_logits.sum(axis=(0, 1)),
    }
    d_top = d_logits @ W_out.T
    for i in range(len(spec) - 1, -1, -1):
        d_top, layer_grads = _backward_layer(spec[i], _layer_params(params, i), caches[i], d_top, mask, first)
        if input_masks[i] is not None:
            d_top = d_top * input_masks[i]
        for param_name, value in layer_grads.items():
            grads[f"layer{i}.{param_name}"] = value
    d_embedding = np.zeros(np.shape(params["embedding"]))
    np.add.at(d_embedding, X, d_top)
    grads["embedding"] = d_embedding
    return float(loss), grads
