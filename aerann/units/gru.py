"""The gated recurrent unit, as in the book.

r = sigmoid(x Wxr + h_prev Whr + br), z = sigmoid(x Wxz + h_prev Whz + bz),
hhat = f(x Wxh + (r * h_prev) Whh + bh), h = (1 - z) h_prev + z hhat.
"""

import aesara.tensor as at

from aerann.units.base import get_activation, RecurrentUnit
from aerann.units.hooks import hookimpl

GATES = ("r", "z", "h")


class GRU(RecurrentUnit):
    name = "gru"

    def __init__(self, n_in, n_out, rng=None, activation="tanh"):
        super().__init__(n_in, n_out)
        self.f = get_activation(activation)
        self.activation = activation
        for gate in GATES:
            self.param(f"Wx{gate}", (n_in, n_out))
            self.param(f"Wh{gate}", (n_out, n_out))
            self.param(f"b{gate}", (n_out,), "zeros")

    def input_projection(self, x):
        p = self.params
        return tuple(x.dot(p[f"Wx{g}"]) + p[f"b{g}"] for g in GATES)

    def projected_step(self, p_t, h):
        p = self.params
        from_x_r, from_x_z, from_x_h = p_t
        r = at.sigmoid(from_x_r + h.dot(p["Whr"]))
        z = at.sigmoid(from_x_z + h.dot(p["Whz"]))
        hhat = self.f(from_x_h + (r * h).dot(p["Whh"]))
        return (1 - z) * h + z * hhat

    def config(self):
        return {"activation": self.activation}


@hookimpl
def aerann_register_units():
    return [GRU]
