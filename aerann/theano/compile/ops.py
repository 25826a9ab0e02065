"""``theano.compile.ops``: Ops made from Python functions (``as_op``), views and copies, and the shape Ops.

The same objects as Aesara's; Theano kept the shape Ops here, Aesara keeps
them in ``aesara.tensor.shape``.
"""

from aesara.compile.ops import DeepCopyOp, FromFunctionOp, ViewOp, as_op, deep_copy_op, view_op
from aesara.tensor.shape import Shape_i, SpecifyShape, shape_i, specify_shape

from aerann.theano import unsupported

__all__ = [
    "DeepCopyOp",
    "FromFunctionOp",
    "Shape_i",
    "SpecifyShape",
    "ViewOp",
    "as_op",
    "deep_copy_op",
    "shape_i",
    "specify_shape",
    "view_op",
]

__getattr__ = unsupported.module_getattr("theano.compile.ops")
