"""Certify a recurrent unit: the public test harness (docs/plugins.md, "Certify your unit").

``certify("gru")`` (a registered name, or a RecurrentUnit subclass) checks
the unit's gradients against its NumPy reference and against finite
differences, padding, masks, truncation and final states, stacking with
every built-in unit, training, saving and loading, float32 and, with
``jax=True``, the JAX backend, each on examples hypothesis draws
(:data:`PROPERTIES` lists them with their tolerances), and returns a
:class:`Certificate` whose ``table()`` is the report.

In a plugin's test suite one line gives a test per unit and property
(collected by aerann's pytest plugin)::

    test_certified = aerann.testing.certification("ln_lstm", "ln_gru")

and ``aerann units --check NAME`` runs the same from the command line.
"""

from aerann.testing.certify import (
    Certificate, certify, DEFAULT_EXAMPLES, Outcome, PROPERTIES, PROPERTY_IDS, Property, registered,
)
from aerann.testing.collection import Certification, certification
from aerann.testing.properties import CheckFailed

__all__ = [
    "Certificate",
    "Certification",
    "CheckFailed",
    "DEFAULT_EXAMPLES",
    "Outcome",
    "PROPERTIES",
    "PROPERTY_IDS",
    "Property",
    "certification",
    "certify",
    "registered",
]
