"""JAX conversions that Aesara 2.9.4 lacks or gets wrong for aerann's graphs.

The main one is *trace-time shape folding*.  ``jax.jit`` traces a function
with inputs of known shapes, so every shape computation in an Aesara graph
(``x.shape[0] - 1``, the slice bounds around a scan, the number of steps, the
sizes of the scan buffers) has a concrete value at trace time.  Aesara's JAX
conversion however runs that arithmetic with ``jax.numpy``, which turns it
into traced values, and then refuses (or fails on) slices, reshapes and
allocations whose sizes are traced.  Here every node whose inputs are all
concrete and whose outputs are small integer tensors (shapes, indices, slice
bounds) is computed with the op's own NumPy ``perform`` while JAX traces, so
those values stay concrete; ``Subtensor``, ``IncSubtensor``, ``Reshape``,
``Alloc``, ``AllocEmpty`` and ``ARange`` then accept any size that is
concrete at trace time instead of only graph constants.  Graphs with symbolic
sequence lengths then compile, and ``jax.jit`` re-traces once per new input
shape.  A size that depends on input *values* gets a clear error.

Also here: ``SpecifyShape`` accepting unspecified (None) sizes, which every
scan gradient contains (Aesara's conversion fails on them); ``Argmax`` and
``Split``, which Aesara does not convert at all; assertions
(``CheckAndRaise``) checked at trace time when their condition is concrete,
instead of dropped; and aerann's own Ops: the fused softmax cross-entropy
(aerann.backend.crossentropy) and the output layer's loss with its gradients
(aerann.backend.output_loss).
"""

import numpy as np

_state = {"registered": False}

TRACED_SIZE_ERROR = (
    "a size (number of scan steps, slice bound, array or reshape size, arange "
    "argument) depends on the values, not only the shapes, of the inputs; XLA "
    "needs it when the function is traced. Compute it from input shapes or "
    "constants (e.g. give the scan a sequence instead of a symbolic n_steps)."
)


def jax_dtype(dtype):
    """``dtype`` as JAX will really use it (64-bit types shrink unless x64 is on)."""
    import jax

    return jax.dtypes.canonicalize_dtype(dtype)


def _is_concrete(value) -> bool:
    """Whether ``value`` is known while JAX traces (not a tracer)."""
    import jax

    return not isinstance(value, jax.core.Tracer)


def concrete_int(value, what="size"):
    """``value`` as a Python int (None stays None); a clear error if JAX only has a tracer."""
    if value is None:
        return None
    if not _is_concrete(value):
        raise NotImplementedError(f"aerann's JAX backend ({what}): {TRACED_SIZE_ERROR}")
    return int(value)


def concrete_sizes(values, what="size"):
    """A sequence of sizes (tuple, array) as a tuple of Python ints.

    Concrete arrays go through NumPy first: indexing a JAX array while JAX
    traces would turn each element into a traced value.
    """
    if _is_concrete(values) and not isinstance(values, (tuple, list)):
        values = np.asarray(values).ravel()
    return tuple(concrete_int(value, what) for value in values)


def _static_slices(indices):
    """Replace the bounds of every slice in ``indices`` by Python ints."""
    return tuple(
        slice(*(concrete_int(bound, "slice bound") for bound in (index.start, index.stop, index.step)))
        if isinstance(index, slice)
        else index
        for index in indices
    )


def _is_shape_like(variable) -> bool:
    """Integer (or boolean) scalar or vector tensors: shapes, sizes, indices."""
    from aesara.scalar import ScalarType
    from aesara.tensor.type import TensorType

    vtype = variable.type
    if isinstance(vtype, ScalarType):
        return vtype.dtype.startswith(("int", "uint", "bool"))
    if isinstance(vtype, TensorType):
        return vtype.ndim <= 1 and vtype.dtype.startswith(("int", "uint", "bool"))
    return False


def _foldable(node) -> bool:
    """Shape arithmetic: ops with a NumPy ``perform`` and integer scalar/vector outputs."""
    from aesara.scalar import ScalarOp, ScalarType
    from aesara.tensor.basic import Join, MakeVector, ScalarFromTensor, TensorFromScalar
    from aesara.tensor.elemwise import CAReduce, DimShuffle, Elemwise
    from aesara.tensor.subtensor import Subtensor
    from aesara.tensor.type import TensorType

    folded_ops = (
        Elemwise,
        ScalarOp,
        DimShuffle,
        CAReduce,
        Subtensor,
        MakeVector,
        Join,
        ScalarFromTensor,
        TensorFromScalar,
    )
    return (
        isinstance(node.op, folded_ops)
        and all(_is_shape_like(out) for out in node.outputs)
        and all(isinstance(inp.type, (TensorType, ScalarType)) for inp in node.inputs)
    )


