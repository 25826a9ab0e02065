"""pluggy hooks: how built-in and third-party plugins add recurrent units.

A plugin is a module with a function marked ``@aerann.hookimpl`` named
``aerann_register_units`` that returns unit classes.  Built-in units are
registered through this same hook; third-party distributions are found
through the entry-point group ``aerann``.
"""

import pluggy

PROJECT = "aerann"
ENTRY_POINT_GROUP = "aerann"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class UnitHooks:
    """The hook specifications aerann calls."""

    @hookspec
    def aerann_register_units(self):
        """Return an iterable of :class:`aerann.RecurrentUnit` subclasses."""
