"""pluggy hooks: how built-in and third-party plugins add recurrent units.

A plugin is a module with a function marked ``@aerann.hookimpl`` named
``aerann_register_units`` that returns unit classes, and optionally one
named ``aerann_register_references`` that returns NumPy references of them
(aerann.testing checks a unit's gradients against its reference).  Built-in
units and references are registered through these same hooks; third-party
distributions are found through the entry-point group ``aerann``.
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

    @hookspec
    def aerann_register_references(self):
        """Return a mapping of unit name -> NumPy reference class of that unit.

        ``Reference(**unit.config())`` must give an object with ``states``
        (the unit's), ``shapes(n_in, n_out)`` (parameter name -> shape, as the
        unit's parameters, initial states included), ``forward(p, x, *states)``
        returning ``(new_states, cache)`` and ``backward(p, cache, *d_new_states)``
        returning ``(dx, d_states, d_params)``: one step and its hand-written
        derivative, on float64 arrays, rows as in the units (docs/plugins.md).
        """
