"""The LSTM with peephole connections from the cell, as in the book.

i = sigmoid(x Wxi + h Whi + c Wci + bi), f = sigmoid(x Wxf + h Whf + c Wcf + bf),
c' = f c + i g(x Wxc + h Whc + bc), o = sigmoid(x Wxo + h Who + c' Wco + bo),
h' = o g(c'), with g the unit's activation (tanh by default).  The peepholes
Wci, Wcf, Wco are full (n_out, n_out) matrices, as in the book.
"""

import aesara.tensor as at

from aerann.units.base import get_activation, RecurrentUnit
from aerann.units.hooks import hookimpl

GATES = ("i", "f", "c", "o")


class LSTM(RecurrentUnit):
    name = "lstm"
    states = ("h", "c")

    def __init__(self, n_in, n_out, rng=None, activation="tanh"):
        super().__init__(n_in, n_out)
        self.g = get_activation(activation)
        self.activation = activation
        for gate in GATES:
            self.param(f"Wx{gate}", (n_in, n_out))
            self.param(f"Wh{gate}", (n_out, n_out))
            if gate != "c":
                self.param(f"Wc{gate}", (n_out, n_out))
            self.param(f"b{gate}", (n_out,), "zeros")

    def input_projection(self, x):
        p = self.params
        return tuple(x.dot(p[f"Wx{g}"]) + p[f"b{g}"] for g in GATES)

    def projected_step(self, p_t, h, c):
        p = self.params
        from_x_i, from_x_f, from_x_c, from_x_o = p_t
        i = at.sigmoid(from_x_i + h.dot(p["Whi"]) + c.dot(p["Wci"]))
        f = at.sigmoid(from_x_f + h.dot(p["Whf"]) + c.dot(p["Wcf"]))
        c_new = f * c + i * self.g(from_x_c + h.dot(p["Whc"]))
        o = at.sigmoid(from_x_o + h.dot(p["Who"]) + c_new.dot(p["Wco"]))
        return o * self.g(c_new), c_new

    def config(self):
        return {"activation": self.activation}


@hookimpl
def aerann_register_units():
    return [LSTM]
