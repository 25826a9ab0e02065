"""What a test module holds to be certified by aerann's pytest plugin: the units and their options."""

from typing import NamedTuple


class Entry(NamedTuple):
    """One unit to certify: a registered name or a RecurrentUnit subclass, and its options."""

    unit: object
    options: tuple  # sorted (name, value) items

    @property
    def id(self) -> str:
        name = self.unit if isinstance(self.unit, str) else self.unit.name
        options = ",".join(f"{k}={v}" for k, v in self.options)
        return f"{name}({options})" if options else name


class Certification:
    """Units to certify, collected by aerann's pytest plugin as one test per unit and property.

    Assign it to a module-level name beginning with ``test``; the tests are
    called ``NAME[unit-property]``, so ``pytest -k ln_lstm`` runs one unit
    and ``pytest -k "ln_lstm and reference"`` one property.  ``examples``
    (default: pytest's ``--aerann-examples``, else 20) and ``jax``
    (default: ``--aerann-jax``) apply to every
    unit; ``variants`` adds units with options, as ``("lstm", {"peepholes":
    "none"})`` pairs; ``only`` (property ids) and ``stacks`` narrow the
    certification as in :func:`aerann.testing.certify`.
    """

    __aerann_certification__ = True  # how the pytest plugin recognises it without importing aerann

    def __init__(self, *units, variants=(), examples=None, jax=None, only=None, stacks=None):
        if not units and not variants:
            raise ValueError("certification() needs at least one unit name or class")
        self.entries = [Entry(unit, ()) for unit in units]
        self.entries += [Entry(unit, tuple(sorted(dict(options).items()))) for unit, options in variants]
        self.examples, self.jax, self.only, self.stacks = examples, jax, only, stacks

    def __repr__(self):
        return f"certification({', '.join(entry.id for entry in self.entries)})"


def certification(*units, variants=(), examples=None, jax=None, only=None, stacks=None) -> Certification:
    """:class:`Certification` of these units: ``test_units = certification("ln_lstm", "ln_gru")``."""
    return Certification(*units, variants=variants, examples=examples, jax=jax, only=only, stacks=stacks)
