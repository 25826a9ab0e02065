"""Compiled functions kept on disk: a graph compiled once loads in seconds in every later process.

Building an Aesara function is mostly rewriting its graph (for a stacked
model's training step, tens of seconds); Aesara's own cache keeps only the
C modules, so every new process rewrites every graph again.  This cache
keeps the rewritten graph itself: the ``FunctionMaker`` of a compiled
function, pickled, with the inner functions of its scans.  A later process
that builds the same graph loads it and only links the C modules, which
Aesara's cache still holds.

The key is a SHA-256 of a canonical description of the graph as built,
before any rewrite, together with the function's inputs, outputs, updates
and givens, the caller's settings (for :func:`aerann.backend.compiler.function`, the
backend and the rewrites its mode leaves out and adds), the versions of Aesara, NumPy
and aerann, and every setting in ``aesara.config`` but the folders it keeps
files in:

- every node is its op and the positions of its inputs in the description;
  an op is its class and the values of its ``__props__`` (exactly what
  Aesara compares to decide that two ops are the same); a scan is its
  inner graph, described the same way, and the settings that ``Scan``
  compares;
- a variable is described by its type; a constant also by its value; a
  shared variable by the order it is met in, never by its value.

A graph with anything the description cannot name (an op without
``__props__``, a lambda, a shared variable with a default update) is
compiled as usual and not stored.  Shared variables are not stored either:
a loaded function reads and updates the shared variables of the graph that
asked for it, matched by that order.

Entries live beside Aesara's compile directory, in ``aerann-functions``
under ``aesara.config.base_compiledir``; ``AERANN_FUNCTION_CACHE=0``
turns the cache off.  Each backend (C, JAX) has its own entries.  An entry that fails to load is removed and the
function is compiled again.
"""

import copyreg
import hashlib
import io
import logging
import os
import pickle
import types
import zlib
from collections.abc import Mapping
from pathlib import Path

import aesara
import aesara.scalar.basic as aes
import numpy as np
from aesara.compile.mode import Mode
from aesara.compile.sharedvalue import SharedVariable
from aesara.graph.basic import Constant, Variable, io_toposort
from aesara.graph.rewriting.db import RewriteDatabaseQuery
from aesara.graph.utils import Scratchpad
from aesara.scan.op import Scan
from aesara.tensor.type_other import SliceType
from aesara.utils import Singleton

import aerann
from aerann.data.files import write_atomic

_log = logging.getLogger(__name__)
FORMAT = 3  # of an entry; part of every key
loaded = 0  # functions this process loaded instead of compiling


class Uncacheable(Exception):
    """The graph holds something the key cannot describe; it is compiled without the cache."""


def enabled() -> bool:
    return os.environ.get("AERANN_FUNCTION_CACHE", "1").strip().lower() not in ("0", "off", "false", "no")


def directory() -> Path:
    """Where entries are kept: one folder per Aesara compile directory (platform and Python)."""
    return Path(aesara.config.base_compiledir) / "aerann-functions" / Path(aesara.config.compiledir).name


# Aesara's equality where no __props__ are declared: the attributes it compares (none, for
# types of which all instances are equal).
_EQUALITY = {
    aes.ScalarOp.__eq__: ("output_types_preference",),
    aes.LogicalComparison.__eq__: ("output_types_preference", "bool"),
    Singleton.__eq__: (),
    SliceType.__eq__: (),
}


def compared_attributes(cls):
    """The attributes by which Aesara decides that two instances of ``cls`` are equal (its
    ``__props__``, when the class that defines ``__eq__`` declares them), or None when equality
    compares something else."""
    for klass in cls.__mro__:
        if "__eq__" in klass.__dict__:
            if "__props__" in klass.__dict__:
                return klass.__props__
            return _EQUALITY.get(klass.__dict__["__eq__"])
    return None


def keep_xla_programs() -> None:
    """Point JAX's own disk cache of compiled XLA programs into :func:`directory` (unless the
    environment chose a folder for it): a loaded JAX function is traced and jitted again, and its
    XLA programs then come from disk too.  All of them: JAX keeps by default only those that took
    over a second to compile, but a function's many small programs (a step's pieces around its
    scans, the copies to and from the device) add up to seconds in every new process."""
    import jax

    if enabled() and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(directory() / "xla"))
        if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


