"""Powers by constant exponents, specialized before Aesara rewrites them (an Aesara 2.9.4 bug, met by Theano code).

Aesara turns ``x ** 2`` into ``square(x)`` (and ``x ** 0.5`` into ``sqrt(x)``,
``x ** 3`` into ``square(x) * x``, ...) in its ``local_pow_specialize``
rewrites, and asserts that the result has the type of the power it
replaces.  By then ``x`` often has a more precise type than when the power
was built: Aesara learns static sizes during rewriting (the tutorials'
``T.zeros(hidden_dim)`` initial state has a static length, which reaches
the gradients of a scan), so ``square(x)`` is a (?, 8) matrix where the
power was a (?, ?) one, and the assertion stops the compilation.  The
tutorials meet it in their optimizers (RMSprop's ``decay * cache + (1 -
decay) * dW ** 2`` in the WildML GRU tutorial), where Theano, with no
static sizes, had no such failure.

:func:`specialize` rewrites the graph handed to ``theano.function`` the way
those rewrites would, before compiling: the same operations in the same
order, so the numbers are Aesara's; only the assertion is not met, since
the new nodes take their types from their inputs.  Exponents Aesara leaves
alone (0.3, or a variable) stay powers.
"""

import numpy as np
from aesara.graph.basic import Variable, io_toposort
from aesara.scalar.basic import Pow
from aesara.tensor.basic import NotScalarConstantError, cast, fill, get_scalar_constant_value
from aesara.tensor.elemwise import Elemwise
from aesara.tensor.math import reciprocal, sqrt, square
from aesara.tensor.rewriting.basic import encompasses_broadcastable

LARGEST_INTEGER_POWER = 512  # as Aesara's local_pow_specialize_device


def _exponent(node):
    """The constant exponent of a power node whose specialization Aesara would assert on, or None."""
    if not (isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Pow)):
        return None
    base, exponent = node.inputs
    if not encompasses_broadcastable(base.type.broadcastable, exponent.type.broadcastable):
        return None
    try:
        return float(get_scalar_constant_value(exponent))
    except NotScalarConstantError:
        return None


def _integer_power(x, exponent):
    """``x ** exponent`` for a whole exponent, by squarings and products in Aesara's order."""
    powers, remaining = [x], abs(int(exponent))
    for _ in range(int(np.log2(remaining))):
        powers.append(square(powers[-1]))
    result = None
    while remaining > 0:
        largest = int(np.log2(remaining))
        result = powers[largest] if result is None else result * powers[largest]
        remaining -= 2**largest
    return reciprocal(result) if exponent < 0 else result


def _specialized(x, exponent, dtype):
    """What Aesara's rewrites make of ``x ** exponent`` (None where they leave the power)."""
    special = {
        2.0: lambda: square(x),
        1.0: lambda: x,
        0.0: lambda: fill(x, np.asarray(1, dtype=dtype)),
        0.5: lambda: sqrt(x),
        -0.5: lambda: reciprocal(sqrt(x)),
        -1.0: lambda: reciprocal(x),
        -2.0: lambda: reciprocal(square(x)),
    }
    if exponent in special:
        result = special[exponent]()
    elif np.isfinite(exponent) and exponent == int(exponent) and abs(exponent) <= LARGEST_INTEGER_POWER:
        result = _integer_power(x, exponent)
    else:
        return None
    return cast(result, dtype)


def specialize(roots):
    """``roots`` (variables) with every power by a constant specialized; the same objects when there is none."""
    replaced = {}
    for node in io_toposort([], [root for root in roots if isinstance(root, Variable)]):
        inputs = [replaced.get(variable, variable) for variable in node.inputs]
        exponent = _exponent(node)
        if exponent is not None:
            result = _specialized(inputs[0], exponent, node.outputs[0].type.dtype)
            if result is not None:
                replaced[node.outputs[0]] = result
                continue
        if any(new is not old for new, old in zip(inputs, node.inputs)):
            replaced.update(zip(node.outputs, node.clone_with_new_inputs(inputs, strict=False).outputs))
    return [replaced.get(root, root) for root in roots]
