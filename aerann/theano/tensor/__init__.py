"""``theano.tensor``: Theano 1.0's tensor functions and typed variables, over Aesara.

Most names are Aesara's own objects: Aesara kept Theano's semantics for
them.  The rest are Theano's, where Aesara differs:

- ``inv``, ``abs_``, ``sqr``, ``true_div``, ``int_div``, ``floor_div``:
  Aesara deprecated these names (a warning on every use); here they are the
  same operations (``reciprocal``, ``abs``, ``square``, ``true_divide``,
  ``floor_divide``) without the warning;
- ``addbroadcast``, ``unbroadcast``, ``patternbroadcast``: gone from
  Aesara, which marks broadcastable dimensions as static length-1 shapes;
  here they set or clear those as Theano's did;
- ``flatten(x, ndim=1, outdim=None)`` takes Theano's old ``outdim`` too;
- ``wmatrix`` (an int16 matrix), which Aesara lacks;
- ``nnet``, ``shared_randomstreams`` and ``extra_ops``: Theano's submodules
  (see their own docstrings).

A name Theano had and this module lacks raises an AttributeError that
names it and Aesara's equivalent, if any (:mod:`aerann.theano.unsupported`).
"""

from aesara.gradient import Lop, Rop, grad, hessian, jacobian
from aesara.tensor import (
    TensorConstant,
    TensorType,
    TensorVariable,
    add,
    all,
    allclose,
    alloc,
    and_,
    angle,
    any,
    arange,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    argmax,
    argmin,
    argsort,
    as_tensor_variable,
    batched_dot,
    batched_tensordot,
    cast,
    ceil,
    clip,
    concatenate,
    conj,
    constant,
    cos,
    cosh,
    cumprod,
    cumsum,
    deg2rad,
    diag,
    dot,
    eq,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expm1,
    eye,
    fill,
    flatnonzero,
    floor,
    gamma,
    gammaln,
    ge,
    gt,
    horizontal_stack,
    identity_like,
    imag,
    inc_subtensor,
    invert,
    iround,
    isclose,
    isinf,
    isnan,
    join,
    largest,
    le,
    log,
    log1p,
    log2,
    log10,
    lt,
    max,
    max_and_argmax,
    maximum,
    mean,
    mgrid,
    min,
    minimum,
    mod,
    mul,
    neg,
    neq,
    nonzero,
    nonzero_values,
    ogrid,
    ones,
    ones_like,
    or_,
    outer,
    pow,
    prod,
    psi,
    rad2deg,
    real,
    repeat,
    reshape,
    roll,
    round,
    second,
    set_subtensor,
    sgn,
    shape,
    shape_padaxis,
    shape_padleft,
    shape_padright,
    sin,
    sinh,
    smallest,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    stacklists,
    std,
    sub,
    sum,
    switch,
    take,
    tan,
    tanh,
    tensor,
    tensordot,
    tile,
    transpose,
    var,
    vertical_stack,
    where,
    xor,
    zeros,
    zeros_like,
)
from aesara.tensor import flatten as _flatten
from aesara.tensor.elemwise import DimShuffle, Elemwise
from aesara.tensor.math import abs as _abs
from aesara.tensor.math import floor_divide, reciprocal, square, true_divide
from aesara.tensor.shape import specify_broadcastable
from aesara.tensor.shape import unbroadcast as _unbroadcast
from aesara.tensor.type import (
    bcol,
    bmatrix,
    brow,
    bscalar,
    btensor3,
    btensor4,
    btensor5,
    bvector,
    ccol,
    cmatrix,
    col,
    cols,
    crow,
    cscalar,
    ctensor3,
    ctensor4,
    ctensor5,
    cvector,
    dcol,
    dcols,
    dmatrices,
    dmatrix,
    drow,
    drows,
    dscalar,
    dscalars,
    dtensor3,
    dtensor4,
    dtensor5,
    dvector,
    dvectors,
    fcol,
    fcols,
    fmatrices,
    fmatrix,
    frow,
    frows,
    fscalar,
    fscalars,
    ftensor3,
    ftensor4,
    ftensor5,
    fvector,
    fvectors,
    icol,
    icols,
    imatrices,
    imatrix,
    irow,
    irows,
    iscalar,
    iscalars,
    itensor3,
    itensor4,
    itensor5,
    ivector,
    ivectors,
    lcol,
    lcols,
    lmatrices,
    lmatrix,
    lrow,
    lrows,
    lscalar,
    lscalars,
    ltensor3,
    ltensor4,
    ltensor5,
    lvector,
    lvectors,
    matrices,
    matrix,
    row,
    rows,
    scalar,
    scalars,
    tensor3,
    tensor4,
    tensor5,
    vector,
    vectors,
    wcol,
    wrow,
    wscalar,
    wtensor3,
    wtensor4,
    wtensor5,
    wvector,
    zcol,
    zmatrix,
    zrow,
    zscalar,
    ztensor3,
    ztensor4,
    ztensor5,
    zvector,
)