class _Description:
    """The canonical description of a graph; ``shared`` lists its shared variables in the order met."""

    def __init__(self):
        self.shared = []
        self._shared_index = {}

    def value(self, value):
        """A value of an op's or type's property, as nested tuples of builtins."""
        if value is None or isinstance(value, (bool, int, float, str, bytes)):
            return (type(value).__name__, repr(value))
        if isinstance(value, (tuple, list)):
            return (type(value).__name__, tuple(self.value(v) for v in value))
        if isinstance(value, Mapping):
            return ("mapping", tuple(sorted((repr(k), self.value(v)) for k, v in value.items())))
        if isinstance(value, (np.dtype, np.generic)):
            return (type(value).__name__, repr(value))
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise Uncacheable("an array of Python objects")
            return ("array", str(value.dtype), value.shape, hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest())
        if isinstance(value, slice):
            return ("slice", self.value(value.start), self.value(value.stop), self.value(value.step))
        if isinstance(value, Scan):
            return self.scan(value)
        attributes = compared_attributes(type(value))
        if attributes is not None:
            return (self.qualified(type(value)), tuple((a, self.value(getattr(value, a, None))) for a in attributes))
        if isinstance(value, np.ufunc):
            return ("ufunc", value.__name__)
        if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            return ("callable", self.qualified(value))
        raise Uncacheable(f"cannot describe {type(value).__name__} {value!r}")

    @staticmethod
    def qualified(thing) -> str:
        name = f"{thing.__module__}.{thing.__qualname__}"
        if "<" in name:  # a lambda or a function defined inside another: its name says too little
            raise Uncacheable(f"cannot describe {name}")
        return name

    def mode(self, mode):
        """A mode by its name, or by its linker's name and the rewrite query it was made from."""
        if mode is None or isinstance(mode, str):
            return self.value(mode)
        query = getattr(mode, "provided_optimizer", None)
        if (
            isinstance(mode, Mode)
            and isinstance(mode.provided_linker, str)
            and isinstance(query, RewriteDatabaseQuery)
            and not query.subquery
            and not query.extra_rewrites
        ):
            sets = (sorted(query.include), sorted(query.require), sorted(query.exclude))
            return ("mode", mode.provided_linker, self.value(sets), repr(query.position_cutoff))
        raise Uncacheable(f"cannot describe the mode {mode!r}")

    def scan(self, op):
        settings = (op.info, op.profile, op.truncate_gradient, op.name, op.allow_gc)
        return ("scan", repr(settings), self.mode(op.mode), self.graph(op.inner_inputs, op.inner_outputs))

    def graph(self, inputs, roots):
        """The description of the graph from ``inputs`` (described by position) to ``roots``."""
        numbers, entries = {}, []

        def number(variable):
            if variable not in numbers:
                if variable in inputs:
                    entry = ("input", inputs.index(variable), self.value(variable.type))
                elif isinstance(variable, SharedVariable):
                    if getattr(variable, "default_update", None) is not None:
                        raise Uncacheable(f"shared variable {variable} has a default update")
                    if variable not in self._shared_index:
                        self._shared_index[variable] = len(self.shared)
                        self.shared.append(variable)
                    entry = ("shared", self._shared_index[variable], self.value(variable.type))
                elif isinstance(variable, Constant):
                    entry = ("constant", self.value(variable.type), self.value(variable.data))
                elif variable.owner is None:
                    entry = ("free", self.value(variable.type))
                else:
                    raise AssertionError("a node's output is numbered with its node")
                numbers[variable] = len(entries)
                entries.append(entry)
            return numbers[variable]

        roots = list(roots)
        for node in io_toposort([], roots):
            sources = tuple(number(v) for v in node.inputs)
            op = self.scan(node.op) if isinstance(node.op, Scan) else self.value(node.op)
            entries.append(("node", op, sources, tuple(self.value(v.type) for v in node.outputs)))
            for position, output in enumerate(node.outputs):
                numbers[output] = (len(entries) - 1, position)
        return tuple(entries), tuple(number(v) for v in roots)


def _pairs(mapping):
    if mapping is None:
        return []
    return list(mapping.items()) if isinstance(mapping, Mapping) else [tuple(pair) for pair in mapping]


