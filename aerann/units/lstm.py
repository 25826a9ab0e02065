"""The LSTM: the book's, with peephole connections from the cell, and its variants.

With ``peepholes="full"`` (the default, the book's)::

    i = sigmoid(x Wxi + h Whi + c Wci + bi),  f = sigmoid(x Wxf + h Whf + c Wcf + bf),
    c' = f c + i g(x Wxc + h Whc + bc),  o = sigmoid(x Wxo + h Who + c' Wco + bo),
    h' = o g(c'),

with g the unit's activation (tanh by default) and the peepholes Wci, Wcf,
Wco full (n_out, n_out) matrices.  ``peepholes="diagonal"`` makes them
vectors (n_out,) that scale the cell elementwise (``c * wci``: Lasagne's
LSTM, Gers et al. 2002); ``peepholes="none"`` leaves them out, giving the
LSTM of PyTorch's ``nn.LSTM``, Keras and cuDNN.

Options: ``activation``, ``peepholes``, ``forget_bias`` (the initial value
of every entry of bf; 1.0 keeps the forget gate open at the start of
training, which Jozefowicz et al., 2015, found to help) and
``recurrent_init``, the initialisation of Whi, Whf, Whc, Who: "uniform"
(Glorot, the default) or "orthogonal".
"""

import aesara.tensor as at
import numpy as np

from aerann.data.validation import finite_float
from aerann.units.base import check_choice, get_activation, RECURRENT_INITS, RecurrentUnit
from aerann.units.hooks import hookimpl

GATES = ("i", "f", "c", "o")
PEEPHOLES = ("full", "diagonal", "none")


class LSTM(RecurrentUnit):
    name = "lstm"
    states = ("h", "c")
    recurrent_inputs = ("h",)

    def __init__(self, n_in, n_out, rng=None, activation="tanh", peepholes="full", forget_bias=0.0,
                 recurrent_init="uniform"):
        super().__init__(n_in, n_out)
        self.g = get_activation(activation)
        self.activation = activation
        self.peepholes = check_choice(peepholes, PEEPHOLES, "peepholes")
        self.forget_bias = finite_float(forget_bias, "forget_bias")
        self.recurrent_init = check_choice(recurrent_init, RECURRENT_INITS, "recurrent_init")
        peephole_shape = {"full": (n_out, n_out), "diagonal": (n_out,)}.get(self.peepholes)
        for gate in GATES:
            self.param(f"Wx{gate}", (n_in, n_out))
            self.param(f"Wh{gate}", (n_out, n_out), recurrent_init)
            if gate != "c" and peephole_shape:
                self.param(f"Wc{gate}", peephole_shape)
            bias = np.full(n_out, self.forget_bias) if gate == "f" else "zeros"
            self.param(f"b{gate}", (n_out,), bias)

    def peephole(self, c, gate):
        """What the cell ``c`` adds to the pre-activation of gate i, f or o."""
        if self.peepholes == "none":
            return 0
        weights = self.params[f"Wc{gate}"]
        return c.dot(weights) if self.peepholes == "full" else c * weights

    def input_projection(self, x):
        p = self.params
        return tuple(x.dot(p[f"Wx{g}"]) + p[f"b{g}"] for g in GATES)

    def projected_step(self, p_t, h, c, recurrent=None):
        p = self.params
        from_x_i, from_x_f, from_x_c, from_x_o = p_t
        (h_in,) = recurrent or (h,)
        i = at.sigmoid(from_x_i + h_in.dot(p["Whi"]) + self.peephole(c, "i"))
        f = at.sigmoid(from_x_f + h_in.dot(p["Whf"]) + self.peephole(c, "f"))
        c_new = f * c + i * self.g(from_x_c + h_in.dot(p["Whc"]))
        o = at.sigmoid(from_x_o + h_in.dot(p["Who"]) + self.peephole(c_new, "o"))
        return o * self.g(c_new), c_new

    def config(self):
        return {"activation": self.activation, **({"peepholes": self.peepholes} if self.peepholes != "full" else {})}


@hookimpl
def aerann_register_units():
    return [LSTM]
