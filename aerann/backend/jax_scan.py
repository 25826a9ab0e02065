"""aerann's JAX implementation of Aesara's ``Scan`` op.

Aesara 2.9.4 ships a JAX conversion for ``Scan`` that is written against an
older Scan API and never handled mit_mot outputs, so neither a scan nor its
gradient (a backward scan with mit_mot outputs) runs under ``mode="JAX"``.
:func:`register` replaces it with :func:`jax_funcify_scan`, which runs the
op's inner graph (itself converted by ``jax_funcify``) inside
``jax.lax.scan`` and returns exactly the buffers ``Scan.perform`` returns.

Layout of a ``Scan`` node (``op.info`` says how many of each):

* outer inputs: ``n_steps``, sequences, mit_mot, mit_sot and sit_sot buffers,
  shared (untraced) initial values, nit_sot lengths, non-sequences;
* inner inputs: one slice per sequence, one per tap of each mit_mot, mit_sot
  and sit_sot, the shared values, the non-sequences;
* inner outputs: one per output tap of each mit_mot, then mit_sot, sit_sot,
  nit_sot and shared values;
* outer outputs: mit_mot, mit_sot, sit_sot, nit_sot buffers, shared values.

Sequence taps never reach the op: ``aesara.scan`` turns each tap into its
own shifted sequence.  A buffer of length ``S`` for an output that starts
with ``L`` initial values holds, after ``n`` steps, the last ``S`` of the
``L + n`` values in time order, padded with zeros when ``S > L + n`` (as
truncated gradients leave it).  A mit_mot buffer is read and written in
place: at step ``i`` tap ``t`` is entry ``i - min(input taps) + t``, and
the buffer must hold every entry the steps touch (Aesara's always do).
``truncate_gradient`` only matters when Aesara builds the gradient (the
backward scan already runs for the truncated number of steps), so it plays
no part here.
"""

import os
import warnings

import aesara

from aerann.backend import jax_ops
from aerann.backend.jax_ops import concrete_int, jax_dtype

_state = {"registered": False}


FLOAT64_UNAVAILABLE = "Explicitly requested dtype float64 requested in .* is not available"

# Scan steps per iteration of the compiled loop (``lax.scan``'s ``unroll``).
# Fewer iterations cost fewer loop round trips (on a GPU each checks its
# condition) for a somewhat longer compile. On an H200, 8 made the tutorial's
# SGD step 14% faster than 4 in one run (equal in another) and matched it at
# batch 64, while unrolling whole sequences was slower than both
# (docs/gpu.md); on the CPU the setting changes little.
# ``AERANN_JAX_SCAN_UNROLL`` changes it for later compiles.
DEFAULT_UNROLL = 8


def unroll() -> int:
    """Scan steps per loop iteration: ``AERANN_JAX_SCAN_UNROLL`` or :data:`DEFAULT_UNROLL`."""
    value = os.environ.get("AERANN_JAX_SCAN_UNROLL", "").strip()
    if not value:
        return DEFAULT_UNROLL
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"AERANN_JAX_SCAN_UNROLL must be a positive integer, not {value!r}")
    return int(value)


def register() -> None:
    """Make Aesara's JAX linker run ``Scan`` with :func:`jax_funcify_scan`.

    Also registers :mod:`aerann.backend.jax_ops` and turns on JAX's 64-bit mode when
    ``floatX`` is float64 (as Aesara does on import), since JAX would
    otherwise silently compute float64 graphs in float32.  In float32 (64-bit
    mode off) it silences JAX's warning about the float64 accumulators that
    Aesara's sums request: JAX accumulates in float32, which is what a
    float32 model asks for.  Idempotent.
    """
    import jax

    if aesara.config.floatX == "float64":
        jax.config.update("jax_enable_x64", True)
    warnings.filterwarnings("ignore", message=FLOAT64_UNAVAILABLE, category=UserWarning)
    if _state["registered"]:
        return
    # Importing the dispatch package registers Aesara's own (broken) Scan
    # conversion; registering ours afterwards replaces it.
    from aesara.link.jax.dispatch import jax_funcify
    from aesara.scan.op import Scan

    jax_ops.register()
    jax_funcify.register(Scan)(jax_funcify_scan)
    _state["registered"] = True


