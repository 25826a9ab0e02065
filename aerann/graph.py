"""The one scan driver: runs any stack of recurrent units over a batch of sequences.

Time-major throughout: inputs are (T, B, n_in), masks (T, B) with 1 for real
steps and 0 for padding, every layer's states (T, B, n_out).  Each layer is
one ``aesara.scan``; with full BPTT the unit's
:meth:`~aerann.RecurrentUnit.input_projection` runs once over the whole
sequence before it, so only the recurrent part of a step is inside the
loop.  Initial states are the units' learnable ``h0``, ``c0`` (each
(n_out,)) broadcast over the batch, or states the caller gives, each
(B, n_out): the final states of a previous chunk of the same sequences, for
instance.

At a padded step every state keeps its previous value
(``s_t = m_t * step(...) + (1 - m_t) * s_{t-1}``), so a sequence's final
state (its state after its last real step) is also its state at step T - 1,
and a loss multiplied by the mask gets nothing from padded steps, nor do the
gradients.

``backwards=True`` runs a layer from step T - 1 down to step 0 (Lasagne's
name) and gives its states back in the inputs' order: the state at step t
has seen steps t .. T - 1.  Because padded steps keep the state, a
right-padded sequence's padding is passed first, leaving the initial state
untouched, and its real steps are processed last to first; its final state
is the one at step 0.

``truncate_gradient=k`` (k > 0) is scan's own: gradients flow back through
the last k steps the layer processes (of the padded sequence) only; -1 is
full BPTT.
``grad_clip=c`` clips the gradient flowing into each new state at every step
to [-c, c] (Lasagne's ``grad_clipping``); None (the default) leaves it alone.

Dropout masks are inputs, drawn by the caller (the training loop draws new
ones for every step; a test passes fixed ones): ``input_masks`` multiply
each layer's input sequence (T, B, n_in) elementwise, and
``recurrent_masks`` each layer's :attr:`~aerann.RecurrentUnit.recurrent_inputs`
as they enter the recurrent products, one (B, n_out) mask per sequence used
at every step (variational dropout, Gal and Ghahramani 2016).  Inverted
dropout: a mask holds 0 or 1 / (1 - p), so nothing changes at test time.
"""

import numbers
from typing import NamedTuple

import aesara
import aesara.tensor as at
from aesara.gradient import grad_clip as clip_gradient


def check_truncate_gradient(value) -> int:
    """``value`` as scan's truncate_gradient: -1 (full BPTT) or a positive number of steps."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (value == -1 or value > 0):
        raise ValueError(f"truncate_gradient must be -1 (full BPTT) or a positive number of steps, got {value!r}")
    return int(value)


def check_grad_clip(value):
    """``value`` as a positive float, or None (no clipping)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"grad_clip must be a positive number or None, got {value!r}")
    return float(value)


def _as_states(unit, new, count):
    new = list(new) if isinstance(new, (list, tuple)) else [new]
    if len(new) != count:
        raise ValueError(f"{type(unit).__name__}.step returned {len(new)} states, expected {count} ({unit.states})")
    return new


def step_layer(unit, x_t, states):
    """One step of ``unit`` outside any scan: its new states from the input ``x_t`` (B, n_in) and ``states``."""
    return _as_states(unit, unit.step(x_t, *states), len(unit.states))


class LayerStates(NamedTuple):
    """What one layer computes: its state sequences, each (T, B, n_out), and its final states, each (B, n_out)."""

    sequences: list
    final: list


class StackStates(NamedTuple):
    """What a stack computes: the top layer's output (T, B, n_out) and every layer's final states."""

    output: object
    final: list


def check_initial_states(unit, initial):
    """``initial`` as a list of symbolic (B, n_out) states for ``unit``, one per name in ``unit.states``."""
    initial = list(initial) if isinstance(initial, (list, tuple)) else [initial]
    if len(initial) != len(unit.states):
        raise ValueError(
            f"{unit.name} takes {len(unit.states)} initial state(s) {unit.states}, got {len(initial)}"
        )
    states = []
    for name, state, h0 in zip(unit.states, initial, unit.initial_states()):
        state = at.as_tensor_variable(state)
        if state.ndim != 2:
            raise ValueError(f"the initial state {name} of {unit.name} must be a matrix (batch, {unit.n_out}), "
                             f"got {state.ndim} dimension(s)")
        if state.type.shape[1] is not None and state.type.shape[1] != unit.n_out:
            raise ValueError(f"the initial state {name} of {unit.name} must have {unit.n_out} columns, "
                             f"got {state.type.shape[1]}")
        if state.dtype != h0.dtype:
            raise ValueError(f"the initial state {name} of {unit.name} must be {h0.dtype}, got {state.dtype}")
        states.append(state)
    return states


