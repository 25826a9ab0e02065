"""The MGU plugin, tested as a user of the installed plugin would."""

import numpy as np

import aerann


def test_mgu_is_registered_by_its_entry_point():
    assert "mgu" in aerann.units.names()
    assert "aerann-mgu" in aerann.units.sources()["mgu"]


def test_mgu_keeps_its_state_when_the_gate_is_shut():
    unit = aerann.units.get("mgu")(2, 3, np.random.default_rng(0))
    unit.params["bf"].set_value(np.full(3, -50.0))  # f = 0: h' = h
    import aesara.tensor as at

    x, h = at.matrix("x"), at.matrix("h")
    h_value = np.arange(6.0).reshape(2, 3)
    out = unit.step(x, h).eval({x: np.ones((2, 2)), h: h_value})
    np.testing.assert_allclose(out, h_value, atol=1e-12)
