"""The Elman unit (the book's simple recurrent unit): h = f(x Wx + h_prev Wh + bh)."""

from aerann.units.base import get_activation, RecurrentUnit
from aerann.units.hooks import hookimpl


class Elman(RecurrentUnit):
    name = "elman"

    def __init__(self, n_in, n_out, rng=None, activation="tanh"):
        super().__init__(n_in, n_out)
        self.f = get_activation(activation)
        self.activation = activation
        self.Wx = self.param("Wx", (n_in, n_out))
        self.Wh = self.param("Wh", (n_out, n_out))
        self.bh = self.param("bh", (n_out,), "zeros")

    def input_projection(self, x):
        return x.dot(self.Wx) + self.bh

    def projected_step(self, p_t, h):
        return self.f(p_t + h.dot(self.Wh))

    def config(self):
        return {"activation": self.activation}


@hookimpl
def aerann_register_units():
    return [Elman]
