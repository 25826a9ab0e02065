"""The gated recurrent unit: the book's, and the cuDNN/PyTorch variant.

The book's (``reset_after=False``, the default)::

    r = sigmoid(x Wxr + h_prev Whr + br),  z = sigmoid(x Wxz + h_prev Whz + bz),
    hhat = f(x Wxh + (r * h_prev) Whh + bh),  h = (1 - z) h_prev + z hhat.

With ``reset_after=True`` the reset gate scales the recurrent product
instead of the state, and that product has a bias of its own, ``bhh``::

    hhat = f(x Wxh + bh + r * (h_prev Whh + bhh)),

the GRU of cuDNN, PyTorch's ``nn.GRU`` and Keras's default.  (PyTorch's
update gate is 1 - z: it writes h = (1 - z') hhat + z' h_prev.)

Options: ``activation`` f (tanh, sigmoid or relu), ``reset_after`` and
``recurrent_init``, the initialisation of Whr, Whz, Whh: "uniform" (Glorot,
the default) or "orthogonal".
"""

import aesara.tensor as at

from aerann.units.base import check_choice, get_activation, RECURRENT_INITS, RecurrentUnit
from aerann.units.hooks import hookimpl

GATES = ("r", "z", "h")


class GRU(RecurrentUnit):
    name = "gru"
    recurrent_inputs = ("h",)

    def __init__(self, n_in, n_out, rng=None, activation="tanh", reset_after=False, recurrent_init="uniform"):
        super().__init__(n_in, n_out)
        self.f = get_activation(activation)
        self.activation = activation
        if not isinstance(reset_after, bool):
            raise TypeError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = reset_after
        self.recurrent_init = check_choice(recurrent_init, RECURRENT_INITS, "recurrent_init")
        for gate in GATES:
            self.param(f"Wx{gate}", (n_in, n_out))
            self.param(f"Wh{gate}", (n_out, n_out), recurrent_init)
            self.param(f"b{gate}", (n_out,), "zeros")
        if reset_after:
            self.param("bhh", (n_out,), "zeros")

    def input_projection(self, x):
        p = self.params
        return tuple(x.dot(p[f"Wx{g}"]) + p[f"b{g}"] for g in GATES)

    def projected_step(self, p_t, h, recurrent=None):
        p = self.params
        from_x_r, from_x_z, from_x_h = p_t
        (h_in,) = recurrent or (h,)
        r = at.sigmoid(from_x_r + h_in.dot(p["Whr"]))
        z = at.sigmoid(from_x_z + h_in.dot(p["Whz"]))
        if self.reset_after:
            hhat = self.f(from_x_h + r * (h_in.dot(p["Whh"]) + p["bhh"]))
        else:
            hhat = self.f(from_x_h + (r * h_in).dot(p["Whh"]))
        return (1 - z) * h + z * hhat

    def config(self):
        return {"activation": self.activation, **({"reset_after": True} if self.reset_after else {})}


@hookimpl
def aerann_register_units():
    return [GRU]
