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

Here the shape's ancestry is cut at every tensor whose shape is read (the
input of a ``Shape`` or ``Shape_i``), which becomes an input of the small
graph, so the static size of ``x.shape[i]`` is what ``x``'s type says; the
arithmetic on sizes and the constants are folded as before.  Where Aesara
would also have derived a size from the node that computes ``x`` (a scan's
output whose type leaves a size open), this leaves it open: the result's
type is then less specific, never different.  Static sizes only inform
types; no value is computed from them.
"""

import aesara.tensor as at
import aesara.tensor.basic as tensor_basic
from aesara.graph.basic import Constant
from aesara.graph.fg import FunctionGraph
from aesara.graph.rewriting.utils import rewrite_graph
from aesara.tensor.rewriting.basic import topo_constant_folding
from aesara.tensor.rewriting.shape import ShapeFeature
from aesara.tensor.shape import Shape, Shape_i
from aesara.tensor.type import integer_dtypes

_aesaras = tensor_basic.infer_static_shape


def shape_inputs(sizes):
    """The roots of the size graphs ``sizes``, reading through no Shape or Shape_i: what they are computed from."""
    seen, roots, pending = set(), [], list(sizes)
    while pending:
        variable = pending.pop()
        if variable in seen:
            continue
        seen.add(variable)
        if variable.owner is None:
            roots.append(variable)
        elif isinstance(variable.owner.op, (Shape, Shape_i)):
            measured = variable.owner.inputs[0]
            if measured not in seen:
                seen.add(measured)
                roots.append(measured)
        else:
            pending.extend(variable.owner.inputs)
    return [root for root in roots if not isinstance(root, Constant)]


def infer_static_shape(shape):
    """``(sizes, static_sizes)`` as Aesara's ``infer_static_shape`` returns them: the validated
    symbolic sizes, and each one's value where it folds to a constant, else None."""
    sizes = [at.as_tensor_variable(size, ndim=0) for size in shape]
    for size in sizes:
        if size.type.dtype not in integer_dtypes:
            raise TypeError(f"Shapes must be scalar integers; got {size}")
    graph = FunctionGraph(inputs=shape_inputs(sizes), outputs=sizes, features=[ShapeFeature()], clone=True)
    folded = rewrite_graph(graph, custom_rewrite=topo_constant_folding).outputs
    return sizes, tuple(size.data.item() if isinstance(size, Constant) else None for size in folded)


def install():
    """Make Aesara's allocations (``Alloc``, ``AllocEmpty``, ``BroadcastTo``) use :func:`infer_static_shape`."""
    tensor_basic.infer_static_shape = infer_static_shape
