"""Recurrent units: the base class and the registry of built-in and plugin units.

``names()`` lists the registered units, ``get(name)`` returns one's class,
``sources()`` says where each comes from, ``reference(name)`` gives its NumPy
reference if one is registered, and ``errors()`` what failed to load.
The registry loads on first use; ``reload()`` loads it again (after
installing a plugin, say, or in tests).
"""

from aerann.units.base import ACTIVATIONS, get_activation, RecurrentUnit
from aerann.units.registry import PluginError, PluginWarning, Registry, UnitConflictError

_registry = {}


def registry() -> Registry:
    """The registry, loaded on first use."""
    if "current" not in _registry:
        _registry["current"] = Registry()
    return _registry["current"]


def reload(entry_points=None) -> Registry:
    """Load built-in and plugin units afresh (``entry_points``: see :class:`Registry`)."""
    _registry["current"] = Registry(entry_points)
    return _registry["current"]


def names() -> list:
    """Names of the registered units, sorted."""
    return sorted(registry().units)


def get(name: str):
    """The unit class registered as ``name`` (ValueError naming the known units otherwise)."""
    return registry().get(name)


def sources() -> dict:
    """Unit name -> where it comes from; a name two plugins claim says so and names both."""
    current = registry()
    listing = dict(current.sources)
    listing.update((name, "CONFLICT: " + " and ".join(both)) for name, both in current.conflicts.items())
    return listing


def reference(name: str):
    """The NumPy reference class registered for unit ``name``, or None (see aerann.reference)."""
    return registry().references.get(name)


def references() -> list:
    """Names of the units that have a NumPy reference, sorted."""
    return sorted(registry().references)


def errors() -> list:
    """Messages about plugins that failed to load or registered bad or clashing units."""
    return list(registry().errors)


__all__ = [
    "ACTIVATIONS",
    "PluginError",
    "PluginWarning",
    "RecurrentUnit",
    "Registry",
    "UnitConflictError",
    "errors",
    "get",
    "get_activation",
    "names",
    "reference",
    "references",
    "registry",
    "reload",
    "sources",
]
