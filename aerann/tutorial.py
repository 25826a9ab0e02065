"""RNNTheano: the WildML tutorial's language model as an Aesara graph.

The tutorial's names, arguments, defaults, initialisation and compiled
functions (``forward_propagation``, ``predict``, ``ce_error``, ``bptt``,
``sgd_step``), with two things done faster and with the same numbers:

- the input projection ``U[:, x_t]`` is one gather of U's columns before the
  scan, and
- the output softmax is one matrix product over all steps after the scan,
  instead of a product per step inside it.

Truncation follows the tutorial's RNNTheano, which passes ``bptt_truncate``
to scan's ``truncate_gradient``: the whole backward pass runs over the last
``bptt_truncate`` steps of the sentence only.  Errors made at earlier steps
reach neither U, W nor (because the tutorial computes o_t inside the scan) V.
RNNNumpy instead truncates per output step: the error at every step t goes
back through steps max(0, t - bptt_truncate) .. t.  The two agree exactly
when bptt_truncate >= len(x).
"""

import os
import tempfile
import zipfile
from pathlib import Path

import aesara
import aesara.tensor as at
import numpy as np
from aesara.tensor.special import log_softmax, softmax

from aerann import compile
from aerann.gradient_check import check_parameters
from aerann.validation import as_index_sequence, check_dataset, check_pair, positive_int

PARAMETER_NAMES = ("U", "V", "W")


class _Checked:
    """A compiled function whose arguments are validated first."""

    def __init__(self, function, check):
        self.function = function
        self.check = check

    def __call__(self, *args):
        return self.function(*self.check(*args))


class RNNTheano:
    """The tutorial's RNN language model, compiled by Aesara (C or JAX backend)."""

    def __init__(self, word_dim, hidden_dim=100, bptt_truncate=4):
        self.word_dim = positive_int(word_dim, "word_dim")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
        self.bptt_truncate = positive_int(bptt_truncate, "bptt_truncate")
        floatx = aesara.config.floatX
        # The tutorial's draws, in its order, from the global np.random.
        U = np.random.uniform(-np.sqrt(1.0 / word_dim), np.sqrt(1.0 / word_dim), (hidden_dim, word_dim))
        V = np.random.uniform(-np.sqrt(1.0 / hidden_dim), np.sqrt(1.0 / hidden_dim), (word_dim, hidden_dim))
        W = np.random.uniform(-np.sqrt(1.0 / hidden_dim), np.sqrt(1.0 / hidden_dim), (hidden_dim, hidden_dim))
        self.U = aesara.shared(U.astype(floatx), name="U")
        self.V = aesara.shared(V.astype(floatx), name="V")
        self.W = aesara.shared(W.astype(floatx), name="W")
        self._full_bptt = None
        self._compile()

    def _graph(self, truncate_gradient):
        """Symbolic inputs, probabilities, summed cross-entropy and its gradients."""
        x = at.ivector("x")
        y = at.ivector("y")
        U, V, W = self.U, self.V, self.W

        def forward_prop_step(u_t, s_t_prev, W):
            return at.tanh(u_t + at.dot(s_t_prev, W.T))

        s, _ = aesara.scan(
            forward_prop_step,
            sequences=U.T[x],
            outputs_info=at.zeros((self.U.shape[0],), dtype=U.dtype),
            non_sequences=[W],
            truncate_gradient=truncate_gradient,
            strict=True,
        )
        logits = at.dot(s, V.T)
        o = softmax(logits, axis=-1)
        step_errors = -log_softmax(logits, axis=-1)[at.arange(y.shape[0]), y]
        o_error = at.sum(step_errors)
        dU, dW = aesara.grad(o_error, [U, W])
        # The tutorial computes o_t inside the scan, so truncation also limits
        # V's gradient to the errors of the last `truncate_gradient` steps.
        v_errors = step_errors if truncate_gradient < 0 else step_errors[-truncate_gradient:]
        dV = aesara.grad(at.sum(v_errors), V)
        return x, y, o, o_error, [dU, dV, dW]

    def _compile(self):
        x, y, o, o_error, (dU, dV, dW) = self._graph(self.bptt_truncate)
        learning_rate = at.scalar("learning_rate")
        fn = compile.function
        self.forward_propagation = _Checked(fn([x], o), self._check_x)
        self.predict = _Checked(fn([x], at.argmax(o, axis=1)), self._check_x)
        self.ce_error = _Checked(fn([x, y], o_error), self._check_pair)
        self.bptt = _Checked(fn([x, y], [dU, dV, dW]), self._check_pair)
        self.sgd_step = _Checked(
            fn(
                [x, y, learning_rate],
                [],
                updates=[
                    (self.U, self.U - learning_rate * dU),
                    (self.V, self.V - learning_rate * dV),
                    (self.W, self.W - learning_rate * dW),
                ],
                allow_input_downcast=True,
            ),
            self._check_step,
        )

    def _check_x(self, x):
        return (as_index_sequence(x, self.word_dim, "x"),)

    def _check_pair(self, x, y):
        return check_pair(x, y, self.word_dim)

    def _check_step(self, x, y, learning_rate):
        if not np.isfinite(learning_rate):
            raise ValueError(f"learning_rate must be a finite number, got {learning_rate}")
        return (*check_pair(x, y, self.word_dim), learning_rate)

    def full_bptt(self, x, y):
        """Untruncated gradients [dU, dV, dW] (compiled on first use)."""
        if self._full_bptt is None:
            x_, y_, _, o_error, grads = self._graph(-1)
            self._full_bptt = compile.function([x_, y_], grads)
        return self._full_bptt(*check_pair(x, y, self.word_dim))

    def calculate_total_loss(self, X, Y):
        """Summed cross-entropy over every word of every sentence."""
        X, Y = check_dataset(X, Y, self.word_dim)
        return float(np.sum([self.ce_error(x, y) for x, y in zip(X, Y)]))

    def calculate_loss(self, X, Y):
        """Cross-entropy per word."""
        X, Y = check_dataset(X, Y, self.word_dim)
        return self.calculate_total_loss(X, Y) / sum(len(y) for y in Y)


