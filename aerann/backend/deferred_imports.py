"""Modules that Aesara imports at start-up but aerann rarely uses, loaded on their first use instead.

``import aesara`` imports ``scipy.stats`` (for the random variables and a
few scalar ops such as ``chi2sf``, which call it only when they run), and
that import alone is about a third of ``import aerann``: every command and
every script pays it, though no aerann model touches it.  :func:`defer`
puts a stand-in module in ``sys.modules``; its first attribute lookup
imports the real module and the stand-in takes on its contents, so
``import scipy.stats``, ``from scipy.stats import norm`` and Aesara's own
calls work as before, only later.

The stand-in has the real module's ``__spec__``, ``__file__`` and
``__path__`` from the start: Python's import system reads ``__spec__`` of a
module it finds in ``sys.modules`` (``importlib.util.LazyLoader``'s modules
load at that read, which is why they do not help here).
"""

import importlib
import importlib.util
import sys
import types


class DeferredModule(types.ModuleType):
    """A module that imports the real one on its first attribute lookup, then holds its contents."""

    def __getattr__(self, name):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)  # also puts it back in sys.modules and on its package
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def defer(name: str) -> None:
    """Make ``name`` (a submodule such as ``"scipy.stats"``) load on first use; nothing if already imported."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = DeferredModule(name)
    stand_in.__spec__, stand_in.__file__ = spec, spec.origin
    if spec.submodule_search_locations is not None:
        stand_in.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = stand_in
    package, _, child = name.rpartition(".")
    if package:
        setattr(sys.modules[package], child, stand_in)
