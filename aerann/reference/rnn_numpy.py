"""RNNNumpy: the WildML tutorial's language model in plain NumPy.

Kept as the tutorial wrote it (names, shapes, initialisation, the per-output
truncation of BPTT) so that its numbers are the reference for RNNTheano.
Parameters: U (hidden_dim, word_dim) input weights, V (word_dim, hidden_dim)
output weights, W (hidden_dim, hidden_dim) recurrent weights;
s_t = tanh(U[:, x_t] + W s_{t-1}) with s_{-1} = 0, o_t = softmax(V s_t).

Truncation (``bptt_truncate = k``) is per output step: the error of output t
flows back through the states of steps t, t-1, ..., max(0, t - k) and stops
there, as if s_{t-k-1} were a constant; every output step gets its own
window.  RNNTheano truncates differently (see aerann.tutorial); the two agree
exactly when k >= len(x).
"""

import numpy as np

from aerann.data.validation import as_index_sequence, check_dataset, check_pair, finite_float, positive_int
from aerann.tutorial.gradient_check import check_parameters


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted for stability."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class RNNNumpy:
    """The tutorial's RNN language model, forward pass and BPTT written out in NumPy."""

    def __init__(self, word_dim, hidden_dim=100, bptt_truncate=4):
        self.word_dim = positive_int(word_dim, "word_dim")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
        self.bptt_truncate = positive_int(bptt_truncate, "bptt_truncate")
        # The tutorial's draws, in its order, from the global np.random.
        self.U = np.random.uniform(-np.sqrt(1.0 / word_dim), np.sqrt(1.0 / word_dim), (hidden_dim, word_dim))
        self.V = np.random.uniform(-np.sqrt(1.0 / hidden_dim), np.sqrt(1.0 / hidden_dim), (word_dim, hidden_dim))
        self.W = np.random.uniform(-np.sqrt(1.0 / hidden_dim), np.sqrt(1.0 / hidden_dim), (hidden_dim, hidden_dim))

    def forward_propagation(self, x):
        """Output probabilities o (T, word_dim) and states s (T + 1, hidden_dim).

        s[-1] is the all-zero initial state, so s[t - 1] works for t = 0.
        """
        x = as_index_sequence(x, self.word_dim, "x")
        T = len(x)
        s = np.zeros((T + 1, self.hidden_dim))
        o = np.zeros((T, self.word_dim))
        for t in range(T):
            s[t] = np.tanh(self.U[:, x[t]] + self.W.dot(s[t - 1]))
            o[t] = softmax(self.V.dot(s[t]))
        return o, s

    def forward_step(self, x_t, s_t_prev=None):
        """One step of :meth:`forward_propagation`: o_t and s_t from word x_t and s_{t-1} (None: zeros)."""
        x_t = int(as_index_sequence([x_t], self.word_dim, "x_t")[0])
        s_t_prev = np.zeros(self.hidden_dim) if s_t_prev is None else s_t_prev
        s_t = np.tanh(self.U[:, x_t] + self.W.dot(s_t_prev))
        return softmax(self.V.dot(s_t)), s_t

    def predict(self, x):
        """The most likely next word at every step."""
        o, _ = self.forward_propagation(x)
        return np.argmax(o, axis=1)

    def calculate_total_loss(self, X, Y):
        """Summed cross-entropy over every word of every sentence."""
        X, Y = check_dataset(X, Y, self.word_dim)
        loss = 0.0
        for x, y in zip(X, Y):
            o, _ = self.forward_propagation(x)
            loss += -np.sum(np.log(o[np.arange(len(y)), y]))
        return loss

    def calculate_loss(self, X, Y):
        """Cross-entropy per word."""
        X, Y = check_dataset(X, Y, self.word_dim)
        return self.calculate_total_loss(X, Y) / sum(len(y) for y in Y)

    def bptt(self, x, y):
        """Gradients [dLdU, dLdV, dLdW] of the sentence's summed cross-entropy.

        The tutorial's truncation: the error at output step t is propagated
        back through at most ``bptt_truncate`` earlier steps (steps
        max(0, t - bptt_truncate) .. t), separately for every t.  dLdV is
        never truncated: V only touches the step's own output.  Exact when
        ``bptt_truncate >= len(x) - 1``.
        """
        x, y = check_pair(x, y, self.word_dim)
        T = len(y)
        o, s = self.forward_propagation(x)
        dLdU = np.zeros(self.U.shape)
        dLdV = np.zeros(self.V.shape)
        dLdW = np.zeros(self.W.shape)
        delta_o = o
        delta_o[np.arange(T), y] -= 1.0
        for t in range(T - 1, -1, -1):
            dLdV += np.outer(delta_o[t], s[t])
            delta_t = self.V.T.dot(delta_o[t]) * (1 - s[t] ** 2)
            for step in range(t, max(0, t - self.bptt_truncate) - 1, -1):
                dLdW += np.outer(delta_t, s[step - 1])
                dLdU[:, x[step]] += delta_t
                delta_t = self.W.T.dot(delta_t) * (1 - s[step - 1] ** 2)
        return [dLdU, dLdV, dLdW]

    def sgd_step(self, x, y, learning_rate):
        """One step of stochastic gradient descent on one sentence."""
        learning_rate = finite_float(learning_rate, "learning_rate")
        dLdU, dLdV, dLdW = self.bptt(x, y)
        self.U -= learning_rate * dLdU
        self.V -= learning_rate * dLdV
        self.W -= learning_rate * dLdW

    def gradient_check(self, x, y, h=0.001, error_threshold=0.01):
        """Compare bptt with central differences of the loss; True when every entry agrees.

        The tutorial's relative-error check |g - e| / (|g| + |e|) (0 when both
        are 0).  Finite differences measure the true gradient, so bptt runs
        with its truncation lifted for the check (the tutorial sets
        bptt_truncate=1000 for the same reason).  The first failing entry is
        printed (parameter, index, both values) and False returned.
        """
        x, y = check_pair(x, y, self.word_dim)
        truncate = self.bptt_truncate
        self.bptt_truncate = max(truncate, len(x))
        try:
            gradients = self.bptt(x, y)
        finally:
            self.bptt_truncate = truncate
        return check_parameters(
            ("U", "V", "W"),
            gradients,
            get_value=lambda name: getattr(self, name),
            set_value=lambda name, value: setattr(self, name, value.copy()),
            total_loss=lambda: self.calculate_total_loss([x], [y]),
            h=h,
            error_threshold=error_threshold,
        )
