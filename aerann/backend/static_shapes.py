"""A faster ``infer_static_shape`` for Aesara 2.9.4: the same static sizes, without re-rewriting the model.

Every ``Alloc`` and ``AllocEmpty`` that Aesara builds (``at.zeros`` for
initial states, the buffers ``scan`` and its gradient allocate, and every
one that a rewrite creates) calls ``infer_static_shape`` on its symbolic
shape to learn which sizes are constants.  Aesara clones the shape's whole
ancestry into a new graph with a ``ShapeFeature`` and constant-folds it:
when a size is ``h.shape[1]`` of a scan's output, that ancestry is the whole
model below the scan, every scan's ``infer_shape`` included, and it is
rebuilt for every allocation, so a stacked model's training step spent a
large part of its compile time there, more with every layer.

Here the sizes are evaluated directly, in Python, from what is known
without data: constants, the static sizes of types (``x.shape[i]`` is what
``x``'s type says), and every op whose inputs are all known and which Aesara
would constant-fold, applied through its own ``perform``.  That is the
folding Aesara does, on a graph cut at every tensor whose shape is read,
without building a graph, a ``ShapeFeature`` or a C thunk for it; a checked
size (``Assert``) is known when the size is and its checks are known to
pass, as Aesara's canonicalization drops such checks.  Where
Aesara would also have derived a size from the node that computes ``x`` (a
scan's output whose type leaves a size open), simplified arithmetic that
does not fold (``n - n``), or folded an op that decides from the graph
around it (``Alloc``), this leaves it open: the result's type is
then less specific, never different.  Static sizes only inform types; no
value is computed from them.
"""

import aesara.tensor as at
import aesara.tensor.basic as tensor_basic
import numpy as np
from aesara.graph.basic import Constant
from aesara.raise_op import CheckAndRaise
from aesara.tensor.shape import Shape, Shape_i
from aesara.tensor.subtensor import Subtensor
from aesara.tensor.type import integer_dtypes

_aesaras = tensor_basic.infer_static_shape


def _folds(node) -> bool:
    """Whether Aesara's constant folding would compute ``node`` from constant inputs."""
    try:
        return bool(node.op.do_constant_folding(None, node))
    except Exception:  # an op that decides from the graph around it: left alone
        return False


def _reads_a_shape(node) -> bool:
    """Whether ``node`` takes one size out of a ``Shape``: ``x.shape[i]``."""
    source = node.inputs[0].owner
    return isinstance(node.op, Subtensor) and source is not None and isinstance(source.op, Shape)


def _needs(variable):
    """The variables whose values :func:`static_value` needs to find ``variable``'s, or None
    where it is left open (an op Aesara would not constant-fold, or would only by the graph
    around it)."""
    node = variable.owner
    if node is None or isinstance(variable, Constant) or isinstance(node.op, (Shape, Shape_i)):
        return []
    if _reads_a_shape(node):
        return node.inputs[1:]
    return node.inputs if isinstance(node.op, CheckAndRaise) or _folds(node) else None


def _evaluate(variable, known):
    """``variable``'s value from the known values of what it :func:`_needs` (None if unknown);
    ``variable`` is one whose value can be known."""
    node = variable.owner
    if isinstance(variable, Constant):
        return variable.data
    if node is None:
        return None
    if isinstance(node.op, (Shape_i, Shape)):
        shape = node.inputs[0].type.shape
        size = shape[node.op.i] if isinstance(node.op, Shape_i) else (None if None in shape else np.array(shape))
        return None if size is None else variable.type.filter(size)
    if _reads_a_shape(node):
        # one size of a shape: known when that size is, whatever the others are
        index = [known[i] for i in node.inputs[1:]]
        if len(node.op.idx_list) == 1 and len(index) == 1 and index[0] is not None and variable.ndim == 0:
            size = node.inputs[0].owner.inputs[0].type.shape[int(index[0])]
            return None if size is None else variable.type.filter(size)
        return None
    if isinstance(node.op, CheckAndRaise):
        # a checked size: known when it is and every check is known to pass (Aesara drops such
        # checks while canonicalizing); a check known to fail is left for the running graph
        conditions = [known[c] for c in node.inputs[1:]]
        passes = all(c is not None and np.ndim(c) == 0 and c != 0 for c in conditions)
        return known[node.inputs[0]] if passes else None
    inputs = [known[i] for i in node.inputs]
    if any(i is None for i in inputs):
        return None
    storage = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, inputs, storage)
    except Exception:  # what Aesara would not fold either (a failing check, say)
        return None
    for output, (result,) in zip(node.outputs, storage):
        known.setdefault(output, result)
    return storage[node.outputs.index(variable)][0]


def static_value(variable, known=None):
    """The value of ``variable``, a size or a computation on sizes, where it is known without
    data (see the module's docstring); None where it is not.  ``known`` (a dict) keeps the
    values found, for later calls on the same graph."""
    known = {} if known is None else known
    pending = [variable]
    while pending:  # depth first, without recursion: a size may be computed from a whole model
        current = pending[-1]
        if current in known:
            pending.pop()
            continue
        needed = _needs(current)
        if needed is None:  # left open
            pending.pop()
            known[current] = None
            continue
        missing = [i for i in needed if i not in known]
        if missing:
            pending.extend(missing)
        else:
            pending.pop()
            known[current] = _evaluate(current, known)
    return known[variable]


def infer_static_shape(shape):
    """``(sizes, static_sizes)`` as Aesara's ``infer_static_shape`` returns them: the validated
    symbolic sizes, and each one's value where it folds to a constant, else None."""
    sizes = [at.as_tensor_variable(size, ndim=0) for size in shape]
    for size in sizes:
        if size.type.dtype not in integer_dtypes:
            raise TypeError(f"Shapes must be scalar integers; got {size}")
    known = {}
    values = [static_value(size, known) for size in sizes]
    return sizes, tuple(None if value is None else np.asarray(value).item() for value in values)


def install():
    """Make Aesara's allocations (``Alloc``, ``AllocEmpty``, ``BroadcastTo``) use :func:`infer_static_shape`."""
    tensor_basic.infer_static_shape = infer_static_shape