def _split(items, sizes):
    """Cut ``items`` into consecutive groups of ``sizes``, plus the rest."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(items[start : start + size]))
        start += size
    return groups + [list(items[start:])]


def _time_ordered_buffer(initial, produced, size):
    """The buffer ``Scan.perform`` returns for a mit_sot, sit_sot or nit_sot.

    ``initial`` holds the values before the first step (possibly none),
    ``produced`` those of the ``n`` steps; the buffer keeps the last ``size``
    of them, zero-padded at the end when it is longer.
    """
    import jax.numpy as jnp

    values = jnp.concatenate([initial, produced], axis=0)
    missing = size - values.shape[0]
    if missing > 0:
        padding = jnp.zeros((missing,) + values.shape[1:], dtype=values.dtype)
        return jnp.concatenate([values, padding], axis=0)
    return values[values.shape[0] - size :]


class _MitMotWindow:
    """A mit_mot buffer carried through ``lax.scan`` as a window that slides one entry per step.

    At step ``i`` tap ``t`` is entry ``i + t - lo`` (``lo``: the smallest
    input tap), so a step touches entries ``i`` to ``i + hi - lo`` (``hi``:
    the largest input or output tap).  Those entries are the window, a tuple
    read and written at constant positions; after each step its first entry,
    which no later step touches, leaves as a ``lax.scan`` output and the
    buffer's next entry enters.  This is what ``Scan.perform`` does in place,
    without the gather and scatter that moving positions in a carried buffer
    would cost every step.
    """

    def __init__(self, buffer, in_taps, out_taps, n):
        import jax.numpy as jnp

        self.in_taps, self.out_taps = list(in_taps), list(out_taps)
        self.lo = min(self.in_taps)
        self.size = buffer.shape[0]
        width = max(self.in_taps + self.out_taps) - self.lo + 1
        if min(self.out_taps) < self.lo or n - 1 + width > self.size:
            raise NotImplementedError(
                f"aerann's JAX Scan: a mit_mot buffer of {self.size} entries does not hold {n} steps "
                f"with taps {self.in_taps} -> {self.out_taps} (Scan.perform would wrap around it)"
            )
        self.buffer = buffer
        self.initial = tuple(buffer[k] for k in range(width))
        # Entry width + i enters after step i; past the buffer's end (never touched) it is zeros.
        entering = buffer[width : width + n]
        missing = n - entering.shape[0]
        if missing:
            entering = jnp.concatenate([entering, jnp.zeros((missing,) + buffer.shape[1:], buffer.dtype)])
        self.entering = entering

    def read(self, window):
        """The inner inputs of this step's input taps."""
        return [window[tap - self.lo] for tap in self.in_taps]

    def write(self, window, outputs):
        """``window`` with this step's output taps, taken from the iterator ``outputs``."""
        import jax.numpy as jnp

        window = list(window)
        for tap in self.out_taps:
            window[tap - self.lo] = jnp.asarray(next(outputs), self.buffer.dtype)
        return tuple(window)

    def buffer_after(self, left, window):
        """The whole buffer after the last step: the entries that left, the final window, the rest."""
        import jax.numpy as jnp

        rest = self.buffer[left.shape[0] + len(window) :]
        return jnp.concatenate([left, jnp.stack(window), rest], axis=0)[: self.size]