def _perform(node, inputs):
    """The NumPy values of ``node``'s outputs for the NumPy ``inputs``."""
    from aesara.graph.basic import NoParams
    from aesara.tensor.elemwise import Elemwise

    dtypes = [out.type.dtype for out in node.outputs]
    if isinstance(node.op, Elemwise):
        # NumPy ufuncs built from scalar ops take at most 32 inputs; fused
        # shape arithmetic often has more, so loop over the (few) elements.
        broadcast = np.broadcast_arrays(*inputs)
        shape = broadcast[0].shape if broadcast else ()
        results = [np.empty(shape, dtype=dtype) for dtype in dtypes]
        for index in np.ndindex(shape):
            values = node.op.scalar_op.impl(*(array[index] for array in broadcast))
            values = values if len(dtypes) > 1 else (values,)
            for result, value in zip(results, values):
                result[index] = value
        return results
    storage = [[None] for _ in node.outputs]
    params = node.run_params()
    if params is NoParams:
        node.op.perform(node, inputs, storage)
    else:
        node.op.perform(node, inputs, storage, params)
    return [cell[0] for cell in storage]


def _fold_when_concrete(node, jax_function):
    """Run ``node`` with NumPy when all its arguments are concrete at trace time."""
    from aesara.scalar import ScalarType

    def evaluate(*args):
        if not all(_is_concrete(arg) for arg in args):
            return jax_function(*args)
        inputs = [
            np.asarray(arg, dtype=inp.type.dtype)[()]
            if isinstance(inp.type, ScalarType)
            else np.asarray(arg, dtype=inp.type.dtype)
            for arg, inp in zip(args, node.inputs)
        ]
        results = _perform(node, inputs)
        return results[0] if len(results) == 1 else tuple(results)

    return evaluate


def _keep_declared_float_dtypes(node, jax_function):
    """Cast float results back to the dtypes Aesara declared for ``node``.

    Some of Aesara's conversions compute in a wider type (a float32 sum with
    its float64 accumulator) and return that; with JAX's 64-bit mode on (a
    float64 graph ran earlier in the process) a float32 model's updates would
    then come back as float64 and Aesara would refuse to store them.
    """
    declared = [str(getattr(out.type, "dtype", "")) for out in node.outputs]

    def cast(result, dtype):
        found = str(getattr(result, "dtype", ""))
        if dtype.startswith("float") and found.startswith("float") and found != dtype:
            return result.astype(dtype)
        return result

    def run(*args):
        results = jax_function(*args)
        if not isinstance(results, (tuple, list)):
            return cast(results, declared[0]) if len(declared) == 1 else results
        if len(results) != len(declared):
            return results
        return type(results)(cast(result, dtype) for result, dtype in zip(results, declared))

    return run


def _convert_with_folding(op, node=None, **kwargs):
    from aesara.link.jax.dispatch import jax_funcify

    jax_function = jax_funcify(op, node=node, **kwargs)
    if node is None:
        return jax_function
    if _foldable(node):
        return _fold_when_concrete(node, jax_function)
    return _keep_declared_float_dtypes(node, jax_function)


def jax_funcify_function_graph(fgraph, node=None, fgraph_name="jax_funcified_fgraph", **kwargs):
    """Aesara's ``FunctionGraph`` conversion, with trace-time shape folding."""
    from aesara.link.jax.dispatch import jax_typify
    from aesara.link.utils import fgraph_to_python

    return fgraph_to_python(
        fgraph,
        _convert_with_folding,
        const_conversion_fn=jax_typify,
        fgraph_name=fgraph_name,
        **kwargs,
    )


def jax_funcify_subtensor(op, node=None, **kwargs):
    """Basic and advanced indexing whose slice bounds are concrete at trace time."""
    from aesara.link.jax.dispatch.subtensor import BOOLEAN_MASK_ERROR
    from aesara.tensor.subtensor import indices_from_subtensor

    idx_list = getattr(op, "idx_list", None)
    if any(getattr(inp.type, "dtype", None) == "bool" for inp in node.inputs[1:]):
        raise NotImplementedError(BOOLEAN_MASK_ERROR)

    def subtensor(x, *index_inputs):
        indices = _static_slices(indices_from_subtensor(index_inputs, idx_list))
        return x[indices[0] if len(indices) == 1 else indices]

    return subtensor


