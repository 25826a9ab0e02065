"""Aesara's MRG sampler (``mrg_uniform``, behind ``MRG_RandomStreams``) on the JAX backend, bit for bit.

Aesara converts no MRG Op to JAX, so a Theano script with
``MRG_RandomStreams`` dropout would not compile there.  This is the
conversion: the C code's MRG31k3p recurrence, step for step in 32-bit
integers (whose overflow wraps in XLA as it does in the C code), so that
the C and the JAX backend draw the same numbers from the same state and
leave the same state behind.

A draw of n numbers from s streams gives number i to stream i mod s, each
stream stepping once per number it gives: here ceil(n / s) steps of all
streams at once, in a ``lax.scan``, where a stream left without a number
in the last step keeps its state.  The draw's size must be known when JAX
traces the function (a constant, or a shape such as ``x.shape``).
"""

import math

import numpy as np

from aerann.backend.jax_ops import concrete_sizes

M1 = 2147483647  # 2 ** 31 - 1
M2 = 2147462579  # 2 ** 31 - 21069
MASK12, MASK13, MASK2, MULT2 = 511, 16777215, 65535, 21069
NORM = {"float32": np.float32(4.6566126e-10), "float64": np.float64(4.656612873077392578125e-10)}
_state = {"registered": False}


def _reduce(y, modulus):
    """The C code's one conditional subtraction (it also undoes an overflow into the sign bit)."""
    import jax.numpy as jnp

    return jnp.where((y < 0) | (y >= modulus), y - modulus, y)


def next_states(states):
    """One step of every stream: the new states (s, 6) and each stream's number, an int32 in [1, M1]."""
    import jax.numpy as jnp

    x11, x12, x13, x21, x22, x23 = (states[:, k] for k in range(6))
    y1 = ((x12 & MASK12) << 22) + (x12 >> 9) + ((x13 & MASK13) << 7) + (x13 >> 24)
    first = _reduce(_reduce(y1, M1) + x13, M1)
    y1 = _reduce(((x21 & MASK2) << 15) + MULT2 * (x21 >> 16), M2)
    y2 = _reduce(((x23 & MASK2) << 15) + MULT2 * (x23 >> 16), M2)
    second = _reduce(_reduce(y2 + x23, M2) + y1, M2)
    new_states = jnp.stack([first, x11, x12, second, x21, x22], axis=1)
    return new_states, jnp.where(first <= second, first - second + M1, first - second)


def jax_funcify_mrg_uniform(op, node=None, **kwargs):
    """The JAX function of one ``mrg_uniform`` node: (states, size) -> (new states, uniform draws)."""
    import jax
    import jax.numpy as jnp

    dtype = op.output_type.dtype
    if dtype not in NORM:
        raise NotImplementedError(f"MRG draws of {dtype} on the JAX backend (float32 and float64 only)")
    norm = NORM[dtype]

    def mrg_uniform(states, size):
        shape = concrete_sizes(size, "size of an MRG draw")
        count, streams = math.prod(shape), states.shape[0]
        columns = jnp.arange(streams)

        def step(current, k):
            new, numbers = next_states(current)
            active = k * streams + columns < count
            return jnp.where(active[:, None], new, current), numbers

        final, numbers = jax.lax.scan(step, jnp.asarray(states, dtype=jnp.int32), jnp.arange(-(-count // streams)))
        draws = numbers.reshape(-1)[:count].astype(dtype) * jnp.asarray(norm, dtype=dtype)
        return final, draws.reshape(shape)

    return mrg_uniform


def register() -> None:
    """Register the conversion with Aesara's JAX dispatcher (idempotent; imports JAX)."""
    if _state["registered"]:
        return
    import warnings

    from aesara.link.jax.dispatch import jax_funcify

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The module `aesara.sandbox.rng_mrg` is deprecated")
        from aesara.sandbox.rng_mrg import mrg_uniform

    jax_funcify.register(mrg_uniform)(jax_funcify_mrg_uniform)
    _state["registered"] = True