def jax_funcify_scan(op, node=None, **kwargs):
    """Convert a ``Scan`` node into a JAX function built on ``jax.lax.scan``.

    The carry of ``lax.scan`` holds a :class:`_MitMotWindow` per mit_mot, a
    window of the last ``L`` values of each mit_sot/sit_sot, and the shared
    values; sequences are scanned over and new mit_sot/sit_sot/nit_sot values
    (and the mit_mot entries leaving their windows) are stacked as
    ``lax.scan`` outputs.  Every index is a constant: no gather or scatter
    runs inside the loop.
    """
    import jax
    import jax.numpy as jnp
    from aesara.link.jax.dispatch import jax_funcify

    info = op.info
    if info.as_while:
        raise NotImplementedError(
            "aerann's JAX Scan does not support scans with a stopping condition "
            "(as_while / until): their outputs have a length only known at run time, "
            "which XLA cannot compile. Use a fixed number of steps with a mask."
        )
    state_taps = [list(taps) for taps in info.mit_sot_in_slices + info.sit_sot_in_slices]
    if any(tap >= 0 for taps in state_taps for tap in taps):
        raise NotImplementedError("aerann's JAX Scan: mit_sot/sit_sot taps must be negative")
    window_lengths = [-min(taps) for taps in state_taps]
    mit_mot_taps = list(zip(info.mit_mot_in_slices, info.mit_mot_out_slices))
    n_states = len(state_taps)
    inner_function = jax_funcify(op.fgraph, fgraph_name="scan_inner_graph")
    steps_per_iteration = unroll()

    def scan(n_steps, *outer):
        sequences, mit_mots, states, shared, nit_sot_sizes, non_sequences = _split(
            outer, [info.n_seqs, info.n_mit_mot, n_states, info.n_shared_outs, info.n_nit_sot]
        )
        n = concrete_int(n_steps, "number of scan steps")
        nit_sot_sizes = [concrete_int(size, "scan output length") for size in nit_sot_sizes]
        _, state_dtypes, nit_sot_dtypes, shared_dtypes = _split(
            [jax_dtype(out.type.dtype) for out in node.outputs], [info.n_mit_mot, n_states, info.n_nit_sot]
        )
        mit_mots = [
            _MitMotWindow(jnp.asarray(buffer), in_taps, out_taps, n)
            for buffer, (in_taps, out_taps) in zip(mit_mots, mit_mot_taps)
        ]
        states = [jnp.asarray(buffer) for buffer in states]

        def step(carry, slices):
            mit_mot_windows, windows, shared_values = carry
            entering, seq_slices = slices
            inner_inputs = list(seq_slices)
            for mit_mot, window in zip(mit_mots, mit_mot_windows):
                inner_inputs += mit_mot.read(window)
            for window, taps, length in zip(windows, state_taps, window_lengths):
                inner_inputs += [window[length + tap] for tap in taps]
            inner_inputs += list(shared_values) + list(non_sequences)

            outputs = iter(inner_function(*inner_inputs))
            written = [mit_mot.write(window, outputs) for mit_mot, window in zip(mit_mots, mit_mot_windows)]
            leaving = [window[0] for window in written]
            new_mit_mot_windows = [window[1:] + (value,) for window, value in zip(written, entering)]
            new_states = [jnp.asarray(next(outputs), dtype) for dtype in state_dtypes]
            new_windows = [window[1:] + (value,) for window, value in zip(windows, new_states)]
            nit_sots = [jnp.asarray(next(outputs), dtype) for dtype in nit_sot_dtypes]
            new_shared = [jnp.asarray(next(outputs), dtype) for dtype in shared_dtypes]
            return (new_mit_mot_windows, new_windows, new_shared), (leaving, new_states, nit_sots)

        initial_carry = (
            [mit_mot.initial for mit_mot in mit_mots],
            [
                tuple(buffer[k].astype(dtype) for k in range(length))
                for buffer, length, dtype in zip(states, window_lengths, state_dtypes)
            ],
            [jnp.asarray(value, dtype) for value, dtype in zip(shared, shared_dtypes)],
        )
        (final_mit_mot_windows, _, final_shared), (left, produced_states, produced_nit_sots) = jax.lax.scan(
            step,
            initial_carry,
            ([mit_mot.entering for mit_mot in mit_mots], [jnp.asarray(seq)[:n] for seq in sequences]),
            length=n,
            unroll=steps_per_iteration,
        )
        results = [
            mit_mot.buffer_after(values, window)
            for mit_mot, values, window in zip(mit_mots, left, final_mit_mot_windows)
        ]
        for buffer, length, produced in zip(states, window_lengths, produced_states):
            results.append(_time_ordered_buffer(buffer[:length].astype(produced.dtype), produced, buffer.shape[0]))
        for size, produced in zip(nit_sot_sizes, produced_nit_sots):
            results.append(_time_ordered_buffer(produced[:0], produced, size))
        results += final_shared
        return results[0] if len(results) == 1 else tuple(results)

    return scan