def describe(inputs, outputs, updates=None, givens=None, settings=()):
    """(key, shared variables) of the function ``inputs -> outputs``; raises :class:`Uncacheable`."""
    if any(not isinstance(v, Variable) for v in inputs):
        raise Uncacheable("inputs other than variables")
    single = isinstance(outputs, Variable)
    outputs = [outputs] if single else list(outputs)
    updates, givens = _pairs(updates), _pairs(givens)
    roots = outputs + [v for pair in updates + givens for v in pair]
    if any(not isinstance(v, Variable) for v in roots):
        raise Uncacheable("outputs, updates or givens other than variables")
    description = _Description()
    graph = description.graph(list(inputs), roots)
    config = tuple(
        (name, repr(getattr(aesara.config, name)))
        for name in sorted(aesara.config._config_var_dict)
        if "compiledir" not in name  # where things are kept, not what is compiled
    )
    shape = (single, len(outputs), len(updates), len(givens))  # which roots are outputs, updates, givens
    key = repr((FORMAT, aesara.__version__, np.__version__, aerann.__version__, config, shape, graph,
                description.value(tuple(settings))))
    return hashlib.sha256(key.encode()).hexdigest(), description.shared


def _tag_without_trace(tag_type, state):
    tag = tag_type.__new__(tag_type)
    tag.__dict__.update(state)
    return tag


def _reduce_tag(tag):
    return _tag_without_trace, (type(tag), {k: v for k, v in tag.__dict__.items() if k != "trace"})


def _shared_reference(kind, index):
    """Stands in the pickle for the caller's shared variable or container ``index``; the
    unpickler resolves it (see :meth:`_Unpickler.find_class`), so this is never called."""
    raise pickle.UnpicklingError("a shared-variable reference outside aerann's function cache")


def _subclasses(cls):
    found = {cls}
    for subclass in cls.__subclasses__():
        found |= _subclasses(subclass)
    return found


class _Pickler(pickle.Pickler):
    """Pickles a function's maker with its shared variables (and their containers) as references,
    and without the creation tracebacks that Aesara keeps on every variable.

    Both go through ``dispatch_table``, which the pickler consults by exact type in C, and not
    through ``persistent_id`` or ``reducer_override``, which it would call in Python for each
    of the hundreds of thousands of objects in a stacked model's maker.
    """

    def __init__(self, file, shared):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._references = {}
        for index, variable in enumerate(shared):
            self._references[id(variable)] = ("shared", index)
            self._references[id(variable.container)] = ("container", index)
        self.dispatch_table = copyreg.dispatch_table.copy()
        self.dispatch_table.update((tag_type, _reduce_tag) for tag_type in _subclasses(Scratchpad))
        for variable in shared:
            self.dispatch_table[type(variable)] = self.dispatch_table[type(variable.container)] = self._reduce_shared

    def _reduce_shared(self, obj):
        reference = self._references.get(id(obj))
        # another variable of a shared type (a clone holding one of the containers) by value
        return obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL) if reference is None else (_shared_reference, reference)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, shared):
        super().__init__(file)
        self._shared = shared

    def find_class(self, module, name):
        if module == __name__ and name == _shared_reference.__name__:
            return self._resolve
        return super().find_class(module, name)

    def _resolve(self, kind, index):
        return self._shared[index] if kind == "shared" else self._shared[index].container


def _shares_only_these(maker, shared):
    """Whether every shared variable the compiled function uses is one of ``shared`` (or a clone
    holding the same container): nothing would be stored by value."""
    containers = {id(v.container) for v in shared}
    used = [i.variable for i in maker.inputs if isinstance(i.variable, SharedVariable)]
    used += [v for v in maker.fgraph.inputs if isinstance(v, SharedVariable)]
    return all(id(v.container) in containers for v in used)


def store(key, function, shared):
    """Write ``function``'s maker under ``key`` (atomically; a failure only logs)."""
    if not _shares_only_these(function.maker, shared):
        return False
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, shared).dump(function.maker)
    except Exception as error:  # a function that cannot be pickled is simply not cached
        _log.debug("not caching %s: %s", key, error)
        return False
    path = directory() / f"{key}.pkl.z"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda temporary: temporary.write_bytes(zlib.compress(buffer.getvalue(), 1)))
        return True
    except OSError as error:
        _log.debug("not caching %s: %s", key, error)
        return False


def load(key, shared):
    """The function stored under ``key``, bound to ``shared``; None when there is none or it is unreadable."""
    path = directory() / f"{key}.pkl.z"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        maker = _Unpickler(io.BytesIO(zlib.decompress(data)), shared).load()
        function = maker.create([getattr(i, "value", None) for i in maker.inputs])
    except Exception as error:
        _log.warning("aerann: removing the unreadable compiled function %s (%s)", path, error)
        path.unlink(missing_ok=True)
        return None
    global loaded
    loaded += 1
    return function
