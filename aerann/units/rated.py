"""The rated unit: an Elman candidate mixed with the previous state by a learned rate z.

hhat = f(x Wx + h_prev Wh + bh), z = sigmoid(x Wxz + h_prev Whz + bz),
h = (1 - z) h_prev + z hhat.

Options: ``activation`` f (tanh, sigmoid or relu) and ``recurrent_init``,
the initialisation of Wh and Whz: "uniform" (Glorot, the default) or
"orthogonal".
"""

import aesara.tensor as at

from aerann.units.base import check_choice, get_activation, RECURRENT_INITS, RecurrentUnit
from aerann.units.hooks import hookimpl


class Rated(RecurrentUnit):
    name = "rated"
    recurrent_inputs = ("h",)

    def __init__(self, n_in, n_out, rng=None, activation="tanh", recurrent_init="uniform"):
        super().__init__(n_in, n_out)
        self.f = get_activation(activation)
        self.activation = activation
        self.recurrent_init = check_choice(recurrent_init, RECURRENT_INITS, "recurrent_init")
        self.param("Wx", (n_in, n_out))
        self.param("Wh", (n_out, n_out), recurrent_init)
        self.param("bh", (n_out,), "zeros")
        self.param("Wxz", (n_in, n_out))
        self.param("Whz", (n_out, n_out), recurrent_init)
        self.param("bz", (n_out,), "zeros")

    def input_projection(self, x):
        p = self.params
        return x.dot(p["Wx"]) + p["bh"], x.dot(p["Wxz"]) + p["bz"]

    def projected_step(self, p_t, h, recurrent=None):
        p = self.params
        from_x, from_x_z = p_t
        (h_in,) = recurrent or (h,)
        hhat = self.f(from_x + h_in.dot(p["Wh"]))
        z = at.sigmoid(from_x_z + h_in.dot(p["Whz"]))
        return (1 - z) * h + z * hhat

    def config(self):
        return {"activation": self.activation}


@hookimpl
def aerann_register_units():
    return [Rated]
