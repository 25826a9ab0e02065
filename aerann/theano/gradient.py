"""``theano.gradient``: symbolic gradients and the Ops that shape them (clipping, scaling, stopping).

Aesara's gradient module kept Theano's names and semantics: these are its
objects.  ``grad_clip(x, lower, upper)`` is the identity forward and clips
the gradient that flows back through ``x``, as Theano's did.
"""

from aesara.gradient import (
    DisconnectedInputError,
    DisconnectedType,
    GradientError,
    Lop,
    NullTypeGradError,
    Rop,
    consider_constant,
    disconnected_grad,
    grad,
    grad_clip,
    grad_not_implemented,
    grad_scale,
    grad_undefined,
    hessian,
    jacobian,
    numeric_grad,
    subgraph_grad,
    undefined_grad,
    verify_grad,
    zero_grad,
)

from aerann.theano import unsupported

__all__ = [
    "DisconnectedInputError",
    "DisconnectedType",
    "GradientError",
    "Lop",
    "NullTypeGradError",
    "Rop",
    "consider_constant",
    "disconnected_grad",
    "grad",
    "grad_clip",
    "grad_not_implemented",
    "grad_scale",
    "grad_undefined",
    "hessian",
    "jacobian",
    "numeric_grad",
    "subgraph_grad",
    "undefined_grad",
    "verify_grad",
    "zero_grad",
]

__getattr__ = unsupported.module_getattr("theano.gradient")
