"""Constant folding through each op's Python implementation, so that folding never runs gcc.

Aesara's graph rewrites replace every node whose inputs are all constants
by the constant it computes (``constant_folding``, in the canonicalize,
stabilize and specialize phases, and in the scan rewrites).  To compute
it, Aesara makes the node's thunk as a function's linker would: with the
op's C code, which on a machine whose compile cache lacks that op means a
gcc run, one after another, while the graph is being rewritten.  A
training step's graph folds dozens of such nodes (the arithmetic on sizes
that a scan's gradient builds, broadcast checks, reshapes of constants),
each a distinct C module that is run once and never again.

Here the node is computed by the op's ``perform``, its Python
implementation, which every Aesara op that folds has and which computes
the same value; an op without one is folded with its C code as before.
The constant that replaces the node is built as Aesara builds it: a
tensor's type takes the folded array's shape.
"""

from aesara.graph.basic import Constant
from aesara.graph.rewriting.basic import copy_stack_trace
from aesara.graph.utils import MethodNotDefined
from aesara.tensor.rewriting import basic as tensor_rewriting
from aesara.tensor.type import DenseTensorType, TensorType

_aesaras = tensor_rewriting.constant_folding.fn


def _values(node):
    """The outputs of ``node`` (whose inputs are constants) computed by its op's ``perform``; None when
    the op has no Python implementation."""
    storage = {variable: [variable.data] for variable in node.inputs}
    computed = {variable: [True] for variable in node.inputs}
    for output in node.outputs:
        storage[output], computed[output] = [None], [False]
    try:
        thunk = node.op.make_thunk(node, storage, computed, no_recycling=[], impl="py")
        thunk()
    except (MethodNotDefined, NotImplementedError):
        return None
    return [storage[output][0] for output in node.outputs]


def constant_folding(fgraph, node):
    """Aesara's ``constant_folding`` node rewrite, computing the node in Python."""
    if not node.op.do_constant_folding(fgraph, node):
        return False
    if not all(isinstance(variable, Constant) for variable in node.inputs):
        return False
    values = _values(node)
    if values is None:
        return _aesaras(fgraph, node)
    constants = []
    for output, value in zip(node.outputs, values):
        if isinstance(output.type, DenseTensorType):
            constant_type = TensorType(output.type.dtype, shape=value.shape, name=output.type.name)
        else:
            constant_type = output.type
        constant = constant_type.make_constant(value)
        copy_stack_trace(output, constant)
        constants.append(constant)
    return constants


def install():
    """Make every constant-folding rewrite of Aesara's (the same rewrite object) fold in Python."""
    tensor_rewriting.constant_folding.fn = constant_folding
