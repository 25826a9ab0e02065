"""RNNTheano: the WildML tutorial's language model as an Aesara graph.

The tutorial's names, arguments, defaults, initialisation and compiled
functions (``forward_propagation``, ``predict``, ``ce_error``, ``bptt``,
``sgd_step``), with two things done faster and with the same numbers:

- the input projection ``U[:, x_t]`` is one gather of U's columns before the
  scan (U is stored column-major, so each column is contiguous in memory and
  the gather copies 45 columns, not the whole matrix),
- the output softmax is one matrix product over all steps after the scan,
  instead of a product per step inside it, and
- ``sgd_step`` updates only the columns of U that the sentence used (the
  others have zero gradient), in place, instead of building a dense dU.

Truncation follows the tutorial's RNNTheano, which passes ``bptt_truncate``
to scan's ``truncate_gradient``: with k = bptt_truncate and T = len(x), the
whole backward pass runs over the last k steps of the sentence only.  The
state s_{T-k-1} is a constant, and the errors of outputs 0 .. T-k-1 reach
none of U, W or (because the tutorial computes o_t inside the scan step) V.
RNNNumpy instead truncates per output step: the error at every step t goes
back through steps max(0, t - k) .. t, and every step's error reaches V.
The two agree exactly when k >= len(x).  The compiled functions here give
the literal in-scan tutorial graph's numbers, truncated gradients included.

Every compiled function validates its arguments first (aerann.data.validation):
lists of ints are accepted like the tutorial's, while wrong lengths, empty
sequences, indices outside the vocabulary or non-integer input raise a
ValueError or TypeError that names the problem.
"""

import time
import zipfile
from pathlib import Path

import aesara
import aesara.tensor as at
import numpy as np
from aesara.tensor.special import softmax

from aerann.backend import compiler, parameters
from aerann.backend.crossentropy import cross_entropy
from aerann.data import files
from aerann.data.validation import as_index_sequence, check_dataset, check_pair, finite_float, positive_int
from aerann.tutorial.gradient_check import check_parameters

PARAMETER_NAMES = ("U", "V", "W")


