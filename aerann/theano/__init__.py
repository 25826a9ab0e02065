"""``theano``: Theano 1.0's API, as the classic recurrent-network tutorials use it, over Aesara.

``aerann.theano`` is the top-level ``theano`` module of the shim, and its
subpackages are Theano's (``aerann.theano.tensor`` is ``theano.tensor``,
``aerann.theano.tensor.nnet`` is ``theano.tensor.nnet``, ...).  Scripts
written for Theano run unchanged with ``python -m aerann.theano SCRIPT``
or ``aerann theano SCRIPT``, or after :func:`install` in a notebook, which
make ``import theano`` give these modules.  Every function compiles through
aerann's compile module, for aerann's backend (C or JAX).

Names the shim lacks raise an AttributeError that names them (and Aesara's
equivalent, when it has one); docs/theano.md lists what is provided and
every way it still differs from Theano.
"""

from aesara import clone_replace as clone

from aerann.theano import compile, gradient, ifelse, printing, sandbox, scan_module, tensor, unsupported
from aerann.theano.compile import In, Mode, Out, SharedVariable, function, shared
from aerann.theano.configuration import change_flags, config
from aerann.theano.gradient import Lop, Rop, grad
from aerann.theano.printing import pp
from aerann.theano.runner import install, run_script
from aerann.theano.scan_module import foldl, foldr, map, reduce, scan
from aerann.theano.tensor import dot

__all__ = [
    "In",
    "Lop",
    "Mode",
    "Out",
    "Rop",
    "SharedVariable",
    "change_flags",
    "clone",
    "compile",
    "config",
    "dot",
    "foldl",
    "foldr",
    "function",
    "gradient",
    "grad",
    "ifelse",
    "map",
    "pp",
    "printing",
    "reduce",
    "sandbox",
    "scan",
    "scan_module",
    "shared",
    "tensor",
]

__getattr__ = unsupported.module_getattr("theano")
