"""Aesara 2.9.4's ``broadcast_shape``, with the scalar ops of its size checks built once per kind.

Every ``Elemwise`` node that enters a function graph gets its output shape
from ``Elemwise.infer_shape``, which calls ``broadcast_shape``, and the
rewrites of a stacked model import tens of thousands of such nodes (scans'
``infer_shape`` asks again for every node of their inner graphs).  Where
several inputs' sizes in a dimension are not provably the same variable (a
batch size read from the data and one read from an initial state, say), the
broadcast size is

    size = |max_i s_i'|,   s_i' = -1 if s_i == 1 else s_i,

checked by ``Assert`` that every ``s_i'`` is -1 or ``size``; where one size
is a constant ``c``, every other size must be 1 or ``c``.  Aesara builds the
scalar graphs of these formulas on fresh dummy inputs and wraps them in new
``Composite`` ops for every dimension of every call, which made them a large
part of a model's compile time.  Yet they depend only on the inputs' dtypes
(and the constant), so here each is built once, the way Aesara builds it,
and applied to the sizes of every later call.

The graph returned is the one Aesara returns (equal ops applied to the same
sizes), with one difference that makes it more predictable: where Aesara
collects the symbolic sizes checked against a constant in a set, whose
order varies from one process to the next, they keep the order they come
in (duplicates dropped, as the set drops them).  The check is a
conjunction, so the order changes nothing computed, and equal models now
build equal graphs in every process.
"""

import functools

import aesara.scalar as aes
import aesara.tensor as at
import aesara.tensor.extra_ops as extra_ops
from aesara.graph.basic import Constant, Variable, equal_computations
from aesara.raise_op import Assert
from aesara.tensor.type import TensorType

_aesaras = extra_ops.broadcast_shape_iter
_check = Assert("Could not broadcast dimensions")


def _one():
    return aes.ScalarConstant(aes.int64, 1)


@functools.lru_cache(maxsize=None)
def constant_size_check(dtypes, size):
    """The ``Composite`` that is true when every input (of these dtypes) is 1 or ``size``."""
    inputs = [aes.get_scalar_type(dtype=dtype)() for dtype in dtypes]
    one, constant = _one(), aes.ScalarConstant(aes.int64, size)
    condition = functools.reduce(aes.and_, (aes.or_(aes.eq(s, one), aes.eq(s, constant)) for s in inputs))
    return aes.Composite(inputs, [condition])


@functools.lru_cache(maxsize=None)
def symbolic_size_check(dtypes):
    """The ``Composite`` pair (broadcast size, its check) for sizes of these dtypes."""
    inputs = [aes.get_scalar_type(dtype=dtype)() for dtype in dtypes]
    one = _one()
    marked = [aes.switch(aes.eq(s, 1), -one, s) for s in inputs]
    size = aes.Composite(inputs, [aes.abs(functools.reduce(aes.scalar_maximum, marked))])
    broadcast = size(*inputs)
    condition = functools.reduce(aes.and_, (aes.or_(aes.eq(s, -one), aes.eq(s, broadcast)) for s in marked))
    return size, aes.Composite(inputs, [condition])


def _scalars(sizes):
    return [at.scalar_from_tensor(s) if isinstance(s.type, TensorType) else s for s in sizes]


def broadcast_size(sizes, one):
    """The broadcast size of one dimension's ``sizes`` (``one`` marks a size known to be 1)."""
    open_sizes = [s for s in sizes if s is not one]
    if not open_sizes:
        return one
    if len(open_sizes) == 1:
        return open_sizes[0]
    constants = {s.value.item() for s in open_sizes if isinstance(s, Constant)}
    symbolic = list(dict.fromkeys(s for s in open_sizes if not isinstance(s, Constant)))
    if len(constants) > 1:
        raise ValueError("Could not broadcast dimensions")
    if constants:
        (value,) = constants
        assert value != 1
        constant = aes.ScalarConstant(aes.int64, value)
        if not symbolic:
            return constant
        scalars = _scalars(symbolic)
        return _check(constant, constant_size_check(tuple(s.dtype for s in scalars), value)(*scalars))
    if all(equal_computations([open_sizes[0]], [s]) for s in open_sizes[1:]):
        return open_sizes[0]
    scalars = _scalars(open_sizes)
    size, condition = symbolic_size_check(tuple(s.dtype for s in scalars))
    return _check(size(*scalars), condition(*scalars))


def broadcast_shape_iter(arrays, arrays_are_shapes=False):
    """Aesara's ``broadcast_shape_iter``: the shape that broadcasting ``arrays`` (tensors, or
    tuples of sizes with ``arrays_are_shapes``) gives, one scalar size per dimension."""
    one = _one()
    if arrays_are_shapes:
        ndim = max(len(a) for a in arrays)
        shapes = [
            (one,) * (ndim - len(a))
            + tuple(
                one if s == 1 or isinstance(s, Constant) and s.value == 1
                else (s if isinstance(s, Variable) else aes.as_scalar(s))
                for s in a
            )
            for a in arrays
        ]
    else:
        tensors = [at.as_tensor_variable(a) for a in arrays]
        ndim = max(t.ndim for t in tensors)
        shapes = [
            (one,) * (ndim - t.ndim) + tuple(one if static == 1 else s for s, static in zip(t.shape, t.type.shape))
            for t in tensors
        ]
    return tuple(broadcast_size(sizes, one) for sizes in zip(*shapes))


def install():
    """Make Aesara's ``broadcast_shape`` (``aesara.tensor.extra_ops``) build through
    :func:`broadcast_shape_iter`."""
    extra_ops.broadcast_shape_iter = broadcast_shape_iter
