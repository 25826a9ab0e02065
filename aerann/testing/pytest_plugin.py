"""aerann's pytest plugin (entry point ``pytest11``): certification tests from one line.

A test module that assigns :func:`aerann.testing.certification` to a
``test*`` name gets one test item per unit and property; a property that
does not apply (no NumPy reference, JAX not asked for) is reported as
skipped with the reason, and a failure shows the certification's report:
the parameter, the error and hypothesis's smallest failing example.

Loading it imports aerann and its harness (aerann.testing), as every
pytest run does in an environment where aerann is installed.
"""

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("aerann", "aerann unit certification")
    group.addoption("--aerann-examples", type=int, default=None,
                    help="examples per certified property (default 20)")
    group.addoption("--aerann-jax", action="store_true", default=False,
                    help="certify units on the JAX backend as well")


def pytest_pycollect_makeitem(collector, name, obj):
    if not getattr(type(obj), "__aerann_certification__", False):
        return None
    if not collector.funcnamefilter(name):
        return None
    from aerann.testing.certify import PROPERTY_IDS

    selected = [prop for prop in PROPERTY_IDS if obj.only is None or prop in obj.only]
    return [CertificationItem.from_parent(collector, name=f"{name}[{entry.id}-{prop}]", certification=obj,
                                          entry=entry, property_id=prop)
            for entry in obj.entries for prop in selected]


class CertificationFailed(Exception):
    """A certified property failed; the message is the certification's report."""


class CertificationItem(pytest.Item):
    """One property of one unit."""

    def __init__(self, *, certification, entry, property_id, **kwargs):
        super().__init__(**kwargs)
        self.certification, self.entry, self.property_id = certification, entry, property_id

    def runtest(self):
        from aerann.testing.certify import certify, DEFAULT_EXAMPLES

        examples = self.certification.examples or self.config.getoption("aerann_examples") or DEFAULT_EXAMPLES
        jax = self.certification.jax if self.certification.jax is not None else self.config.getoption("aerann_jax")
        stacks = {} if self.certification.stacks is None else {"stacks": self.certification.stacks}
        certificate = certify(self.entry.unit, examples=examples, jax=jax, options=dict(self.entry.options),
                              only=[self.property_id], **stacks)
        outcome = next(o for o in certificate.outcomes if o.property.id == self.property_id)
        if not certificate.passed:
            raise CertificationFailed(certificate.table())
        if outcome.status == "n/a":
            pytest.skip(f"{self.entry.id} {self.property_id}: {outcome.message}")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CertificationFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name
