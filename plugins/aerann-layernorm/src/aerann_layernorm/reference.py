"""NumPy references of the layer-normalised units: one step forward, and its backward by hand.

The same equations as :mod:`aerann_layernorm.units`, written again in NumPy
so that the Aesara units can be checked against something independent of
Aesara's graph and its automatic differentiation.  Row vectors: x (B, n_in),
every state (B, n_out).

A reference is built from the unit's ``config()`` (``Reference(**config)``).
An instance has ``states``, ``shapes(n_in, n_out)`` (the unit's parameters,
initial states included), ``forward(p, x, *prev)`` returning
``(new_states, cache)`` and ``backward(p, cache, *d_new)`` returning
``(dx, d_prev, dparams)``: the gradients with respect to the step's input,
its previous states and its parameters (all but the initial states), given
those with respect to its new states.  ``keep=mask`` multiplies the previous
``h`` where it enters the recurrent products (recurrent dropout).

Layer normalisation of a over its last axis (the n_out features of a row)::

    mu = mean(a),  sigma = sqrt(mean((a - mu)^2) + eps),  xhat = (a - mu) / sigma,
    y = g * xhat + b,

and its backward, given dy: dg = sum over rows of dy * xhat, db = sum of dy,
and with dxhat = g * dy (the means over the features)::

    da = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sigma,

the derivative of xhat through mu and sigma as well as directly: both
means are sums over the row, so a change of one feature moves every xhat.
"""

import numpy as np

EPS = 1e-5