from aerann.theano import unsupported
from aerann.theano.tensor import extra_ops, nnet, shared_randomstreams

wmatrix = TensorType("int16", shape=(None, None))

# Theano's names for operations Aesara renamed (Aesara's old names warn on every use).
inv = reciprocal
abs_ = _abs
sqr = square
true_div = true_divide
int_div = floor_divide
floor_div = floor_divide


def flatten(x, ndim=None, outdim=None):
    """``x`` with its trailing dimensions merged so that ``ndim`` remain (default 1; ``outdim`` is Theano's
    older name for ``ndim``)."""
    if ndim is None:
        ndim = 1 if outdim is None else outdim
    return _flatten(x, ndim)


def addbroadcast(x, *axes):
    """``x`` with ``axes`` marked broadcastable (each must have length 1 when the function runs)."""
    return specify_broadcastable(x, *axes)


def unbroadcast(x, *axes):
    """``x`` with ``axes`` no longer marked broadcastable."""
    return _unbroadcast(x, *axes)


def patternbroadcast(x, broadcastable):
    """``x`` with each dimension marked broadcastable or not as ``broadcastable`` (one bool per dimension) says."""
    x = as_tensor_variable(x)
    added = [axis for axis, flag in enumerate(broadcastable) if flag and not x.broadcastable[axis]]
    removed = [axis for axis, flag in enumerate(broadcastable) if not flag and x.broadcastable[axis]]
    if added:
        x = specify_broadcastable(x, *added)
    if removed:
        x = _unbroadcast(x, *removed)
    return x


_TYPED_VARIABLES = [
    name
    for kind in ("scalar", "vector", "matrix", "row", "col", "tensor3", "tensor4", "tensor5")
    for name in [kind] + [prefix + kind for prefix in "bwilfdcz"]
    + [prefix + ("matrices" if kind == "matrix" else kind + "s") for prefix in ("", "i", "l", "f", "d")
       if kind in ("scalar", "vector", "matrix", "row", "col")]
]

__all__ = sorted(
    _TYPED_VARIABLES
    + [
        "DimShuffle", "Elemwise", "Lop", "Rop", "TensorConstant", "TensorType", "TensorVariable", "abs_", "add",
        "addbroadcast", "all", "allclose", "alloc", "and_", "angle", "any", "arange", "arccos", "arccosh",
        "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort", "as_tensor_variable",
        "batched_dot", "batched_tensordot", "cast", "ceil", "clip", "concatenate", "conj", "constant", "cos",
        "cosh", "cumprod", "cumsum", "deg2rad", "diag", "dot", "eq", "erf", "erfc", "erfinv", "exp", "exp2",
        "expm1", "extra_ops", "eye", "fill", "flatnonzero", "flatten", "floor", "floor_div", "gamma", "gammaln",
        "ge", "grad", "gt", "hessian", "horizontal_stack", "identity_like", "imag", "inc_subtensor", "int_div",
        "inv", "invert", "iround", "isclose", "isinf", "isnan", "jacobian", "join", "largest", "le", "log",
        "log10", "log1p", "log2", "lt", "max", "max_and_argmax", "maximum", "mean", "mgrid", "min", "minimum",
        "mod", "mul", "neg", "neq", "nnet", "nonzero", "nonzero_values", "ogrid", "ones", "ones_like", "or_",
        "outer", "patternbroadcast", "pow", "prod", "psi", "rad2deg", "real", "repeat", "reshape", "roll",
        "round", "second", "set_subtensor", "sgn", "shape", "shape_padaxis", "shape_padleft", "shape_padright",
        "shared_randomstreams", "sin", "sinh", "smallest", "sort", "split", "sqr", "sqrt", "squeeze", "stack",
        "stacklists", "std", "sub", "sum", "switch", "take", "tan", "tanh", "tensor", "tensordot", "tile",
        "transpose", "true_div", "unbroadcast", "var", "vertical_stack", "where", "xor", "zeros", "zeros_like",
    ]
)

__getattr__ = unsupported.module_getattr("theano.tensor")
