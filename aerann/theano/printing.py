"""``theano.printing``: graphs as text (``pprint``, ``debugprint``), as pictures (``pydotprint``, which needs
pydot), and the ``Print`` Op that prints a value when a function computes it.

Aesara's objects; the text they print names Aesara's Ops and types
(``TensorType(float64, (?,))`` where Theano printed
``TensorType(float64, vector)``).
"""

from aesara.printing import Print, debugprint, min_informative_str, pp, pprint, pydotprint

from aerann.theano import unsupported

__all__ = ["Print", "debugprint", "min_informative_str", "pp", "pprint", "pydotprint"]

__getattr__ = unsupported.module_getattr("theano.printing")