def sigmoid(a):
    """The logistic function, through tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def layer_norm(a, g, b, eps):
    """g * (a - mean(a)) / sqrt(var(a) + eps) + b over the last axis, and the cache of its backward."""
    centred = a - a.mean(axis=-1, keepdims=True)
    sigma = np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps)
    xhat = centred / sigma
    return g * xhat + b, (xhat, sigma, g)


def layer_norm_backward(cache, dy):
    """(da, dg, db) of :func:`layer_norm`, given dy, the gradient with respect to its output."""
    xhat, sigma, g = cache
    dxhat = g * dy
    da = (dxhat - dxhat.mean(axis=-1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)) / sigma
    return da, (dy * xhat).sum(axis=0), dy.sum(axis=0)


def _normalised_gate_shapes(n_in, n_out, gates):
    """Wx<k> (n_in, n_out), Wh<k> (n_out, n_out), g<k> and b<k> (n_out,) for each gate k."""
    shapes = {}
    for k in gates:
        shapes.update({f"Wx{k}": (n_in, n_out), f"Wh{k}": (n_out, n_out), f"g{k}": (n_out,), f"b{k}": (n_out,)})
    return shapes


def _dropped(h, keep):
    """The state as the recurrent products see it, and the mask (1 without recurrent dropout)."""
    return (h, 1.0) if keep is None else (h * keep, keep)


class LayerNormLSTMReference:
    """The layer-normalised LSTM (see :mod:`aerann_layernorm.units`), peephole-free.

    a_k = x Wx_k + h Wh_k and n_k = LN(a_k; g_k, b_k) for k in i, f, c, o;
    c' = sigmoid(n_f) c + sigmoid(n_i) tanh(n_c),
    h' = sigmoid(n_o) tanh(LN(c'; gcell, bcell)).
    """

    states = ("h", "c")
    GATES = ("i", "f", "c", "o")

    def __init__(self, eps=EPS, forget_bias=None):
        self.eps = eps  # forget_bias sets only the initial bf, which arrives in p

    def shapes(self, n_in, n_out):
        return {"h0": (n_out,), "c0": (n_out,), **_normalised_gate_shapes(n_in, n_out, self.GATES),
                "gcell": (n_out,), "bcell": (n_out,)}

    def forward(self, p, x, h, c, keep=None):
        hr, keep = _dropped(h, keep)
        normalised, ln_caches = {}, {}
        for k in self.GATES:
            a = x @ p[f"Wx{k}"] + hr @ p[f"Wh{k}"]
            normalised[k], ln_caches[k] = layer_norm(a, p[f"g{k}"], p[f"b{k}"], self.eps)
        i, f, o = (sigmoid(normalised[k]) for k in "ifo")
        candidate = np.tanh(normalised["c"])
        c_new = f * c + i * candidate
        s, ln_caches["cell"] = layer_norm(c_new, p["gcell"], p["bcell"], self.eps)
        squashed = np.tanh(s)
        h_new = o * squashed
        return [h_new, c_new], (x, hr, keep, c, i, f, o, candidate, squashed, ln_caches)

    def backward(self, p, cache, dh_new, dc_new):
        x, hr, keep, c, i, f, o, candidate, squashed, ln_caches = cache
        dparams = {}
        ds = dh_new * o * (1 - squashed**2)
        dc_from_h, dparams["gcell"], dparams["bcell"] = layer_norm_backward(ln_caches["cell"], ds)
        dc_total = dc_new + dc_from_h
        dn = {
            "i": dc_total * candidate * i * (1 - i),
            "f": dc_total * c * f * (1 - f),
            "c": dc_total * i * (1 - candidate**2),
            "o": dh_new * squashed * o * (1 - o),
        }
        dx, dhr = 0.0, 0.0
        for k in self.GATES:
            da, dparams[f"g{k}"], dparams[f"b{k}"] = layer_norm_backward(ln_caches[k], dn[k])
            dparams[f"Wx{k}"] = x.T @ da
            dparams[f"Wh{k}"] = hr.T @ da
            dx = dx + da @ p[f"Wx{k}"].T
            dhr = dhr + da @ p[f"Wh{k}"].T
        return dx, [dhr * keep, dc_total * f], dparams


class LayerNormGRUReference:
    """The layer-normalised GRU (see :mod:`aerann_layernorm.units`), reset after the product.

    r = sigmoid(LN(x Wxr + h Whr; gr, br)), z = sigmoid(LN(x Wxz + h Whz; gz, bz)),
    hhat = tanh(LN(x Wxh; gh, bh) + r * LN(h Whh; ghh, bhh)), h' = (1 - z) h + z hhat.
    """

    states = ("h",)

    def __init__(self, eps=EPS):
        self.eps = eps

    def shapes(self, n_in, n_out):
        return {"h0": (n_out,), **_normalised_gate_shapes(n_in, n_out, ("r", "z", "h")),
                "ghh": (n_out,), "bhh": (n_out,)}

    def forward(self, p, x, h, keep=None):
        hr, keep = _dropped(h, keep)
        ln_caches = {}
        gates = {}
        for k in ("r", "z"):
            n, ln_caches[k] = layer_norm(x @ p[f"Wx{k}"] + hr @ p[f"Wh{k}"], p[f"g{k}"], p[f"b{k}"], self.eps)
            gates[k] = sigmoid(n)
        from_x, ln_caches["h"] = layer_norm(x @ p["Wxh"], p["gh"], p["bh"], self.eps)
        from_h, ln_caches["hh"] = layer_norm(hr @ p["Whh"], p["ghh"], p["bhh"], self.eps)
        r, z = gates["r"], gates["z"]
        hhat = np.tanh(from_x + r * from_h)
        return [(1 - z) * h + z * hhat], (x, h, hr, keep, r, z, from_h, hhat, ln_caches)

    def backward(self, p, cache, dh_new):
        x, h, hr, keep, r, z, from_h, hhat, ln_caches = cache
        dparams = {}
        dm = dh_new * z * (1 - hhat**2)
        dn = {"r": dm * from_h * r * (1 - r), "z": dh_new * (hhat - h) * z * (1 - z)}
        dx, dhr = 0.0, 0.0
        for k in ("r", "z"):
            da, dparams[f"g{k}"], dparams[f"b{k}"] = layer_norm_backward(ln_caches[k], dn[k])
            dparams[f"Wx{k}"] = x.T @ da
            dparams[f"Wh{k}"] = hr.T @ da
            dx = dx + da @ p[f"Wx{k}"].T
            dhr = dhr + da @ p[f"Wh{k}"].T
        du, dparams["gh"], dparams["bh"] = layer_norm_backward(ln_caches["h"], dm)
        dv, dparams["ghh"], dparams["bhh"] = layer_norm_backward(ln_caches["hh"], dm * r)
        dparams["Wxh"] = x.T @ du
        dparams["Whh"] = hr.T @ dv
        dx = dx + du @ p["Wxh"].T
        dhr = dhr + dv @ p["Whh"].T
        return dx, [dh_new * (1 - z) + dhr * keep], dparams
