"""The tutorial's gradient check: backpropagated gradients against central differences."""

import numpy as np


def relative_error(backprop: float, estimated: float) -> float:
    """|a - b| / (|a| + |b|), and 0 when both are zero."""
    denominator = abs(backprop) + abs(estimated)
    return abs(backprop - estimated) / denominator if denominator > 0 else 0.0


def check_parameters(names, gradients, get_value, set_value, total_loss, h, error_threshold) -> bool:
    """Perturb every entry of every named parameter by ±h and compare.

    ``get_value(name)`` returns a parameter's array, ``set_value(name, array)``
    stores one, ``total_loss()`` evaluates the loss.  On the first entry whose
    relative error exceeds ``error_threshold`` it prints the parameter, the
    index and both values, as the tutorial does, and returns False.
    """
    for name, gradient in zip(names, gradients):
        parameter = np.array(get_value(name), dtype=np.float64)
        print(f"Performing gradient check for parameter {name} with size {parameter.size}.")
        for ix in np.ndindex(parameter.shape):
            original = parameter[ix]
            parameter[ix] = original + h
            set_value(name, parameter)
            plus = total_loss()
            parameter[ix] = original - h
            set_value(name, parameter)
            minus = total_loss()
            parameter[ix] = original
            set_value(name, parameter)
            estimated = (plus - minus) / (2 * h)
            error = relative_error(float(gradient[ix]), estimated)
            if error > error_threshold:
                print(f"Gradient Check ERROR: parameter={name} ix={ix}")
                print(f"+h Loss: {plus}")
                print(f"-h Loss: {minus}")
                print(f"Estimated_gradient: {estimated}")
                print(f"Backpropagation gradient: {gradient[ix]}")
                print(f"Relative Error: {error}")
                return False
        print(f"Gradient check for parameter {name} passed.")
    return True
