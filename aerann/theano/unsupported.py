"""Names aerann.theano does not provide: an error that names them, and Aesara's equivalent where it has one.

Every module of the shim ends with ``__getattr__ = unsupported.module_getattr(...)``.
Python calls a module's ``__getattr__`` only for a name the module lacks, so
``theano.tensor.foo`` raises an AttributeError that says "aerann.theano does
not provide theano.tensor.foo" and, when Aesara has the name, where to look
instead ("Aesara's aesara.tensor.foo may do"): a script written for Theano
then says which name to port instead of failing somewhere deeper.

``from theano.tensor import foo`` turns any AttributeError into Python's own
ImportError ("cannot import name 'foo'"), dropping the message;
:func:`note_for` writes the same sentence for such an ImportError (and for
an ``import theano.x`` of a module the shim lacks), which the script runner
adds to the error it shows.
"""

import importlib
import importlib.util
import re
import subprocess
import sys

# The Aesara module where each Theano module's names live now.
AESARA_MODULES = {
    "theano": "aesara",
    "theano.tensor": "aesara.tensor",
    "theano.tensor.nnet": "aesara.tensor.nnet",
    "theano.tensor.shared_randomstreams": "aesara.tensor.random.utils",
    "theano.tensor.extra_ops": "aesara.tensor.extra_ops",
    "theano.sandbox": "aesara.sandbox",
    "theano.sandbox.rng_mrg": "aesara.sandbox.rng_mrg",
    "theano.compile": "aesara.compile",
    "theano.compile.ops": "aesara.compile.ops",
    "theano.gradient": "aesara.gradient",
    "theano.printing": "aesara.printing",
    "theano.ifelse": "aesara.ifelse",
    "theano.scan_module": "aesara.scan",
    "theano.config": "aesara.config",
}


def aesara_has(name: str) -> bool:
    """Whether Aesara has ``name`` (``aesara.tensor.foo``): an attribute of its module, or a submodule.

    A module that is not imported yet is looked into by a fresh Python, not imported here: some of
    Aesara's deprecated modules (``aesara.tensor.nnet``) register rewrites when imported, which
    would change every function this process compiles afterwards.
    """
    module_name, _, attribute = name.rpartition(".")
    module = sys.modules.get(module_name)
    if module is None:
        return _has_in_a_fresh_process(module_name, attribute)
    try:
        return hasattr(module, attribute) or importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


_LOOK = """
import importlib, importlib.util, sys, warnings
import aerann
warnings.simplefilter("ignore")
module_name, attribute = sys.argv[1:]
module = importlib.import_module(module_name)
found = hasattr(module, attribute) or importlib.util.find_spec(f"{module_name}.{attribute}") is not None
sys.exit(0 if found else 1)
"""


def _has_in_a_fresh_process(module_name: str, attribute: str) -> bool:
    try:
        looked = subprocess.run([sys.executable, "-c", _LOOK, module_name, attribute], capture_output=True,
                                timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return looked.returncode == 0


def aesara_name(theano_name: str):
    """Aesara's name for ``theano_name`` by the module it would be in (None outside the known modules)."""
    module, _, attribute = theano_name.rpartition(".")
    while module and module not in AESARA_MODULES:
        module, _, parent = module.rpartition(".")
        attribute = f"{parent}.{attribute}"
    return f"{AESARA_MODULES[module]}.{attribute}" if module else None


def message(theano_name: str) -> str:
    """The sentence for a Theano name the shim lacks."""
    text = f"aerann.theano does not provide {theano_name}"
    equivalent = aesara_name(theano_name)
    if equivalent and aesara_has(equivalent):
        text += f"; Aesara's {equivalent} may do"
    return text + " (docs/theano.md lists what it provides)"


def module_getattr(theano_module: str):
    """A module ``__getattr__`` for the shim module that stands for ``theano_module``."""

    def __getattr__(name):
        if name.startswith("__") and name.endswith("__"):  # Python's own probes (__path__, __wrapped__, ...)
            raise AttributeError(f"module {theano_module!r} has no attribute {name!r}")
        raise AttributeError(message(f"{theano_module}.{name}"), name=name)

    return __getattr__


def class_getattr(theano_class: str):
    """A ``__getattr__`` method for a shim class that stands for ``theano_class`` (the same sentence)."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise AttributeError(message(f"{theano_class}.{name}"), name=name, obj=self)

    return __getattr__


# Python names the module by its own name: aerann.theano.tensor for theano.tensor.
_CANNOT_IMPORT = re.compile(r"cannot import name '([^']+)' from '(?:aerann\.)?(theano(?:\.[\w.]+)?)'")


def note_for(error: ImportError):
    """The sentence for an ImportError of a Theano name the shim lacks, or None for any other error."""
    found = _CANNOT_IMPORT.search(str(error))
    if found:
        return message(f"{found[2]}.{found[1]}")
    if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("theano."):
        return message(error.name)
    return None
