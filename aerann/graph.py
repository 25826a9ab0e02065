"""The one scan driver: runs any stack of recurrent units over a batch of sequences.

Time-major throughout: inputs are (T, B, n_in), masks (T, B) with 1 for real
steps and 0 for padding, every layer's states (T, B, n_out).  Each layer is
one ``aesara.scan``; with full BPTT the unit's
:meth:`~aerann.RecurrentUnit.input_projection` runs once over the whole
sequence before it, so only the recurrent part of a step is inside the
loop.  Initial states (the units' learnable ``h0``, ``c0``, each (n_out,))
are broadcast over the batch.

At a padded step every state keeps its previous value
(``s_t = m_t * step(...) + (1 - m_t) * s_{t-1}``), so a sequence's last real
state is also its state at step T - 1, and a loss multiplied by the mask gets
nothing from padded steps, nor do the gradients.

``truncate_gradient=k`` (k > 0) is scan's own: gradients flow back through
the last k steps of the (padded) sequence only; -1 is full BPTT.
``grad_clip=c`` clips the gradient flowing into each new state at every step
to [-c, c] (Lasagne's ``grad_clipping``); None (the default) leaves it alone.
"""

import numbers

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


def run_layer(unit, inputs, mask=None, truncate_gradient=-1, grad_clip=None, batch=None):
    """Run ``unit`` over ``inputs`` (T, B, n_in); returns its state sequences, each (T, B, n_out).

    ``batch`` is B as a symbolic size, ``inputs.shape[1]`` by default; a
    stack passes its first input's, so that a layer's initial states do not
    depend on the scan below it: shape inference and rewrites of an
    allocation then stop at the stack's input instead of walking the stack.
    """
    truncate_gradient = check_truncate_gradient(truncate_gradient)
    grad_clip = check_grad_clip(grad_clip)
    batch = inputs.shape[1] if batch is None else batch
    initial = [at.zeros((batch, h0.shape[0]), dtype=h0.dtype) + h0 for h0 in unit.initial_states()]
    count = len(initial)

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
            prev = rest
        else:
            m_t, prev = rest[0], rest[1:]
        new = _as_states(unit, unit_step(x_t, *prev), count)
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
        truncate_gradient=truncate_gradient,
        name=f"{unit.name}_scan",
    )
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def run_stack(units, inputs, mask=None, truncate_gradient=-1, grad_clip=None):
    """Run layers in order, each on the previous one's output (its first state); returns the top output."""
    batch = inputs.shape[1]
    for unit in units:
        inputs = run_layer(unit, inputs, mask, truncate_gradient, grad_clip, batch)[0]
    return inputs
