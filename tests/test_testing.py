"""aerann.testing finds what is wrong with a unit, says where, and never lets Aesara's traceback out.

The bad units below are certified by class (they are registered only while
their certification runs) on their narrowest setting, the unit alone, so
that each compiles one small graph.  The pytest plugin and the command are
run as their users run them.
"""

import subprocess
import sys
import textwrap

import aesara.tensor as at
import numpy as np
import pytest
from aesara.gradient import grad_scale

from aerann import cli, units
from aerann.reference.units import Elman as ElmanReference
from aerann.testing import certify, PROPERTY_IDS
from aerann.units.base import RecurrentUnit


class HalvedGradient(RecurrentUnit):
    """Elman's step, but the gradient that reaches Wh is halved: the forward pass is right, BPTT is not."""

    name = "halved_gradient"

    def __init__(self, n_in, n_out, rng=None):
        super().__init__(n_in, n_out)
        self.param("Wx", (n_in, n_out))
        self.param("Wh", (n_out, n_out))
        self.param("bh", (n_out,), "zeros")

    def step(self, x_t, h):
        p = self.params
        return at.tanh(x_t.dot(p["Wx"]) + h.dot(grad_scale(p["Wh"], 0.5)) + p["bh"])


class TwoStates(HalvedGradient):
    name = "two_states"

    def step(self, x_t, h):
        return h, h


class WrongShape(HalvedGradient):
    name = "wrong_shape"

    def step(self, x_t, h):
        return at.concatenate([h, h], axis=1)


class Raises(HalvedGradient):
    name = "raises"

    def step(self, x_t, h):
        raise ValueError("this unit cannot step")


class WrongBackward(ElmanReference):
    """Elman's reference with a backward pass that forgets the recurrent weights' gradient."""

    def backward(self, p, cache, dh_new):
        dx, d_prev, dparams = super().backward(p, cache, dh_new)
        return dx, d_prev, {**dparams, "Wh": dparams["Wh"] * 0}


class NoStateArgument(ElmanReference):
    def forward(self, p, x):
        return [x], None


def outcome(certificate, property_id):
    return next(o for o in certificate.outcomes if o.property.id == property_id)


def test_a_wrong_gradient_is_caught_by_finite_differences_and_named():
    certificate = certify(HalvedGradient, examples=10, only=["finite_differences", "padding"], stacks=("alone",))
    assert not certificate.passed
    failed = outcome(certificate, "finite_differences")
    assert failed.failed and failed.message.startswith("Wh (shape (")
    assert "central differences" in failed.message
    assert "steps x" in failed.example and "default_rng(" in failed.example  # the shrunk example, readable
    assert outcome(certificate, "padding").status == "passed"  # the forward pass is right
    # Wh is checked after the embedding and Wx, which pass: the error table has all three.
    assert failed.errors["Wh"] > 0.1 and failed.errors["Wx"] < 1e-5 and failed.errors["embedding"] < 1e-5
    table = certificate.table()
    assert "FAIL  finite_differences" in table and "smallest failing example" in table
    assert "halved_gradient" not in units.names()  # registered for the certification only


def test_a_wrong_reference_fails_the_reference_check_only():
    certificate = certify("elman", reference=WrongBackward, examples=5, only=["reference", "finite_differences"],
                          stacks=("alone",))
    assert outcome(certificate, "finite_differences").status == "passed"
    failed = outcome(certificate, "reference")
    assert failed.failed and failed.message.startswith("Wh ")
    assert units.reference("elman") is ElmanReference  # the registered reference is untouched


@pytest.mark.parametrize("unit, message", [
    (TwoStates, "step returns 2 state(s), but the unit's states are ('h',)"),
    (WrongShape, "step returns h of shape (2, 4) for 2 rows of n_in=3, n_out=2; expected (2, 2)"),
    (Raises, "step(x_t, h) raised ValueError: this unit cannot step"),
])
def test_a_broken_unit_fails_its_contract_with_a_message_naming_it(unit, message):
    certificate = certify(unit, examples=2)
    contract = outcome(certificate, "contract")
    assert contract.failed and message in contract.message
    assert f"{unit.name} (tests" in contract.message or f"{unit.name} (test_testing" in contract.message
    assert all(o.status == "not run" for o in certificate.outcomes[1:])
    assert len(certificate.outcomes) == len(PROPERTY_IDS)