def jax_funcify_inc_subtensor(op, node=None, **kwargs):
    """``IncSubtensor``/``AdvancedIncSubtensor1`` with trace-time-concrete slices."""
    import jax.numpy as jnp
    from aesara.tensor.subtensor import AdvancedIncSubtensor1, indices_from_subtensor

    idx_list = getattr(op, "idx_list", None)
    set_instead_of_inc = getattr(op, "set_instead_of_inc", False)

    def inc_subtensor(x, y, *index_inputs):
        indices = _static_slices(indices_from_subtensor(index_inputs, idx_list))
        index = indices[0] if len(indices) == 1 else indices
        if all(_is_concrete(value) for value in (x, y, *index_inputs)):
            # Known while JAX traces (a shape being assembled, say): computed in NumPy, so that it stays
            # concrete for the sizes that depend on it (a JAX operation would be staged out as traced).
            result = np.array(x, copy=True)
            if set_instead_of_inc:
                result[index] = y
            elif isinstance(op, AdvancedIncSubtensor1):
                np.add.at(result, index, y)
            else:
                result[index] += y
            return result
        target = jnp.asarray(x).at[index]
        return target.set(y) if set_instead_of_inc else target.add(y)

    return inc_subtensor


def jax_funcify_reshape(op, node=None, **kwargs):
    """``Reshape`` to any shape that is concrete at trace time."""
    import jax.numpy as jnp

    def reshape(x, shape):
        return jnp.reshape(x, concrete_sizes(shape, "reshape size"))

    return reshape


def jax_funcify_alloc(op, node=None, **kwargs):
    """``Alloc`` (broadcast a value) to a shape that is concrete at trace time."""
    import jax.numpy as jnp

    def alloc(value, *shape):
        return jnp.broadcast_to(value, concrete_sizes(shape, "array size"))

    return alloc


def jax_funcify_alloc_empty(op, node=None, **kwargs):
    """``AllocEmpty`` to a shape that is concrete at trace time."""
    import jax.numpy as jnp

    def alloc_empty(*shape):
        return jnp.empty(concrete_sizes(shape, "array size"), dtype=jax_dtype(op.dtype))

    return alloc_empty


def jax_funcify_arange(op, node=None, **kwargs):
    """``ARange`` whose arguments are concrete at trace time."""
    import jax.numpy as jnp

    def arange(start, stop, step):
        return jnp.arange(
            *(concrete_int(arg, "arange argument") for arg in (start, stop, step)), dtype=jax_dtype(op.dtype)
        )

    return arange


def jax_funcify_specify_shape(op, node=None, **kwargs):
    """``SpecifyShape`` that, unlike Aesara's, accepts unspecified (None) sizes."""

    def specify_shape(x, *shape):
        for axis, expected in enumerate(shape):
            if expected is None or not _is_concrete(expected):
                continue
            if x.shape[axis] != int(expected):
                raise ValueError(
                    f"SpecifyShape: axis {axis} has size {x.shape[axis]}, expected {int(expected)}"
                )
        return x

    return specify_shape


def jax_funcify_argmax(op, node=None, **kwargs):
    """``Argmax`` (Aesara 2.9.4 converts only ``MaxAndArgmax``), over any axes."""
    import jax.numpy as jnp

    def argmax(x):
        axes = tuple(range(x.ndim)) if op.axis is None else tuple(op.axis)
        kept = [axis for axis in range(x.ndim) if axis not in axes]
        moved = jnp.transpose(x, kept + list(axes))
        flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
        return jnp.argmax(flat, axis=-1).astype(jax_dtype("int64"))

    return argmax


def jax_funcify_split(op, node=None, **kwargs):
    """``Split`` into pieces whose sizes are concrete at trace time (Aesara 2.9.4 has no conversion)."""
    import jax.numpy as jnp

    def split(x, axis, splits):
        sizes = concrete_sizes(splits, "split size")
        axis = concrete_int(axis, "split axis")
        if sum(sizes) != x.shape[axis]:
            raise ValueError(f"Split: sizes {sizes} do not add up to {x.shape[axis]}")
        return tuple(jnp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis))

    return split


