"""The Elman unit (the book's simple recurrent unit): h = f(x Wx + h_prev Wh + bh).

Options: ``activation`` f (tanh, sigmoid or relu) and ``recurrent_init``,
the initialisation of Wh: "uniform" (Glorot, the default) or "orthogonal".
"""

from aerann.units.base import check_choice, get_activation, RECURRENT_INITS, RecurrentUnit
from aerann.units.hooks import hookimpl


class Elman(RecurrentUnit):
    name = "elman"
    recurrent_inputs = ("h",)

    def __init__(self, n_in, n_out, rng=None, activation="tanh", recurrent_init="uniform"):
        super().__init__(n_in, n_out)
        self.f = get_activation(activation)
        self.activation = activation
        self.recurrent_init = check_choice(recurrent_init, RECURRENT_INITS, "recurrent_init")
        self.Wx = self.param("Wx", (n_in, n_out))
        self.Wh = self.param("Wh", (n_out, n_out), recurrent_init)
        self.bh = self.param("bh", (n_out,), "zeros")

    def input_projection(self, x):
        return x.dot(self.Wx) + self.bh

    def projected_step(self, p_t, h, recurrent=None):
        (h_in,) = recurrent or (h,)
        return self.f(p_t + h_in.dot(self.Wh))

    def config(self):
        return {"activation": self.activation}


@hookimpl
def aerann_register_units():
    return [Elman]
