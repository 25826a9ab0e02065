"""NumPy forward and hand-derived backward steps of the built-in units.

Each unit is a class whose instances are one variant of it: the options that
change its equations (``activation``, the LSTM's ``peepholes``, ...) are the
constructor's keywords, the same the unit's ``config()`` returns, and
``variants`` lists every variant besides the activation.  This is the
contract of every reference, a plugin's too (docs/plugins.md): options that
change only the initial values (``forget_bias``, ``recurrent_init``) are
accepted and ignored.  An
instance has ``shapes(n_in, n_out)`` (its
parameters' names and shapes, as in aerann's units, initial states
included), ``forward(p, x, *prev)``
returning ``(new_states, cache)`` (``keep=mask`` multiplies the previous
``h`` where it enters the recurrent products: recurrent dropout) and
``backward(p, cache, *d_new)``
returning ``(dx, d_prev, dparams)``: the gradients with respect to the step's
input, its previous states and its parameters, given the gradients with
respect to its new states.  Row vectors as in the Aesara units: x (B, n_in),
states (B, n_out).  No autodiff: every derivative below is written out by hand.
"""

import numpy as np

from aerann.units.hooks import hookimpl


def sigmoid(a):
    """The logistic function, written through tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


# name -> (function of the pre-activation, its derivative from the pre-activation)
ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "sigmoid": (sigmoid, lambda a: sigmoid(a) * (1.0 - sigmoid(a))),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(a.dtype)),
}


def _gate_shapes(n_in, n_out, *suffixes, peephole=None):
    """Shapes of Wx<s> (n_in, n_out), Wh<s> (n_out, n_out), [Wc<s> (peephole),] b<s> (n_out,) per gate."""
    shapes = {}
    for s in suffixes:
        shapes[f"Wx{s}"] = (n_in, n_out)
        shapes[f"Wh{s}"] = (n_out, n_out)
        if peephole and s != "c":
            shapes[f"Wc{s}"] = peephole
        shapes[f"b{s}"] = (n_out,)
    return shapes


def _affine_grads(dparams, names, x, h, dpre):
    """Record the gradients of Wx, Wh, b in x Wx + h Wh + b, given that of the sum (dpre)."""
    wx, wh, b = names
    dparams[wx] = x.T @ dpre
    dparams[wh] = h.T @ dpre
    dparams[b] = dpre.sum(axis=0)


def _dropped(h, keep):
    """The state as it enters the recurrent products, and the mask: ``h * keep`` (recurrent dropout)."""
    return (h, 1.0) if keep is None else (h * keep, keep)


class Reference:
    """What the references of the built-in units share: the activation and the ignored options."""

    states = ("h",)
    variants = ({},)

    def __init__(self, activation="tanh", forget_bias=None, recurrent_init=None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r} (choose one of {', '.join(ACTIVATIONS)})")
        self.activation = activation
        self.f, self.df = ACTIVATIONS[activation]


class Elman(Reference):
    """h = f(x Wx + h_prev Wh + bh)."""

    @staticmethod
    def shapes(n_in, n_out):
        return {"h0": (n_out,), "Wx": (n_in, n_out), "Wh": (n_out, n_out), "bh": (n_out,)}

    def forward(self, p, x, h, keep=None):
        hr, keep = _dropped(h, keep)
        a = x @ p["Wx"] + hr @ p["Wh"] + p["bh"]
        return [self.f(a)], (x, hr, keep, a)

    def backward(self, p, cache, dh_new):
        x, hr, keep, a = cache
        da = dh_new * self.df(a)
        dparams = {}
        _affine_grads(dparams, ("Wx", "Wh", "bh"), x, hr, da)
        return da @ p["Wx"].T, [(da @ p["Wh"].T) * keep], dparams


class Rated(Reference):
    """hhat = f(x Wx + h Wh + bh), z = sigmoid(x Wxz + h Whz + bz), h' = (1 - z) h + z hhat."""

    @staticmethod
    def shapes(n_in, n_out):
        return {**Elman.shapes(n_in, n_out), **_gate_shapes(n_in, n_out, "z")}

    def forward(self, p, x, h, keep=None):
        hr, keep = _dropped(h, keep)
        a = x @ p["Wx"] + hr @ p["Wh"] + p["bh"]
        hhat = self.f(a)
        z = sigmoid(x @ p["Wxz"] + hr @ p["Whz"] + p["bz"])
        return [(1 - z) * h + z * hhat], (x, h, hr, keep, a, hhat, z)

    def backward(self, p, cache, dh_new):
        x, h, hr, keep, a, hhat, z = cache
        da = dh_new * z * self.df(a)
        dz_pre = dh_new * (hhat - h) * z * (1 - z)
        dparams = {}
        _affine_grads(dparams, ("Wx", "Wh", "bh"), x, hr, da)
        _affine_grads(dparams, ("Wxz", "Whz", "bz"), x, hr, dz_pre)
        dx = da @ p["Wx"].T + dz_pre @ p["Wxz"].T
        dh = dh_new * (1 - z) + (da @ p["Wh"].T + dz_pre @ p["Whz"].T) * keep
        return dx, [dh], dparams


