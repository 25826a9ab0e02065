"""A function's bookkeeping nodes run Aesara's Python code, so no C module is built for them.

A compiled training step holds, beside its products and loops, dozens of
nodes whose work does not grow with the data: shape arithmetic (``Shape_i``,
``MakeVector``, the integer expressions of broadcasting checks and slice
bounds) and views (``DimShuffle``, ``Subtensor``, ``Reshape``, ``Split``,
``SpecifyShape``, ``Assert``).  On Aesara's C backend each distinct one is a
C module that gcc builds on a machine's first run, about 0.2 s of a core
each, and together they were about half of the modules of a language
model's first step.  Run once per call, each costs a few microseconds in
Python.

So, in the outer graph of a function linked by Aesara's VM, such a node is
given Aesara's Python implementation (``impl="py"``; for an ``Elemwise`` of
scalars, its scalar op's ``impl`` called directly) instead of its C code.
A node is one of them when

- every output is a view of an input (the op's ``view_map`` names them all
  and it destroys nothing), or
- it reads only a shape (``Shape``, ``Shape_i``), or
- every input is a scalar (0-d) and every output is an integer or boolean
  of at most one dimension (arithmetic on sizes and indices).

Both implementations compute the same values: integers are exact and views
copy nothing.  Floating-point scalars stay in C, where the compiler may
contract products and sums, so that no result changes by a rounding.  The
inner functions of loops (a scan's step, run once per time step) keep
their C code, since there a few microseconds per node add up: a scan marks
its inner graph ``loop_body`` when it is made or cloned, and the mark
travels with the graph when it is pickled.

``AERANN_PYTHON_THUNKS=0`` gives every node its C code again.
"""

import os
import threading

import numpy as np
from aesara.graph.op import _NoPythonOp
from aesara.link.c.op import COp
from aesara.link.vm import VMLinker
from aesara.scalar.basic import ScalarType
from aesara.scan.op import Scan
from aesara.tensor.elemwise import Elemwise
from aesara.tensor.shape import Shape, Shape_i
from aesara.tensor.type import TensorType

_aesaras_make_thunk = COp.make_thunk
_aesaras_scan_init = Scan.__init__
_aesaras_scan_clone = Scan.clone
_inner_make_all = {}
_linking = threading.local()  # .nodes: the Python nodes of the graph being linked


def enabled() -> bool:
    return os.environ.get("AERANN_PYTHON_THUNKS", "1").strip().lower() not in ("0", "off", "false", "no")


def _ndim(variable):
    return variable.type.ndim if isinstance(variable.type, TensorType) else 0 if isinstance(variable.type, ScalarType) else None


def _integral(variable) -> bool:
    dtype = getattr(variable.type, "dtype", "")
    return dtype == "bool" or dtype.startswith(("int", "uint"))


def size_free(node) -> bool:
    """Whether ``node``'s work does not grow with the data (see the module's rules)."""
    op = node.op
    if isinstance(op, _NoPythonOp):
        return False
    views = getattr(op, "view_map", {}) or {}
    if not getattr(op, "destroy_map", {}) and all(i in views for i in range(len(node.outputs))):
        return True
    if isinstance(op, (Shape, Shape_i)):
        return True
    return (
        all(_ndim(variable) == 0 for variable in node.inputs)
        and all(_integral(variable) and _ndim(variable) in (0, 1) for variable in node.outputs)
    )


def runs_in_python(node) -> bool:
    """Whether the function being linked gives ``node`` its Python implementation."""
    return node in getattr(_linking, "nodes", ())


def make_all(linker, *args, **kwargs):
    """The VM linker's ``make_all``, with the size-free nodes of a graph that is not a loop's
    body marked for Python (a scan's body is linked while the graph around it is)."""
    around = getattr(_linking, "nodes", frozenset())
    if enabled() and not getattr(linker.fgraph, "loop_body", False):
        _linking.nodes = frozenset(node for node in linker.fgraph.apply_nodes if size_free(node))
    else:
        _linking.nodes = frozenset()
    try:
        return _inner_make_all["make_all"](linker, *args, **kwargs)
    finally:
        _linking.nodes = around


def _scan_init(op, *args, **kwargs):
    _aesaras_scan_init(op, *args, **kwargs)
    op.fgraph.loop_body = True


def _scan_clone(op):
    clone = _aesaras_scan_clone(op)
    clone.fgraph.loop_body = True
    return clone


def scalar_elemwise_thunk(node, storage_map, compute_map):
    """A thunk computing an ``Elemwise`` of 0-d inputs with its scalar op's ``impl`` directly.

    Aesara's ``Elemwise.perform`` sends even 0-d values through a NumPy ufunc
    built from the scalar op, which takes about ten times as long as the
    arithmetic; the values are the scalar op's ``impl`` either way."""
    scalar = node.op.scalar_op.impl
    inputs = [storage_map[variable] for variable in node.inputs]
    outputs = [storage_map[variable] for variable in node.outputs]
    dtypes = [variable.type.dtype for variable in node.outputs]
    computed = [compute_map[variable] for variable in node.outputs]

    def thunk():
        values = scalar(*[cell[0] for cell in inputs])
        if len(outputs) == 1:
            values = (values,)
        for cell, value, dtype, done in zip(outputs, values, dtypes, computed):
            cell[0] = np.asarray(value, dtype=dtype)
            done[0] = True

    thunk.inputs, thunk.outputs, thunk.lazy = inputs, outputs, False
    return thunk


def make_thunk(op, node, storage_map, compute_map, no_recycling, impl=None):
    """Aesara's ``COp.make_thunk``, with Python's implementation for the nodes marked for it."""
    if impl is None and runs_in_python(node):
        if isinstance(op, Elemwise):
            return scalar_elemwise_thunk(node, storage_map, compute_map)
        impl = "py"
    return _aesaras_make_thunk(op, node, storage_map, compute_map, no_recycling, impl=impl)


def install():
    """Link the size-free nodes of every VM function's outer graph with their Python code
    (after :mod:`aerann.backend.parallel_compiles` is installed, whose builds skip them)."""
    if "make_all" not in _inner_make_all:
        _inner_make_all["make_all"] = VMLinker.make_all
    VMLinker.make_all = make_all
    COp.make_thunk = make_thunk
    Scan.__init__ = _scan_init
    Scan.clone = _scan_clone
