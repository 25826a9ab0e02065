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
  same elements, so every number computed is the same.  The one case it is
  kept for is an index of a slice, ``x[a:b][i]`` (a scan's last state is
  ``buffer[1:][-1]``): merged, it costs a few scalar nodes, and Aesara's
  ``scan_save_mem`` then sees that only the last steps are read and keeps
  only those instead of every step of the sequence
  (:func:`local_subtensor_index_merge`).
"""

import contextlib
import os

import aesara
from aesara.compile import optdb
from aesara.compile.mode import JAX, Mode, get_default_mode
from aesara.graph.rewriting.basic import node_rewriter
from aesara.tensor.rewriting.subtensor import local_subtensor_merge
from aesara.tensor.subtensor import Subtensor

from aerann.backend import function_cache, own_threads, parallel_compiles, parameters

BACKENDS = ("c", "jax")
_state = {"backend": None}
SKIPPED_REWRITES = ("local_subtensor_merge",)
# The deprecated aesara.tensor.nnet registers these rewrites when something imports it (Aesara's
# compile cache does, unpickling the key of a module that used one of its Ops); they turn a
# softmax's log-likelihood into nnet Ops that have no JAX conversion.
JAX_SKIPPED_REWRITES = ("local_advanced_indexing_crossentropy_onehot", "local_advanced_indexing_crossentropy_onehot_grad",
                        "local_softmax_grad_to_crossentropy_with_softmax_grad", "local_softmax_with_bias",
                        "local_argmax_pushdown", "xent")
ADDED_REWRITES = "aerann"  # the tag of the rewrites aerann's modes add


@node_rewriter([Subtensor])
def local_subtensor_index_merge(fgraph, node):
    """Aesara's ``local_subtensor_merge`` where the outer subtensor only indexes: ``x[a:b][i]``
    becomes ``x[a + i]`` (for ``i >= 0``; counted from ``b`` for ``i < 0``)."""
    if any(isinstance(entry, slice) for entry in node.op.idx_list):
        return None
    return local_subtensor_merge.transform(fgraph, node)


for _phase in ("canonicalize", "specialize"):  # where Aesara runs local_subtensor_merge
    if local_subtensor_index_merge.__name__ not in optdb[_phase].__db__:
        optdb[_phase].register(local_subtensor_index_merge.__name__, local_subtensor_index_merge, ADDED_REWRITES)


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
    """The Aesara mode of the current backend, without :data:`SKIPPED_REWRITES` and with
    aerann's own rewrites."""
    if get_backend() == "jax":
        from aerann.backend import jax_scan

        jax_scan.register()
        function_cache.keep_xla_programs()
        return JAX.excluding(*SKIPPED_REWRITES, *JAX_SKIPPED_REWRITES).including(ADDED_REWRITES)
    return get_default_mode().excluding(*SKIPPED_REWRITES).including(ADDED_REWRITES)


def function(inputs, outputs, updates=None, givens=None, name=None, **kwargs):
    """Compile ``inputs -> outputs`` for the current backend.

    A graph compiled before for the same backend, in this process or any
    earlier one, is loaded from :mod:`aerann.backend.function_cache` instead of
    being rewritten again.  Parameters stay where the backend computes: a JAX
    function keeps them on its device between calls (see
    :mod:`aerann.backend.parameters`).
    """
    key = shared = None
    backend_mode = mode()
    if function_cache.enabled():
        try:
            # the rest of the mode is named by aesara.config, which the key holds
            settings = (get_backend(), SKIPPED_REWRITES, ADDED_REWRITES, sorted(kwargs.items()))
            key, shared = function_cache.describe(inputs, outputs, updates, givens, settings)
        except function_cache.Uncacheable:
            pass
    compiled = function_cache.load(key, shared) if key else None
    if compiled is None:
        with parallel_compiles.compiling_ahead():  # the new function's C modules, one gcc per core
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
    if get_backend() == "c":
        own_threads.for_own_threads(compiled)
    return parameters.place_shared_values(compiled, get_backend())