class GRU(Reference):
    """r, z gates; hhat = f(x Wxh + (r * h) Whh + bh), or with ``reset_after``
    f(x Wxh + bh + r * (h Whh + bhh)); h' = (1 - z) h + z hhat."""

    variants = ({}, {"reset_after": True})

    def __init__(self, activation="tanh", reset_after=False, **ignored):
        super().__init__(activation, **ignored)
        self.reset_after = reset_after

    def shapes(self, n_in, n_out):
        extra = {"bhh": (n_out,)} if self.reset_after else {}
        return {"h0": (n_out,), **_gate_shapes(n_in, n_out, "r", "z", "h"), **extra}

    def forward(self, p, x, h, keep=None):
        hr, keep = _dropped(h, keep)
        r = sigmoid(x @ p["Wxr"] + hr @ p["Whr"] + p["br"])
        z = sigmoid(x @ p["Wxz"] + hr @ p["Whz"] + p["bz"])
        if self.reset_after:
            recurrent = hr @ p["Whh"] + p["bhh"]
            a = x @ p["Wxh"] + p["bh"] + r * recurrent
        else:
            recurrent = None
            a = x @ p["Wxh"] + (r * hr) @ p["Whh"] + p["bh"]
        hhat = self.f(a)
        return [(1 - z) * h + z * hhat], (x, h, hr, keep, r, z, a, hhat, recurrent)

    def backward(self, p, cache, dh_new):
        x, h, hr, keep, r, z, a, hhat, recurrent = cache
        da = dh_new * z * self.df(a)
        dz_pre = dh_new * (hhat - h) * z * (1 - z)
        dparams = {"Wxh": x.T @ da, "bh": da.sum(axis=0)}
        if self.reset_after:
            d_recurrent = da * r
            dr_pre = da * recurrent * r * (1 - r)
            dparams["Whh"] = hr.T @ d_recurrent
            dparams["bhh"] = d_recurrent.sum(axis=0)
            dhr_candidate = d_recurrent @ p["Whh"].T
        else:
            d_rh = da @ p["Whh"].T
            dr_pre = d_rh * hr * r * (1 - r)
            dparams["Whh"] = (r * hr).T @ da
            dhr_candidate = d_rh * r
        _affine_grads(dparams, ("Wxz", "Whz", "bz"), x, hr, dz_pre)
        _affine_grads(dparams, ("Wxr", "Whr", "br"), x, hr, dr_pre)
        dx = da @ p["Wxh"].T + dz_pre @ p["Wxz"].T + dr_pre @ p["Wxr"].T
        dhr = dhr_candidate + dz_pre @ p["Whz"].T + dr_pre @ p["Whr"].T
        return dx, [dh_new * (1 - z) + dhr * keep], dparams