def check_recurrent_masks(unit, masks):
    """``masks`` as one symbolic (B, n_out) mask per name in ``unit.recurrent_inputs``, or None."""
    if masks is None:
        return None
    if not getattr(unit, "recurrent_inputs", ()):
        raise ValueError(f"recurrent dropout needs to know where {unit.name}'s state enters its recurrent "
                         f"products, and {type(unit).__name__} does not say: it lists no recurrent_inputs "
                         "(see the plugin guide, docs/plugins.md)")
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    if len(masks) != len(unit.recurrent_inputs):
        raise ValueError(f"{unit.name} takes {len(unit.recurrent_inputs)} recurrent mask(s), got {len(masks)}")
    return [at.as_tensor_variable(m) for m in masks]


def scan_layer(unit, inputs, mask=None, truncate_gradient=-1, grad_clip=None, batch=None, initial=None,
               backwards=False, recurrent_masks=None) -> LayerStates:
    """Run ``unit`` over ``inputs`` (T, B, n_in): its state sequences and final states.

    ``initial`` is one (B, n_out) state per name in ``unit.states``, or None
    for the unit's learnable initial states.  ``batch`` is B as a symbolic
    size, ``inputs.shape[1]`` by default; a stack passes its first input's,
    so that a layer's initial states do not depend on the scan below it:
    shape inference and rewrites of an allocation then stop at the stack's
    input instead of walking the stack.  ``recurrent_masks`` (one (B, n_out)
    mask per name in ``unit.recurrent_inputs``) is recurrent dropout.
    """
    truncate_gradient = check_truncate_gradient(truncate_gradient)
    grad_clip = check_grad_clip(grad_clip)
    recurrent_masks = check_recurrent_masks(unit, recurrent_masks)
    positions = [] if recurrent_masks is None else [unit.states.index(name) for name in unit.recurrent_inputs]
    if initial is None:
        batch = inputs.shape[1] if batch is None else batch
        initial = [at.zeros((batch, h0.shape[0]), dtype=h0.dtype) + h0 for h0 in unit.initial_states()]
    else:
        initial = check_initial_states(unit, initial)
    count = len(initial)
    if backwards:
        inputs = inputs[::-1]
        mask = None if mask is None else mask[::-1]

    # Aesara 2.9.4's scan_pushout_add rewrite mishandles the gradient of a
    # truncated scan over a hoisted projection (shape errors at run time), so
    # truncated layers keep the whole step inside the loop.
    hoist = truncate_gradient == -1
    unit_step = unit.projected_step if hoist else unit.step

    projection = unit.input_projection(inputs) if hoist else inputs
    several = isinstance(projection, (list, tuple))
    parts = list(projection) if several else [projection]

    def step(*args):
        x_t = tuple(args[: len(parts)]) if several else args[0]
        rest = args[len(parts) :]
        if mask is None:
            prev = rest[:count]
        else:
            m_t, prev = rest[0], rest[1 : count + 1]
        if recurrent_masks is None:
            new = unit_step(x_t, *prev)
        else:
            dropped = tuple(prev[i] * keep for i, keep in zip(positions, rest[-len(recurrent_masks) :]))
            new = unit_step(x_t, *prev, recurrent=dropped)
        new = _as_states(unit, new, count)
        if grad_clip is not None:
            new = [clip_gradient(state, -grad_clip, grad_clip) for state in new]
        if mask is not None:
            keep = m_t.dimshuffle(0, "x")
            new = [keep * state + (1 - keep) * old for state, old in zip(new, prev)]
        return new

    outputs, _ = aesara.scan(
        step,
        sequences=parts if mask is None else parts + [mask],
        outputs_info=initial,
        non_sequences=recurrent_masks or [],
        truncate_gradient=truncate_gradient,
        name=f"{unit.name}_scan",
    )
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    final = [states[-1] for states in outputs]
    return LayerStates([states[::-1] for states in outputs] if backwards else outputs, final)