def test_a_reference_with_the_wrong_signature_fails_the_contract():
    certificate = certify("elman", reference=NoStateArgument, only=["reference"])
    contract = outcome(certificate, "contract")
    assert contract.failed and "NoStateArgument" in contract.message and "forward(p, x, h)" in contract.message


def test_an_unknown_unit_fails_without_a_traceback():
    certificate = certify("no_such_unit")
    assert not certificate.passed
    assert "unknown unit 'no_such_unit'" in outcome(certificate, "contract").message
    with pytest.raises(ValueError, match="unknown properties"):
        certify("elman", only=["speed"])
    with pytest.raises(ValueError, match="examples must be a positive integer"):
        certify("elman", examples=0)
    with pytest.raises(ValueError, match="stacks must be some of"):
        certify("elman", stacks=("everywhere",))


def test_the_command_prints_the_table_and_exits_1_on_a_failure(capsys):
    assert cli.main(["units", "--check", "no_such_unit"]) == 1
    assert "FAILED contract: unknown unit 'no_such_unit'" in capsys.readouterr().out
    assert cli.main(["units", "--check", "elman", "--examples", "0"]) == 1
    assert "--examples must be positive" in capsys.readouterr().err
    assert cli.main(["units", "--jax"]) == 1
    assert "go with --check NAME" in capsys.readouterr().err


@pytest.mark.slow
def test_the_command_certifies_a_built_in_unit(capsys):
    # elman at its defaults: tests/test_gradient_properties.py compiles the same stacks (on disk, shared)
    assert cli.main(["units", "--check", "elman", "--examples", "3"]) == 0
    out = capsys.readouterr().out
    assert "certification of elman (" in out
    for property_id in PROPERTY_IDS[:-1]:
        assert f"PASS  {property_id}" in out
    assert "n/a   jax" in out and "worst relative error per parameter" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  W") or
            line.startswith("  bh")}
    assert set(rows) == {"Wx", "Wh", "bh"}
    assert all(float(cell) < 1e-5 for cells in rows.values() for cell in cells if cell != "-")


def test_the_commands_options_reach_the_unit(capsys):
    assert cli.main(["units", "--check", "elman", "--option", "activation='cube'"]) == 1
    out = capsys.readouterr().out
    assert "certification of elman" in out and "FAIL  contract" in out
    assert "with options {'activation': 'cube'} raised ValueError" in out and "----  reference" in out


def test_the_pytest_plugin_collects_a_test_per_unit_and_property(tmp_path):
    (tmp_path / "test_plugin_units.py").write_text(textwrap.dedent('''
        import aesara.tensor as at
        from aesara.gradient import grad_scale

        import aerann
        from aerann.testing import certification


        class Halved(aerann.RecurrentUnit):
            name = "halved"

            def __init__(self, n_in, n_out, rng=None):
                super().__init__(n_in, n_out)
                self.param("Wx", (n_in, n_out))
                self.param("Wh", (n_out, n_out))

            def step(self, x_t, h):
                return at.tanh(x_t.dot(self.params["Wx"]) + h.dot(grad_scale(self.params["Wh"], 0.5)))


        test_elman = certification("elman", only=("contract", "padding", "reference"), stacks=("alone",))
        test_halved = certification(Halved, only=("finite_differences", "reference"), stacks=("alone",))
    '''))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
               "--aerann-examples", "3", "-rs", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "4 passed" in out or "3 passed" in out
    assert "test_halved[halved-finite_differences]" in out and "FAILED finite_differences: Wh" in out
    assert "halved reference: no NumPy reference registered" in out  # reported as skipped, with why
    selected = subprocess.run(command + ["-k", "elman and padding"], capture_output=True, text=True, cwd=tmp_path)
    assert selected.returncode == 0 and "1 passed" in selected.stdout and "deselected" in selected.stdout


def test_the_reference_contract_is_the_built_in_references_own():
    # Built with the unit's config() options, as plugins' references are.
    lstm = units.get("lstm")(3, 2, np.random.default_rng(0), peepholes="none", forget_bias=1.0)
    reference = units.reference("lstm")(**lstm.config())
    assert reference.shapes(3, 2) == {name: p.get_value().shape for name, p in lstm.params.items()}
