"""The unit registry: built-in units and entry-point plugins, through one pluggy hook.

Like pytest's own plugins, the built-in units register through the same hook
(``aerann_register_units``) as third-party ones, which are found in the
entry-point group ``aerann``.

Failures are contained, never fatal to the other units:

- a plugin that fails to import, has neither hook, whose hook raises, or
  that registers a bad unit (not a RecurrentUnit subclass, no identifier
  ``name``, bad ``states`` or ``recurrent_inputs``, no ``step``) or a bad
  reference (not a class, for a name that is not a string) is skipped with a
  :class:`PluginWarning` naming the plugin and why; the message is also kept
  in :attr:`Registry.errors`;
- two units with the same name are a conflict: a warning at load time, and
  :meth:`Registry.get` of that name raises :class:`UnitConflictError` naming
  both sources, because picking one silently would hide the clash.
"""

import importlib
import importlib.metadata
import warnings

import pluggy

from aerann.units.base import RecurrentUnit
from aerann.units.hooks import ENTRY_POINT_GROUP, PROJECT, UnitHooks

BUILTIN_MODULES = ("aerann.units.elman", "aerann.units.rated", "aerann.units.gru", "aerann.units.lstm",
                   "aerann.reference.units")


class PluginError(Exception):
    """A plugin could not be loaded or registered a bad unit."""


class UnitConflictError(PluginError, ValueError):
    """Two sources registered units with the same name."""


class PluginWarning(UserWarning):
    """A plugin (or one of its units) was skipped; the message says which and why."""


class Registry:
    """Registered unit classes by name, with where each came from.

    ``entry_points`` defaults to the installed distributions' entry points in
    the group ``aerann``; tests pass their own.
    """

    def __init__(self, entry_points=None):
        self.units = {}
        self.sources = {}
        self.references = {}
        self.reference_sources = {}
        self.conflicts = {}
        self.errors = []
        self.manager = pluggy.PluginManager(PROJECT)
        self.manager.add_hookspecs(UnitHooks)
        plugins = [(importlib.import_module(module), module, f"built-in ({module})") for module in BUILTIN_MODULES]
        for entry_point in _entry_points() if entry_points is None else entry_points:
            loaded = self._load(entry_point)
            if loaded is not None:
                plugins.append(loaded)
        for plugin, plugin_name, source in plugins:
            self._register(plugin, plugin_name, source)

    def _warn(self, message: str) -> None:
        self.errors.append(message)
        warnings.warn(message, PluginWarning, stacklevel=4)

    def _load(self, entry_point):
        """(module, plugin name, source) of an entry point, or None after a warning."""
        source = describe(entry_point)
        try:
            plugin = entry_point.load()
        except Exception as error:  # a broken plugin must not take the others down
            self._warn(f"{source} failed to import: {type(error).__name__}: {error}")
            return None
        return plugin, f"{ENTRY_POINT_GROUP}:{entry_point.name}", source

    def _register(self, plugin, plugin_name: str, source: str) -> None:
        try:
            self.manager.register(plugin, name=plugin_name)
        except Exception as error:
            self._warn(f"{source} could not be registered: {type(error).__name__}: {error}")
            return
        hooks = self.manager.hook
        implementations = [i for i in hooks.aerann_register_units.get_hookimpls() if i.plugin is plugin]
        references = [i for i in hooks.aerann_register_references.get_hookimpls() if i.plugin is plugin]
        if not implementations and not references:
            self._warn(f"{source} defines no @aerann.hookimpl aerann_register_units()")
        for implementation in implementations:
            self._collect(implementation, source)
        for implementation in references:
            self._collect_references(implementation, source)

    def _collect_references(self, implementation, source: str) -> None:
        try:
            references = dict(implementation.function())
        except Exception as error:
            self._warn(f"{source}: aerann_register_references() raised {type(error).__name__}: {error}")
            return
        for name, reference in references.items():
            if not isinstance(name, str) or not isinstance(reference, type):
                self._warn(f"{source} registered a bad reference {name!r}: {reference!r} (a unit name and a class)")
            elif name in self.references:
                self._warn(f"two references of unit {name!r}: {self.reference_sources[name]} and {source}; "
                           "the first is kept")
            else:
                self.references[name] = reference
                self.reference_sources[name] = source

    def _collect(self, implementation, source: str) -> None:
        try:
            units = list(implementation.function())
        except Exception as error:
            self._warn(f"{source}: aerann_register_units() raised {type(error).__name__}: {error}")
            return
        for unit in units:
            problem = problem_with(unit)
            if problem:
                self._warn(f"{source} registered a bad unit {unit!r}: {problem}")
            elif unit.name in self.conflicts:
                self.conflicts[unit.name].append(source)
                self._warn(_conflict_message(unit.name, self.conflicts[unit.name]))
            elif unit.name in self.units:
                self.conflicts[unit.name] = [self.sources.pop(unit.name), source]
                del self.units[unit.name]
                self._warn(_conflict_message(unit.name, self.conflicts[unit.name]))
            else:
                self.units[unit.name] = unit
                self.sources[unit.name] = source

    def get(self, name: str):
        """The unit class called ``name``; an error that says why when there is none."""
        if name in self.conflicts:
            raise UnitConflictError(_conflict_message(name, self.conflicts[name]))
        if name not in self.units:
            known = ", ".join(sorted(self.units))
            hint = f" (plugin problems: {'; '.join(self.errors)})" if self.errors else ""
            raise ValueError(f"unknown unit {name!r}: registered units are {known}{hint}")
        return self.units[name]


def _entry_points():
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _conflict_message(name: str, sources) -> str:
    return f"two units are named {name!r}: {' and '.join(sources)}; uninstall one of them"


def describe(entry_point) -> str:
    """A human-readable name of a plugin: entry point, module and distribution."""
    dist = getattr(entry_point, "dist", None)
    where = f" from {dist.name} {dist.version}" if dist is not None else ""
    return f"plugin {entry_point.name!r} ({entry_point.value}){where}"


def problem_with(unit) -> str:
    """Why ``unit`` cannot be registered, or an empty string."""
    if not (isinstance(unit, type) and issubclass(unit, RecurrentUnit)):
        return "not a subclass of aerann.RecurrentUnit"
    if not isinstance(unit.name, str) or not unit.name.isidentifier():
        return f"its name must be a non-empty identifier, got {unit.name!r}"
    states = unit.states
    if not isinstance(states, tuple) or not states or not all(isinstance(s, str) and s.isidentifier() for s in states):
        return f"states must be a non-empty tuple of identifiers, got {states!r}"
    if len(set(states)) != len(states):
        return f"states must be distinct, got {states!r}"
    recurrent = unit.recurrent_inputs
    if not isinstance(recurrent, tuple) or not set(recurrent) <= set(states) or len(set(recurrent)) != len(recurrent):
        return f"recurrent_inputs must be a tuple of distinct names of its states {states}, got {recurrent!r}"
    if unit.step is RecurrentUnit.step and unit.projected_step is RecurrentUnit.projected_step:
        return "it implements neither step() nor projected_step()"
    return ""
