"""Layer-normalised LSTM and GRU (Ba, Kiros and Hinton, 2016, "Layer Normalization").

Layer normalisation rescales a pre-activation by statistics of its own
features, for each row and each step, instead of by statistics over the
batch (batch normalisation), which a recurrent network would need for
every time step separately::

    LN(a; g, b) = g * (a - mean(a)) / sqrt(var(a) + eps) + b,

mean and variance over the last axis: the n_out features of one gate, in
one row.  The gain g (initially 1) and bias b (initially 0) are learned,
one pair per normalised quantity; eps (1e-5, the option ``eps``) keeps the
division finite, also for n_out = 1, where a - mean(a) = 0 and LN(a) = b.
Since LN removes the mean, a bias added before it would have no effect:
the only biases are the b of the normalisations.

``ln_lstm`` (:class:`LayerNormLSTM`, states h and c, no peepholes): one
normalisation of each gate's summed pre-activation (the paper's recurrent
layer of its section 3.1, per gate; its supplementary LSTM normalises the
input and recurrent shares separately) and the paper's normalised cell::

    a_k = x Wx_k + h Wh_k,  n_k = LN(a_k; g_k, b_k)     for k in i, f, c, o
    c' = sigmoid(n_f) * c + sigmoid(n_i) * tanh(n_c)
    h' = sigmoid(n_o) * tanh(LN(c'; gcell, bcell))

``forget_bias`` is the initial value of bf, the forget gate's bias after
normalisation (default 0, as aerann's ``lstm``).

``ln_gru`` (:class:`LayerNormGRU`, state h) is the GRU of the paper's
supplementary material, whose reset gate acts after the recurrent product
(aerann's ``gru`` with ``reset_after=True``), with its gates normalised by
the rule of the LSTM above, one normalisation of each gate's summed
pre-activation, and its candidate normalised as the paper does it, the input and recurrent
shares separately::

    r = sigmoid(LN(x Wxr + h Whr; gr, br)),  z = sigmoid(LN(x Wxz + h Whz; gz, bz))
    hhat = tanh(LN(x Wxh; gh, bh) + r * LN(h Whh; ghh, bhh))
    h' = (1 - z) * h + z * hhat

Why this one.  The candidate: r scales the recurrent share alone, so that
share has to be normalised on its own before r scales it; normalising the
sum x Wxh + r * (h Whh) instead would divide the reset gate's scaling out
again wherever the recurrent share dominates.  The gates: their
pre-activations are plain sums, normalised once each as the LSTM's are, so
that the two units follow one rule (the paper normalises the input and
recurrent shares of the gates separately too, at twice the
normalisations).  Reset-after also lets LN(x Wxh) leave the recurrence:
:meth:`LayerNormGRU.input_projection` computes it for the whole sequence
at once.

Both units take the recurrent inputs of aerann's recurrent dropout: the
state ``h`` as the products h Wh_k see it.
"""

import math

import aerann  # first: it configures Aesara before Aesara is imported

import aesara.tensor as at
import numpy as np

from aerann_layernorm.reference import EPS


def layer_norm(a, g, b, eps):
    """g * (a - mean(a)) / sqrt(var(a) + eps) + b, the statistics over the last axis of ``a``."""
    centred = a - a.mean(axis=-1, keepdims=True)
    variance = at.square(centred).mean(axis=-1, keepdims=True)
    return g * centred / at.sqrt(variance + eps) + b


def _positive_eps(eps):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return float(eps)


class LayerNormUnit(aerann.RecurrentUnit):
    """What both units share: ``eps`` and the parameters of one normalised gate."""

    recurrent_inputs = ("h",)

    def __init__(self, n_in, n_out, rng=None, eps=EPS):
        super().__init__(n_in, n_out)
        self.eps = _positive_eps(eps)

    def normalised_gate(self, gate, bias="zeros"):
        """Create Wx<gate> (n_in, n_out), Wh<gate> (n_out, n_out), g<gate> = 1 and b<gate> (n_out,)."""
        self.param(f"Wx{gate}", (self.n_in, self.n_out), "uniform")
        self.param(f"Wh{gate}", (self.n_out, self.n_out), "uniform")
        self.normalisation(gate, bias)

    def normalisation(self, name, bias="zeros"):
        """Create the gain g<name> (ones) and bias b<name> of one normalisation."""
        self.param(f"g{name}", (self.n_out,), np.ones(self.n_out))
        self.param(f"b{name}", (self.n_out,), bias)

    def ln(self, a, name):
        """LN(a; g<name>, b<name>)."""
        return layer_norm(a, self.params[f"g{name}"], self.params[f"b{name}"], self.eps)

    def config(self):
        return {"eps": self.eps} if self.eps != EPS else {}


class LayerNormLSTM(LayerNormUnit):
    """The LSTM with each gate's pre-activation and the cell layer-normalised (module docstring)."""

    name = "ln_lstm"
    states = ("h", "c")
    GATES = ("i", "f", "c", "o")

    def __init__(self, n_in, n_out, rng=None, eps=EPS, forget_bias=0.0):
        super().__init__(n_in, n_out, eps=eps)
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)) \
                or not math.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        self.forget_bias = float(forget_bias)
        for gate in self.GATES:
            self.normalised_gate(gate, np.full(n_out, self.forget_bias) if gate == "f" else "zeros")
        self.normalisation("cell")

    def input_projection(self, x):
        return tuple(x.dot(self.params[f"Wx{k}"]) for k in self.GATES)

    def projected_step(self, p_t, h, c, recurrent=None):
        (h_in,) = recurrent or (h,)
        n = {k: self.ln(from_x + h_in.dot(self.params[f"Wh{k}"]), k) for k, from_x in zip(self.GATES, p_t)}
        c_new = at.sigmoid(n["f"]) * c + at.sigmoid(n["i"]) * at.tanh(n["c"])
        return at.sigmoid(n["o"]) * at.tanh(self.ln(c_new, "cell")), c_new

    def config(self):
        return {**super().config(), **({"forget_bias": self.forget_bias} if self.forget_bias else {})}


class LayerNormGRU(LayerNormUnit):
    """The reset-after GRU with its gates and both shares of its candidate layer-normalised."""

    name = "ln_gru"

    def __init__(self, n_in, n_out, rng=None, eps=EPS):
        super().__init__(n_in, n_out, eps=eps)
        for gate in ("r", "z", "h"):
            self.normalised_gate(gate)
        self.normalisation("hh")

    def input_projection(self, x):
        p = self.params
        return x.dot(p["Wxr"]), x.dot(p["Wxz"]), self.ln(x.dot(p["Wxh"]), "h")

    def projected_step(self, p_t, h, recurrent=None):
        p = self.params
        from_x_r, from_x_z, from_x_h = p_t
        (h_in,) = recurrent or (h,)
        r = at.sigmoid(self.ln(from_x_r + h_in.dot(p["Whr"]), "r"))
        z = at.sigmoid(self.ln(from_x_z + h_in.dot(p["Whz"]), "z"))
        hhat = at.tanh(from_x_h + r * self.ln(h_in.dot(p["Whh"]), "hh"))
        return (1 - z) * h + z * hhat
