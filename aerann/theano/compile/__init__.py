"""``theano.compile``: ``function`` and ``shared`` with Theano's arguments, compiled by aerann's compile module.

Every function goes through :func:`aerann.backend.compiler.function`, so the
backend aerann compiles for (Aesara's C backend, or JAX with
``AERANN_BACKEND=jax`` or ``compiler.backend("jax")``) applies to Theano
code too, and graphs compiled before load from aerann's function cache.
Where Theano and that path differ, :func:`function` does what Theano did:

- an input that no output, update or given depends on raises
  ``UnusedInputError`` (``on_unused_input="raise"``, the default), warns
  (``"warn"``) or is accepted (``"ignore"``), as Theano checked;
- ``outputs=None`` is no outputs, a tuple of outputs is a list of them, and
  ``updates`` and ``givens`` may be any mapping or iterable of pairs (a
  ``zip``, a dict);
- on the JAX backend the results are NumPy arrays, as Theano's were, not
  JAX arrays;
- ``RandomStreams`` draws (NumPy's generators) compile for the C backend
  only: on the JAX backend such a function raises NotImplementedError
  (Aesara's JAX conversion has no binomial and would draw from a copy of
  the state, not the streams' own); ``MRG_RandomStreams`` draws the same
  numbers on both;
- powers by constants (``g ** 2``) are specialized before compiling, as
  Aesara's rewrites would, so that those rewrites do not stop on the static
  sizes Aesara learns meanwhile (:mod:`aerann.theano.compile.constant_powers`);
- ``mode`` is accepted and not used (the backend decides how a function is
  compiled); a mode that would change what is checked or reported
  (``DebugMode``, ``NanGuardMode``, a ``Mode`` object) gets a warning that
  it is not used.

:func:`shared` makes tensors aerann's :class:`~aerann.backend.parameters.Parameter`
(values stay on the JAX device between calls) with Theano's ``broadcastable``
and ``borrow``; other values (a ``RandomState``, a list) are Aesara's
generic shared variables.
"""

import warnings
from collections.abc import Mapping

import aesara
import numpy as np
from aesara.compile.function.types import UnusedInputError
from aesara.compile.io import In, Out
from aesara.compile.mode import Mode, get_mode
from aesara.compile.sharedvalue import SharedVariable
from aesara.graph.basic import Variable, ancestors
from aesara.tensor.random.type import RandomType
from aesara.tensor.type import TensorType

from aerann.backend import compiler
from aerann.backend.parameters import Parameter
from aerann.theano import unsupported
from aerann.theano.compile import constant_powers, ops

__all__ = ["In", "Mode", "Out", "SharedVariable", "UnusedInputError", "function", "get_mode", "ops", "shared"]

UNUSED_INPUT = (
    "theano.function was asked to create a function computing outputs given certain inputs, but the provided "
    "input variable at index {index} is not part of the computational graph needed to compute the outputs: "
    "{variable}.\nTo make this error into a warning, you can pass the parameter on_unused_input='warn' to "
    "theano.function. To disable it completely, use on_unused_input='ignore'."
)
MODES_WITHOUT_EFFECT = (None, "FAST_RUN", "FAST_COMPILE")  # the same numbers, however compiled


def _pairs(mapping):
    """``updates`` or ``givens`` as a list of pairs."""
    if mapping is None:
        return []
    if isinstance(mapping, Mapping):
        return list(mapping.items())
    return [tuple(pair) for pair in mapping]


def _variable(given):
    """The variable of an input (``In(x, value=...)`` or ``x``)."""
    return given.variable if isinstance(given, In) else given


def _check_unused_inputs(inputs, outputs, updates, givens, on_unused_input):
    """Theano's check that every input is needed: by an output, an update, or a given that is itself needed."""
    if on_unused_input is None:
        on_unused_input = aesara.config.on_unused_input
    if on_unused_input not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_unused_input must be 'raise', 'warn' or 'ignore', got {on_unused_input!r}")
    if on_unused_input == "ignore":
        return
    roots = [getattr(out, "variable", out) for out in outputs] + [value for _, value in updates]
    needed = set(ancestors([root for root in roots if isinstance(root, Variable)]))
    pending = list(givens)
    while True:
        reached = [(old, new) for old, new in pending if old in needed]
        if not reached:
            break
        pending = [pair for pair in pending if pair not in reached]
        needed.update(ancestors([new for _, new in reached if isinstance(new, Variable)]))
    for index, given in enumerate(inputs):
        variable = _variable(given)
        if variable not in needed:
            text = UNUSED_INPUT.format(index=index, variable=variable)
            if on_unused_input == "raise":
                raise UnusedInputError(text)
            warnings.warn(text, stacklevel=3)