def jax_funcify_softmax_cross_entropy(op, node=None, **kwargs):
    """aerann's fused ``SoftmaxCrossEntropy``: per-row losses and the probabilities."""
    import jax
    import jax.numpy as jnp

    def softmax_cross_entropy(logits, targets):
        log_probabilities = jax.nn.log_softmax(logits, axis=1)
        picked = jnp.take_along_axis(log_probabilities, targets[:, None].astype("int32"), axis=1)[:, 0]
        return -picked, jnp.exp(log_probabilities)

    return softmax_cross_entropy


def jax_funcify_softmax_cross_entropy_grad(op, node=None, **kwargs):
    """``SoftmaxCrossEntropyGrad``: g * (probabilities - one_hot(targets))."""
    import jax.numpy as jnp

    def softmax_cross_entropy_grad(g_losses, probabilities, targets):
        rows = jnp.arange(probabilities.shape[0])
        return (probabilities * g_losses[:, None]).at[rows, targets].add(-g_losses)

    return softmax_cross_entropy_grad


def jax_funcify_output_cross_entropy(op, node=None, **kwargs):
    """aerann's ``OutputCrossEntropy``: the weighted summed cross-entropy of softmax(R W) and, when the Op
    has them, its gradients with respect to R and W (``jax.value_and_grad`` of the formula)."""
    import jax
    import jax.numpy as jnp

    def loss(rows, weights, targets, token_weights):
        logits = rows @ weights
        picked = jnp.take_along_axis(logits, targets[:, None].astype("int32"), axis=1)[:, 0]
        return jnp.sum(token_weights * (jax.nn.logsumexp(logits, axis=1) - picked))

    if not op.gradients:
        return loss
    value_and_grad = jax.value_and_grad(loss, argnums=(0, 1))

    def output_cross_entropy(rows, weights, targets, token_weights):
        value, (d_rows, d_weights) = value_and_grad(rows, weights, targets, token_weights)
        return value, d_rows, d_weights

    return output_cross_entropy


def jax_funcify_check_and_raise(op, node=None, **kwargs):
    """Assertions checked while JAX traces, when their conditions are concrete.

    Aesara's conversion drops every assertion (with a warning); shape checks
    are concrete at trace time, so they can still raise here.  Conditions on
    traced values are skipped.
    """

    def check_and_raise(x, *conditions):
        for condition in conditions:
            if _is_concrete(condition) and not np.all(np.asarray(condition)):
                raise op.exc_type(op.msg)
        return x

    return check_and_raise


def register() -> None:
    """Register the conversions above with Aesara's JAX dispatcher (idempotent)."""
    if _state["registered"]:
        return
    from aesara.graph.fg import FunctionGraph
    from aesara.link.jax.dispatch import jax_funcify
    from aesara.raise_op import Assert, CheckAndRaise
    from aesara.tensor.basic import Alloc, AllocEmpty, ARange, Split
    from aesara.tensor.math import Argmax
    from aesara.tensor.shape import Reshape, SpecifyShape
    from aesara.tensor.subtensor import (
        AdvancedIncSubtensor1,
        AdvancedSubtensor1,
        IncSubtensor,
        Subtensor,
    )

    from aerann.backend.crossentropy import SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad
    from aerann.backend.output_loss import OutputCrossEntropy

    jax_funcify.register(FunctionGraph)(jax_funcify_function_graph)
    for op_type in (Subtensor, AdvancedSubtensor1):
        jax_funcify.register(op_type)(jax_funcify_subtensor)
    for op_type in (IncSubtensor, AdvancedIncSubtensor1):
        jax_funcify.register(op_type)(jax_funcify_inc_subtensor)
    jax_funcify.register(Reshape)(jax_funcify_reshape)
    jax_funcify.register(ARange)(jax_funcify_arange)
    jax_funcify.register(Alloc)(jax_funcify_alloc)
    jax_funcify.register(AllocEmpty)(jax_funcify_alloc_empty)
    jax_funcify.register(SpecifyShape)(jax_funcify_specify_shape)
    jax_funcify.register(Argmax)(jax_funcify_argmax)
    jax_funcify.register(Split)(jax_funcify_split)
    jax_funcify.register(SoftmaxCrossEntropy)(jax_funcify_softmax_cross_entropy)
    jax_funcify.register(SoftmaxCrossEntropyGrad)(jax_funcify_softmax_cross_entropy_grad)
    jax_funcify.register(OutputCrossEntropy)(jax_funcify_output_cross_entropy)
    for op_type in (CheckAndRaise, Assert):
        jax_funcify.register(op_type)(jax_funcify_check_and_raise)
    _state["registered"] = True
