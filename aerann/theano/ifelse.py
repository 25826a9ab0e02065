"""``theano.ifelse``: ``ifelse(condition, then, else)``, which computes only the branch it returns.

Aesara's objects (``T.switch`` computes both branches, element by element).
"""

from aesara.ifelse import IfElse, ifelse

from aerann.theano import unsupported

__all__ = ["IfElse", "ifelse"]

__getattr__ = unsupported.module_getattr("theano.ifelse")