class _Checked:
    """A compiled Aesara function whose arguments are validated first, compiled on its first call.

    The tutorial's model has five compiled functions, and a program often
    calls two of them (training calls ``sgd_step`` and ``ce_error``): each is
    built when first called (``.function``), so nobody waits for the C
    compiler on a function they never use.  It is built for the backend
    that was current when the model was made, as if it had been compiled
    then.  ``compile_seconds`` is the time that build took (None until then).
    """

    def __init__(self, build, check, name, backend):
        self._build = build
        self.check = check
        self.name = name
        self.backend = backend
        self._function = None
        self.compile_seconds = None

    @property
    def function(self):
        if self._function is None:
            start = time.perf_counter()
            with compiler.backend(self.backend):
                self._function = self._build()
            self.compile_seconds = time.perf_counter() - start
        return self._function

    def __call__(self, *args):
        checked = self.check(*args)
        return self.function(*checked)

    def __repr__(self):
        state = "compiled" if self._function is not None else "compiled on first call"
        return f"<{self.name}, {state}, inputs validated>"


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
        self.U = parameters.shared(np.asfortranarray(U, dtype=floatx), name="U")
        self.V = parameters.shared(V.astype(floatx), name="V")
        self.W = parameters.shared(W.astype(floatx), name="W")
        self.backend = compiler.get_backend()  # what every function of the model compiles for
        self._define_functions()

    def _graph(self, truncate_gradient):
        """Symbolic inputs, probabilities, summed cross-entropy and its gradients.

        The gradients are [dU_x, dV, dW], where dU_x (len(x), hidden_dim) is
        the gradient with respect to the gathered columns U[:, x]; it is the
        whole of dU's nonzero part.
        """
        x = at.ivector("x")
        y = at.ivector("y")
        U, V, W = self.U, self.V, self.W
        columns = U.T[x]

        def forward_prop_step(u_t, s_t_prev, W):
            return at.tanh(u_t + at.dot(s_t_prev, W.T))

        s, _ = aesara.scan(
            forward_prop_step,
            sequences=columns,
            outputs_info=at.zeros((self.U.shape[0],), dtype=U.dtype),
            non_sequences=[W],
            truncate_gradient=truncate_gradient,
            strict=True,
        )
        logits = at.dot(s, V.T)
        o = softmax(logits, axis=-1)
        o_error = at.sum(cross_entropy(logits, y))
        # The error's gradient at the logits (softmax minus one-hot) is computed
        # once and shared: V's gradient is its product with the states, and U's
        # and W's flow from it back through the scan.
        d_logits = aesara.grad(o_error, logits)
        dU_x, dW = aesara.grad(None, [columns, W], known_grads={logits: d_logits})
        # The tutorial computes o_t inside the scan, so truncation also limits
        # V's gradient to the errors of the last `truncate_gradient` steps.
        counted = slice(None) if truncate_gradient < 0 else slice(-truncate_gradient, None)
        dV = at.dot(d_logits[counted].T, s[counted])
        return x, y, o, o_error, [dU_x, dV, dW]

    def _dense(self, x, dU_x):
        """dU (hidden_dim, word_dim) from the gradient of the gathered columns (repeated words add up)."""
        return at.inc_subtensor(at.zeros_like(self.U).T[x], dU_x).T

    def _define_functions(self):
        """The five tutorial functions and the two of its gradient check and sampling, each compiled on
        its first call."""
        x, y, o, o_error, (dU_x, dV, dW) = self._graph(self.bptt_truncate)
        dU = self._dense(x, dU_x)
        learning_rate = at.scalar("learning_rate")
        fn = compiler.function

        def checked(name, check, *arguments, **options):
            return _Checked(lambda: fn(*arguments, name=name, **options), check, name, self.backend)

        self.forward_propagation = checked("forward_propagation", self._check_x, [x], o)
        self.predict = checked("predict", self._check_x, [x], at.argmax(o, axis=1))
        self.ce_error = checked("ce_error", self._check_pair, [x, y], o_error)
        self.bptt = checked("bptt", self._check_pair, [x, y], [dU, dV, dW])
        self.sgd_step = checked(
            "sgd_step",
            self._check_step,
            [x, y, learning_rate],
            [],
            updates=[
                (self.U, at.inc_subtensor(self.U.T[x], -learning_rate * dU_x).T),
                (self.V, self.V - learning_rate * dV),
                (self.W, self.W - learning_rate * dW),
            ],
            allow_input_downcast=True,
        )
        self._full_bptt = _Checked(self._build_full_bptt, self._check_pair, "full_bptt", self.backend)
        self._forward_step = _Checked(self._build_forward_step, self._check_step_input, "forward_step", self.backend)

    def compile_seconds(self) -> float:
        """Seconds spent so far compiling this model's functions (or loading them from the cache)."""
        functions = (self.forward_propagation, self.predict, self.ce_error, self.bptt, self.sgd_step,
                     self._full_bptt, self._forward_step)
        return sum(f.compile_seconds or 0.0 for f in functions)

    def _check_x(self, x):
        return (as_index_sequence(x, self.word_dim, "x"),)

    def _check_pair(self, x, y):
        return check_pair(x, y, self.word_dim)

    def _check_step(self, x, y, learning_rate):
        return (*check_pair(x, y, self.word_dim), finite_float(learning_rate, "learning_rate"))

    def full_bptt(self, x, y):
        """Untruncated gradients [dU, dV, dW] of the same graph (compiled on first use).

        ``bptt`` with truncation lifted: what the gradient check compares
        finite differences with.
        """
        return self._full_bptt(x, y)

    def _build_full_bptt(self):
        x, y, _, _, (dU_x, dV, dW) = self._graph(-1)
        return compiler.function([x, y], [self._dense(x, dU_x), dV, dW], name="full_bptt")

    def forward_step(self, x_t, s_t_prev=None):
        """One step of ``forward_propagation`` (compiled on first use): o_t and s_t from word x_t and
        s_{t-1} (None: zeros), so that sampling a word does not run the whole prefix again."""
        return self._forward_step(x_t, s_t_prev)

    def _build_forward_step(self):
        x, s_prev = at.iscalar("x_t"), at.vector("s_t_prev", dtype=self.U.dtype)
        s = at.tanh(self.U.T[x] + at.dot(s_prev, self.W.T))
        o = softmax(at.dot(s, self.V.T)[None, :], axis=-1)[0]  # a row: Aesara warns about a vector's softmax
        return compiler.function([x, s_prev], [o, s], name="forward_step")

    def _check_step_input(self, x_t, s_t_prev):
        x_t = as_index_sequence([x_t], self.word_dim, "x_t")[0]
        return x_t, np.zeros(self.hidden_dim, dtype=self.U.dtype) if s_t_prev is None else s_t_prev

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

    Central differences of ``ce_error`` against the symbolic gradients, entry
    by entry, with the tutorial's relative error; the first failing entry is
    printed and False returned.  Finite differences measure the true
    gradient, which ``model.bptt`` is only when bptt_truncate >= len(x).  For
    a shorter truncation the check uses ``model.full_bptt``, the same graph
    with truncation lifted (compiled on first use), so that it tests the
    graph rather than reporting the deliberate truncation as an error.
    """
    x, y = check_pair(x, y, model.word_dim)
    exact = model.bptt_truncate >= len(x)
    return check_parameters(
        PARAMETER_NAMES,
        model.bptt(x, y) if exact else model.full_bptt(x, y),
        get_value=lambda name: getattr(model, name).get_value(),
        set_value=lambda name, value: getattr(model, name).set_value(value.astype(getattr(model, name).dtype)),
        total_loss=lambda: model.calculate_total_loss([x], [y]),
        h=h,
        error_threshold=error_threshold,
    )


def _parameter_values(model):
    """U, V, W as arrays, from an RNNTheano's shared variables or an RNNNumpy's arrays."""
    return tuple(p.get_value() if hasattr(p, "get_value") else p for p in (model.U, model.V, model.W))


def save_model_parameters_theano(outfile, model):
    """Write U, V, W to ``outfile`` in the tutorial's npz format; returns the path written.

    Like the tutorial's ``np.savez(outfile, U=U, V=V, W=W)``, ".npz" is
    appended when the name lacks it.  The file is written beside its final
    place and then renamed, so an interrupted save never leaves half a file.
    """
    outfile = Path(outfile)
    if outfile.suffix != ".npz":
        outfile = outfile.with_name(outfile.name + ".npz")
    U, V, W = _parameter_values(model)
    files.write_atomic(outfile, lambda temporary: files.write_npz(temporary, {"U": U, "V": V, "W": W}))
    print(f"Saved model parameters to {outfile}.")
    return outfile


def _read_npz(path) -> dict:
    """The arrays of the npz file at ``path``, read without unpickling anything."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("not an npz archive")
        with loaded as npzfile:
            return {name: npzfile[name] for name in npzfile.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"cannot read parameters from {path}: {error}") from None


def load_model_parameters_theano(path, model):
    """Load U, V, W from a tutorial npz file into ``model`` (RNNTheano or RNNNumpy).

    As in the tutorial, the model takes the file's sizes (float32 files load
    into float64 models and back).  The file is read without unpickling;
    wrong keys, shapes or dtypes raise ValueError.
    """
    path = Path(path)
    arrays = _read_npz(path)
    if set(arrays) != set(PARAMETER_NAMES):
        raise ValueError(f"{path} must hold exactly the arrays U, V, W; it holds {sorted(arrays)}")
    U, V, W = (arrays[name] for name in PARAMETER_NAMES)
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
            # Column-major U keeps RNNTheano's column gather cheap (see the module docstring).
            order = "F" if name == "U" else "C"
            shared.set_value(np.asarray(array, dtype=shared.dtype, order=order))
    else:
        model.U, model.V, model.W = (a.astype(np.float64) for a in (U, V, W))
    print(f"Loaded model parameters from {path}. hidden_dim={hidden_dim} word_dim={word_dim}")
