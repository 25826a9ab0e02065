"""The Minimal Gated Unit: one forget gate doing the work of the GRU's two gates."""

import aesara.tensor as at

import aerann


class MGU(aerann.RecurrentUnit):
    """f = sigmoid(x Wxf + h Whf + bf), hhat = tanh(x Wxh + (f h) Whh + bh), h' = (1 - f) h + f hhat."""

    name = "mgu"

    def __init__(self, n_in, n_out, rng=None):
        super().__init__(n_in, n_out)
        for gate in ("f", "h"):
            self.param(f"Wx{gate}", (n_in, n_out), "uniform")
            self.param(f"Wh{gate}", (n_out, n_out), "uniform")
            self.param(f"b{gate}", (n_out,), "zeros")

    def step(self, x_t, h):
        p = self.params
        f = at.sigmoid(x_t.dot(p["Wxf"]) + h.dot(p["Whf"]) + p["bf"])
        hhat = at.tanh(x_t.dot(p["Wxh"]) + (f * h).dot(p["Whh"]) + p["bh"])
        return (1 - f) * h + f * hhat


@aerann.hookimpl
def aerann_register_units():
    return [MGU]
