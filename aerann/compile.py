"""The one place that turns Aesara graphs into callables.

Every ``aesara.function`` in aerann goes through :func:`function`, so that the
backend (Aesara's C backend or its JAX backend) is chosen in one place:
``AERANN_BACKEND=c|jax`` in the environment or :func:`set_backend` in Python.

Both backends compile with Aesara's usual rewrites (the C backend in
whatever mode ``aesara.config.mode`` names) but for those in
:data:`SKIPPED_REWRITES`:

- ``local_subtensor_merge`` rewrites a slice of a slice, ``x[a:b][c:d]``,
  into one slice of ``x`` whose bounds are computed by a scalar graph that
  covers every sign of every bound and step (about a hundred nodes each).
  A scan's gradient slices its sequences and its outputs many times over
  (Aesara's ``scan`` itself returns ``buffer[1:]``), so that for a stacked
  model's training step this one rewrite nearly tripled the graph, and
  every later rewrite pass then worked through the added nodes: most of
  the time it took to build the function.  A slice of a slice is a view of
  a view on either backend, as cheap to run as one view, and it selects the
  same elements, so every number computed is the same.
"""

import contextlib
import os

import aesara
from aesara.compile.mode import JAX, Mode, get_default_mode

from aerann import function_cache, parameters

BACKENDS = ("c", "jax")
_state = {"backend": None}
SKIPPED_REWRITES = ("local_subtensor_merge",)


def _check(name: str) -> str:
    name = str(name).strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return name


def get_backend() -> str:
    """The backend new functions compile for (``AERANN_BACKEND``, default ``c``)."""
    if _state["backend"] is None:
        _state["backend"] = _check(os.environ.get("AERANN_BACKEND", "c") or "c")
    return _state["backend"]


def set_backend(name: str) -> None:
    """Compile every later function for ``name`` (``"c"`` or ``"jax"``)."""
    _state["backend"] = _check(name)


@contextlib.contextmanager
def backend(name: str):
    """Compile for ``name`` inside a ``with`` block, then return to the previous backend."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def mode() -> Mode:
    """The Aesara mode of the current backend, without :data:`SKIPPED_REWRITES`."""
    if get_backend() == "jax":
        from aerann import jax_scan

        jax_scan.register()
        function_cache.keep_xla_programs()
        return JAX.excluding(*SKIPPED_REWRITES)
    return get_default_mode().excluding(*SKIPPED_REWRITES)


def function(inputs, outputs, updates=None, givens=None, name=None, **kwargs):
    """Compile ``inputs -> outputs`` for the current backend.

    A graph compiled before for the same backend, in this process or any
    earlier one, is loaded from :mod:`aerann.function_cache` instead of
    being rewritten again.  Parameters stay where the backend computes: a JAX
    function keeps them on its device between calls (see
    :mod:`aerann.parameters`).
    """
    key = shared = None
    backend_mode = mode()
    if function_cache.enabled():
        try:
            # the rest of the mode is named by aesara.config, which the key holds
            settings = (get_backend(), SKIPPED_REWRITES, sorted(kwargs.items()))
            key, shared = function_cache.describe(inputs, outputs, updates, givens, settings)
        except function_cache.Uncacheable:
            pass
    compiled = function_cache.load(key, shared) if key else None
    if compiled is None:
        compiled = aesara.function(
            inputs,
            outputs,
            updates=updates,
            givens=givens,
            name=name,
            mode=backend_mode,
            on_unused_input="ignore",
            **kwargs,
        )
        if key:
            function_cache.store(key, compiled, shared)
    compiled.name = name
    return parameters.place_shared_values(compiled, get_backend())