def gradient_check_theano(model, x, y, h=0.001, error_threshold=0.01):
    """The tutorial's gradient check for RNNTheano: True when every entry agrees.

    Finite differences measure the true gradient, so the model's gradients
    are taken untruncated (``model.full_bptt``) whatever its bptt_truncate.
    """
    x, y = check_pair(x, y, model.word_dim)
    return check_parameters(
        PARAMETER_NAMES,
        model.full_bptt(x, y),
        get_value=lambda name: getattr(model, name).get_value(),
        set_value=lambda name, value: getattr(model, name).set_value(value.astype(getattr(model, name).dtype)),
        total_loss=lambda: model.calculate_total_loss([x], [y]),
        h=h,
        error_threshold=error_threshold,
    )


def _values(model):
    get = getattr(model.U, "get_value", None)
    if get is None:
        return model.U, model.V, model.W
    return model.U.get_value(), model.V.get_value(), model.W.get_value()


def save_model_parameters_theano(outfile, model):
    """Write U, V, W to ``outfile`` in the tutorial's npz format (atomically)."""
    outfile = Path(outfile)
    U, V, W = _values(model)
    handle, temporary = tempfile.mkstemp(dir=outfile.parent or ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, U=U, V=V, W=W)
        os.replace(temporary, outfile)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    print(f"Saved model parameters to {outfile}.")


def load_model_parameters_theano(path, model):
    """Load U, V, W from a tutorial npz file into ``model`` (RNNTheano or RNNNumpy).

    As in the tutorial, the model takes the file's sizes.  The file is read
    without unpickling; wrong keys, shapes or dtypes raise ValueError.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npzfile:
            keys = set(npzfile.files)
            if keys != set(PARAMETER_NAMES):
                raise ValueError(f"{path} must hold exactly the arrays U, V, W; it holds {sorted(keys)}")
            U, V, W = (npzfile[name] for name in PARAMETER_NAMES)
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"cannot read parameters from {path}: {error}") from None
    except ValueError as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"cannot read parameters from {path}: {error}") from None
    for name, array in zip(PARAMETER_NAMES, (U, V, W)):
        if array.ndim != 2 or array.dtype.kind != "f":
            raise ValueError(f"{path}: {name} must be a 2-D float array, got {array.dtype} with shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{path}: {name} holds NaN or infinite values")
    hidden_dim, word_dim = U.shape
    if V.shape != (word_dim, hidden_dim) or W.shape != (hidden_dim, hidden_dim):
        raise ValueError(
            f"{path}: inconsistent shapes U {U.shape}, V {V.shape}, W {W.shape} "
            f"(expected U (H, D), V (D, H), W (H, H))"
        )
    model.hidden_dim, model.word_dim = int(hidden_dim), int(word_dim)
    if hasattr(model.U, "set_value"):
        for name, array in zip(PARAMETER_NAMES, (U, V, W)):
            shared = getattr(model, name)
            shared.set_value(array.astype(shared.dtype))
    else:
        model.U, model.V, model.W = (a.astype(np.float64) for a in (U, V, W))
    print(f"Loaded model parameters from {path}. hidden_dim={hidden_dim} word_dim={word_dim}")