def _specialize_constant_powers(outputs, updates, givens):
    """``outputs``, ``updates`` and ``givens`` with powers by constants specialized (see constant_powers)."""
    roots = constant_powers.specialize(
        [*outputs, *(value for _, value in updates), *(pair for given in givens for pair in given)]
    )
    outputs, roots = roots[: len(outputs)], roots[len(outputs):]
    updates = [(variable, value) for (variable, _), value in zip(updates, roots[: len(updates)])]
    rest = roots[len(updates):]
    return outputs, updates, list(zip(rest[0::2], rest[1::2]))


def _check_no_numpy_generators(outputs, updates, givens):
    """Refuse, on the JAX backend, a graph that draws from NumPy random states (RandomStreams)."""
    roots = [getattr(out, "variable", out) for out in outputs] + [v for pair in updates + givens for v in pair]
    for variable in ancestors([root for root in roots if isinstance(root, Variable)]):
        if isinstance(variable, SharedVariable) and isinstance(variable.type, RandomType):
            raise NotImplementedError(
                "theano.tensor.shared_randomstreams.RandomStreams draws run on aerann's C backend only; "
                "on the JAX backend use theano.sandbox.rng_mrg.MRG_RandomStreams, which draws the same "
                "numbers on both backends"
            )


class _NumPyResults:
    """Wraps a JAX function's VM so that the results it returns are NumPy arrays (Theano returned NumPy)."""

    def __init__(self, function):
        self.vm = function.vm
        self.returned = function.output_storage[: function.n_returned_outputs]

    def __call__(self, *args, **kwargs):
        results = self.vm(*args, **kwargs)
        if results is not None:
            count = len(self.returned)
            return [np.asarray(r) if i < count and r is not None else r for i, r in enumerate(results)]
        for container in self.returned:
            if container.storage[0] is not None and not isinstance(container.storage[0], np.ndarray):
                container.storage[0] = np.asarray(container.storage[0])
        return None

    def __getattr__(self, name):
        return getattr(self.vm, name)


def function(
    inputs,
    outputs=None,
    mode=None,
    updates=None,
    givens=None,
    no_default_updates=False,
    accept_inplace=False,
    name=None,
    rebuild_strict=True,
    allow_input_downcast=None,
    profile=None,
    on_unused_input=None,
):
    """Theano's ``theano.function``, compiled for aerann's current backend."""
    inputs = list(inputs)
    if outputs is None:
        outputs = []
    elif isinstance(outputs, tuple):
        outputs = list(outputs)
    updates, givens = _pairs(updates), _pairs(givens)
    listed = outputs if isinstance(outputs, list) else [outputs]
    _check_unused_inputs(inputs, listed, updates, givens, on_unused_input)
    listed, updates, givens = _specialize_constant_powers(listed, updates, givens)
    outputs = listed if isinstance(outputs, list) else listed[0]
    if not (mode is None or (isinstance(mode, str) and mode in MODES_WITHOUT_EFFECT)):
        warnings.warn(
            f"aerann.theano compiles every function for aerann's backend ({compiler.get_backend()}): "
            f"mode={mode!r} is not used",
            stacklevel=2,
        )
    options = {"allow_input_downcast": allow_input_downcast}
    if no_default_updates:
        options["no_default_updates"] = no_default_updates
    if accept_inplace:
        options["accept_inplace"] = accept_inplace
    if not rebuild_strict:
        options["rebuild_strict"] = rebuild_strict
    if profile:
        options["profile"] = profile
    on_jax = compiler.get_backend() == "jax"
    if on_jax:
        from aerann.theano.sandbox import jax_mrg

        _check_no_numpy_generators(listed, updates, givens)
        jax_mrg.register()
    compiled = compiler.function(inputs, outputs, updates=updates, givens=givens, name=name, **options)
    if on_jax:
        compiled.vm = _NumPyResults(compiled)
    return compiled


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None):
    """Theano's ``theano.shared``: a tensor (a NumPy array or number) or any other value, held between calls.

    ``borrow=True`` lets the variable use ``value``'s memory instead of a
    copy; ``broadcastable`` (one bool per dimension, all False by default)
    marks the dimensions of length 1 that broadcast.
    """
    if isinstance(value, (np.ndarray, np.number, bool, int, float, complex)):
        array = np.array(value, copy=not borrow)
        if array.dtype.kind in "biufc":
            if broadcastable is None:
                broadcastable = (False,) * array.ndim
            shape = tuple(1 if flag else None for flag in broadcastable)
            return Parameter(
                type=TensorType(array.dtype, shape=shape),
                value=array,
                strict=strict,
                allow_downcast=allow_downcast,
                name=name,
            )
    if broadcastable is not None:
        raise TypeError(f"broadcastable is for tensors; a shared {type(value).__name__} has no dimensions")
    return aesara.shared(value, name=name, strict=strict, allow_downcast=allow_downcast, borrow=borrow)


__getattr__ = unsupported.module_getattr("theano.compile")