def run_layer(unit, inputs, mask=None, truncate_gradient=-1, grad_clip=None, batch=None, initial=None,
              backwards=False):
    """Run ``unit`` over ``inputs`` (T, B, n_in); returns its state sequences, each (T, B, n_out)
    (:func:`scan_layer`, without the final states)."""
    return scan_layer(unit, inputs, mask, truncate_gradient, grad_clip, batch, initial, backwards).sequences


def _per_layer(values, count, what):
    if values is None:
        return [None] * count
    values = list(values)
    if len(values) != count:
        raise ValueError(f"{what} are given for {len(values)} layer(s), but the stack has {count}")
    return values


def scan_bidirectional(forward, backward, inputs, mask=None, truncate_gradient=-1, grad_clip=None, batch=None,
                       initial=None, recurrent_masks=None) -> LayerStates:
    """A bidirectional layer: ``forward`` runs over ``inputs`` from the first step, ``backward`` from
    the last, and the output at step t is their first states side by side, (T, B, n_fwd + n_bwd).

    The forward state at t has seen steps 0 .. t, the backward one steps
    t .. T - 1 (of each sequence's real steps: right padding reaches neither).
    ``initial`` and ``recurrent_masks`` are None or a pair, one entry per
    direction; the final states are the forward unit's then the backward
    unit's (its states after step 0).
    """
    initial = (None, None) if initial is None else initial
    recurrent_masks = (None, None) if recurrent_masks is None else recurrent_masks
    ahead = scan_layer(forward, inputs, mask, truncate_gradient, grad_clip, batch, initial[0],
                       recurrent_masks=recurrent_masks[0])
    behind = scan_layer(backward, inputs, mask, truncate_gradient, grad_clip, batch, initial[1], backwards=True,
                        recurrent_masks=recurrent_masks[1])
    both = at.concatenate([ahead.sequences[0], behind.sequences[0]], axis=2)
    return LayerStates([both], ahead.final + behind.final)


def scan_stack(units, inputs, mask=None, truncate_gradient=-1, grad_clip=None, initial=None,
               backwards=False, input_masks=None, recurrent_masks=None) -> StackStates:
    """Run layers in order, each on the previous one's output (its first state).

    A layer is a unit, or a pair of units (forward, backward): a
    bidirectional layer (:func:`scan_bidirectional`).  ``initial`` is None
    or one entry per layer: that layer's initial states (as for
    :func:`scan_layer`; a pair for a pair), or None for its learnable ones.
    ``input_masks`` and ``recurrent_masks`` are None or one entry per layer
    (None for a layer without that dropout): the mask (T, B, n_in) of the
    layer's input and the layer's recurrent masks (a pair for a pair).
    Returns the top layer's output and every layer's final states (a
    bidirectional layer's: the forward unit's, then the backward one's).
    """
    units = list(units)
    initial = _per_layer(initial, len(units), "initial states")
    input_masks = _per_layer(input_masks, len(units), "input masks")
    recurrent_masks = _per_layer(recurrent_masks, len(units), "recurrent masks")
    batch = inputs.shape[1]
    final = []
    for unit, states, input_mask, recurrent in zip(units, initial, input_masks, recurrent_masks):
        if input_mask is not None:
            inputs = inputs * input_mask
        if isinstance(unit, tuple):
            if backwards:
                raise ValueError("a bidirectional layer runs both ways already: it takes no backwards=True")
            layer = scan_bidirectional(*unit, inputs, mask, truncate_gradient, grad_clip, batch, states, recurrent)
        else:
            layer = scan_layer(unit, inputs, mask, truncate_gradient, grad_clip, batch, states, backwards, recurrent)
        inputs = layer.sequences[0]
        final.append(layer.final)
    return StackStates(inputs, final)


def run_stack(units, inputs, mask=None, truncate_gradient=-1, grad_clip=None, initial=None, backwards=False):
    """Run layers in order, each on the previous one's output (its first state); returns the top output."""
    return scan_stack(units, inputs, mask, truncate_gradient, grad_clip, initial, backwards).output
