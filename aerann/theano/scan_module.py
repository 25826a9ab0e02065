"""``theano.scan_module``: ``scan`` and the loops built on it (``map``, ``reduce``, ``foldl``, ``foldr``),
and ``until`` for a loop that stops on a condition.

Aesara's scan kept Theano's arguments and semantics (``sequences``,
``outputs_info`` with None, initial values or ``dict(initial=..., taps=[...])``,
``non_sequences``, ``n_steps``, ``truncate_gradient``, ``go_backwards``,
``strict``) and returns ``(outputs, updates)`` as Theano's did; the updates
must be passed to ``theano.function`` when the step draws random numbers.
One difference is made good here: Theano took an initial state given as a
NumPy array (``dict(initial=np.zeros(2), taps=[-2, -1])``) as a constant,
while Aesara 2.9.4 fails on one with taps (an assertion deep in its buffer
allocation); :func:`scan` makes such values constants first, as Theano did.
"""

from aesara.graph.basic import Variable
from aesara.scan.basic import scan as _aesara_scan
from aesara.scan.utils import until
from aesara.scan.views import foldl, foldr, map, reduce
from aesara.tensor.basic import as_tensor_variable

from aerann.theano import unsupported

__all__ = ["foldl", "foldr", "map", "reduce", "scan", "until"]


def _initial(state):
    """One entry of ``outputs_info`` with a NumPy (or Python) initial value made a constant."""
    if isinstance(state, dict):
        initial = state.get("initial")
        if initial is None or isinstance(initial, Variable):
            return state
        return {**state, "initial": as_tensor_variable(initial)}
    if state is None or isinstance(state, Variable):
        return state
    return as_tensor_variable(state)


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, truncate_gradient=-1,
         go_backwards=False, mode=None, name=None, profile=False, allow_gc=None, strict=False, return_list=False):
    """Theano's ``scan``: ``fn`` applied step by step; returns ``(outputs, updates)``."""
    if isinstance(outputs_info, (list, tuple)):
        outputs_info = [_initial(state) for state in outputs_info]
    elif outputs_info is not None:
        outputs_info = _initial(outputs_info)
    return _aesara_scan(fn, sequences=sequences, outputs_info=outputs_info, non_sequences=non_sequences,
                        n_steps=n_steps, truncate_gradient=truncate_gradient, go_backwards=go_backwards,
                        mode=mode, name=name, profile=profile, allow_gc=allow_gc, strict=strict,
                        return_list=return_list)


__getattr__ = unsupported.module_getattr("theano.scan_module")