class LSTM(Reference):
    """The LSTM; g is the activation (tanh by default).

    i = sigmoid(x Wxi + h Whi + P(c, Wci) + bi), f = sigmoid(x Wxf + h Whf + P(c, Wcf) + bf),
    c' = f c + i g(x Wxc + h Whc + bc), o = sigmoid(x Wxo + h Who + P(c', Wco) + bo), h' = o g(c'),

    with the peephole term P(c, W) = c W ("full", the book's), c * W
    ("diagonal") or 0 ("none").
    """

    states = ("h", "c")
    variants = ({}, {"peepholes": "diagonal"}, {"peepholes": "none"})

    def __init__(self, activation="tanh", peepholes="full", **ignored):
        super().__init__(activation, **ignored)
        self.peepholes = peepholes

    def shapes(self, n_in, n_out):
        peephole = {"full": (n_out, n_out), "diagonal": (n_out,)}.get(self.peepholes)
        return {"h0": (n_out,), "c0": (n_out,), **_gate_shapes(n_in, n_out, "i", "f", "c", "o", peephole=peephole)}

    def _peephole(self, p, c, gate):
        if self.peepholes == "none":
            return 0.0
        return c @ p[f"Wc{gate}"] if self.peepholes == "full" else c * p[f"Wc{gate}"]

    def _peephole_grads(self, p, dparams, c, dpre, gate):
        """Record the gradient of Wc<gate> and return the one of c through the peephole, given that of
        the gate's pre-activation (dpre)."""
        if self.peepholes == "none":
            return 0.0
        weights = p[f"Wc{gate}"]
        if self.peepholes == "full":
            dparams[f"Wc{gate}"] = c.T @ dpre
            return dpre @ weights.T
        dparams[f"Wc{gate}"] = (c * dpre).sum(axis=0)
        return dpre * weights

    def forward(self, p, x, h, c, keep=None):
        g = self.f
        hr, keep = _dropped(h, keep)
        i = sigmoid(x @ p["Wxi"] + hr @ p["Whi"] + self._peephole(p, c, "i") + p["bi"])
        f = sigmoid(x @ p["Wxf"] + hr @ p["Whf"] + self._peephole(p, c, "f") + p["bf"])
        a = x @ p["Wxc"] + hr @ p["Whc"] + p["bc"]
        candidate = g(a)
        c_new = f * c + i * candidate
        o = sigmoid(x @ p["Wxo"] + hr @ p["Who"] + self._peephole(p, c_new, "o") + p["bo"])
        h_new = o * g(c_new)
        return [h_new, c_new], (x, hr, keep, c, i, f, a, candidate, c_new, o)

    def backward(self, p, cache, dh_new, dc_new):
        x, hr, keep, c, i, f, a, candidate, c_new, o = cache
        g, dg = self.f, self.df
        dparams = {}
        do_pre = dh_new * g(c_new) * o * (1 - o)
        dc_total = dc_new + dh_new * o * dg(c_new) + self._peephole_grads(p, dparams, c_new, do_pre, "o")
        da = dc_total * i * dg(a)
        di_pre = dc_total * candidate * i * (1 - i)
        df_pre = dc_total * c * f * (1 - f)
        dc = dc_total * f + self._peephole_grads(p, dparams, c, di_pre, "i")
        dc = dc + self._peephole_grads(p, dparams, c, df_pre, "f")
        _affine_grads(dparams, ("Wxo", "Who", "bo"), x, hr, do_pre)
        _affine_grads(dparams, ("Wxc", "Whc", "bc"), x, hr, da)
        _affine_grads(dparams, ("Wxi", "Whi", "bi"), x, hr, di_pre)
        _affine_grads(dparams, ("Wxf", "Whf", "bf"), x, hr, df_pre)
        dx = di_pre @ p["Wxi"].T + df_pre @ p["Wxf"].T + da @ p["Wxc"].T + do_pre @ p["Wxo"].T
        dh = di_pre @ p["Whi"].T + df_pre @ p["Whf"].T + da @ p["Whc"].T + do_pre @ p["Who"].T
        return dx, [dh * keep, dc], dparams


UNITS = {"elman": Elman, "rated": Rated, "gru": GRU, "lstm": LSTM}


@hookimpl
def aerann_register_references():
    return UNITS
