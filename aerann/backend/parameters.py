"""Parameters: shared variables whose values stay on the JAX device between calls.

Aesara stores each update of a shared variable through ``TensorType.filter``,
which turns a JAX array into a NumPy one: on a GPU every training step would
copy every parameter to the host and, on the next call, back again.
:func:`place_shared_values` changes that for the functions aerann compiles:
a JAX function moves its :class:`Parameter` inputs to the device once and
leaves its updates there; a C function first brings any such value back into
host memory, since its C code reads NumPy arrays only.  ``get_value`` of a
:class:`Parameter` is always a NumPy copy, wherever the value is.
"""

import numpy as np
from aesara.tensor.sharedvar import TensorSharedVariable
from aesara.tensor.type import TensorType


class Parameter(TensorSharedVariable):
    """A tensor shared variable that may hold a JAX array; ``get_value`` returns NumPy."""

    def get_value(self, borrow=False, return_internal_type=False):
        value = self.container.value
        if return_internal_type or isinstance(value, np.ndarray):
            return super().get_value(borrow=borrow, return_internal_type=return_internal_type)
        return np.array(value, dtype=self.dtype)


def shared(value, name: str) -> Parameter:
    """A :class:`Parameter` holding a copy of ``value`` (any shape, its own dtype)."""
    value = np.array(value)
    return Parameter(type=TensorType(value.dtype, shape=(None,) * value.ndim), value=value, strict=False, name=name)


def _on_host(value, dtype):
    return value if isinstance(value, np.ndarray) else np.array(value, dtype=dtype)


def _on_device(value, dtype):
    if not isinstance(value, np.ndarray):
        return value
    import jax

    # Without 64-bit mode JAX would shrink float64; such values stay on the host
    # (checked before moving, so they are not copied to the device on every call).
    if jax.dtypes.canonicalize_dtype(value.dtype) != value.dtype:
        return value
    return jax.device_put(value)


class _PlacingVM:
    """Wraps a compiled function's VM to place its shared values for its backend.

    Aesara's ``Function.__call__`` calls the VM, then applies updates itself
    unless the VM says ``need_update_inputs = False``; this wrapper does the
    updates, storing those of parameters exactly as the VM produced them.
    Everything else is the wrapped VM's.
    """

    need_update_inputs = False

    def __init__(self, function, place):
        self.vm = function.vm
        self.place = place
        inputs = list(zip(function.maker.expanded_inputs, function.input_storage))
        self.parameters = [(c.storage, c.type.dtype) for i, c in inputs if isinstance(i.variable, Parameter)]
        # Update values follow the returned outputs, in the order of the updated inputs.
        updated = [(c, isinstance(i.variable, Parameter)) for i, c in inputs if i.update is not None]
        new_values = function.output_storage[function.n_returned_outputs :]
        self.updates = [(container, raw, new) for (container, raw), new in zip(updated, new_values)]
        self.vm_leaves_updates = getattr(self.vm, "need_update_inputs", True)

    def __call__(self, *args, **kwargs):
        for storage, dtype in self.parameters:
            storage[0] = self.place(storage[0], dtype)
        result = self.vm(*args, **kwargs)
        if self.vm_leaves_updates:
            for container, raw, new in self.updates:
                if raw:
                    container.storage[0] = new.storage[0]
                else:
                    container.data = new.storage[0]
        return result

    def __getattr__(self, name):
        return getattr(self.vm, name)


def place_shared_values(function, backend: str):
    """Make compiled ``function`` keep parameters on the device (``"jax"``) or the host (``"c"``)."""
    function.vm = _PlacingVM(function, _on_device if backend == "jax" else _on_host)
    return function
