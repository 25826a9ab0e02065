"""Karpathy's min-char-rnn, built from aerann's building blocks.

A character-level Elman network (``aerann.units.get("elman")``, tanh, 100
hidden units) run by aerann's scan driver (``aerann.graph.run_layer``) over
one-hot characters, 25 characters at a time, with a softmax over the
characters on top.  The summed cross-entropy of a chunk is differentiated by
Aesara, every gradient entry is clipped to [-5, 5]
(``aerann.training.optim.clip_elementwise``) and Adagrad with learning rate 0.1
(``aerann.training.optim.adagrad``) updates the parameters; the whole step is one
function compiled by ``aerann.backend.compiler.function``.  The last hidden state of a
chunk is the first state of the next (the driver's initial state ``h0`` is
replaced by an input of the compiled function); it is reset to zeros at the
start of the text.  The smoothed loss starts at -log(1/V) * 25 and follows
``0.999 * smooth + 0.001 * loss``; every ``--sample-every`` iterations 200
characters are sampled from the model.

``NumpyCharRNN`` below is the same algorithm written out in NumPy (column
vectors and loops, as min-char-rnn is); ``--check N`` runs both from the same
initial parameters for N iterations and prints their losses side by side.

    python examples/char_rnn.py                      # the standard library's help texts
    python examples/char_rnn.py --data input.txt     # any UTF-8 text file
    python examples/char_rnn.py --quick
"""

import time
from pathlib import Path

import numpy as np
from _common import Timer, out_dir, parser, pyplot, write_results  # first: imports aerann, which configures Aesara

import aesara  # noqa: E402
import aesara.tensor as at  # noqa: E402
from aesara.tensor.special import log_softmax, softmax  # noqa: E402

from aerann import graph, LanguageModel, units
from aerann.backend import compiler
from aerann.data import corpora
from aerann.training import optim


def initial_parameters(vocab_size, hidden, seed):
    """min-char-rnn's initialisation, in its shapes: Wxh (H, V), Whh (H, H), Why (V, H) ~ N(0, 0.01^2), zero biases."""
    rng = np.random.default_rng(seed)
    return {
        "Wxh": rng.standard_normal((hidden, vocab_size)) * 0.01,
        "Whh": rng.standard_normal((hidden, hidden)) * 0.01,
        "Why": rng.standard_normal((vocab_size, hidden)) * 0.01,
        "bh": np.zeros((hidden, 1)),
        "by": np.zeros((vocab_size, 1)),
    }


class CharRNN:
    """The character model on aerann: an Elman unit, the scan driver, Adagrad with elementwise clipping."""

    def __init__(self, vocab_size, hidden=100, learning_rate=0.1, clip=5.0, init=None, seed=0):
        self.vocab_size, self.hidden = vocab_size, hidden
        init = init if init is not None else initial_parameters(vocab_size, hidden, seed)
        floatx = aesara.config.floatX
        # Row-vector convention (x_t.dot(Wx)): the unit's matrices are min-char-rnn's transposed.
        self.unit = units.get("elman")(vocab_size, hidden, np.random.default_rng(seed), activation="tanh")
        self.unit.params["Wx"].set_value(init["Wxh"].T.astype(floatx))
        self.unit.params["Wh"].set_value(init["Whh"].T.astype(floatx))
        self.unit.params["bh"].set_value(init["bh"][:, 0].astype(floatx))
        self.Why = aesara.shared(init["Why"].T.astype(floatx), name="Why")
        self.by = aesara.shared(init["by"][:, 0].astype(floatx), name="by")
        self.params = [self.unit.params["Wx"], self.unit.params["Wh"], self.unit.params["bh"], self.Why, self.by]

        inputs, targets = at.ivector("inputs"), at.ivector("targets")
        hprev = at.vector("hprev", dtype=floatx)
        one_hot = at.eye(vocab_size, dtype=floatx)[inputs]  # (T, V)
        # The driver broadcasts h0 over the batch; giving hprev for h0 carries the state across chunks.
        h0 = self.unit.initial_states()[0]
        states = graph.run_layer(self.unit, one_hot.dimshuffle(0, "x", 1))[0][:, 0, :]  # (T, H)
        log_p = log_softmax(states.dot(self.Why) + self.by, axis=-1)
        loss = -at.sum(log_p[at.arange(targets.shape[0]), targets])
        grads = optim.clip_elementwise(aesara.grad(loss, self.params), clip)
        updates, self.memory = optim.adagrad(self.params, grads, learning_rate, epsilon=1e-8)
        self._step = compiler.function([inputs, targets, hprev], [loss, states[-1]], updates=updates,
                                      givens={h0: hprev}, name="char_rnn_step")

        # One step of the same unit, for sampling.
        x_t, h = at.iscalar("x_t"), at.vector("h", dtype=floatx)
        new = self.unit.step(at.eye(vocab_size, dtype=floatx)[x_t].dimshuffle("x", 0), h.dimshuffle("x", 0))
        h_new = (new[0] if isinstance(new, (list, tuple)) else new)  # (1, H): a batch of one
        p = softmax(h_new.dot(self.Why) + self.by, axis=-1)
        self._next = compiler.function([x_t, h], [h_new[0], p[0]], name="char_rnn_next")

    def reset(self, init):
        """Set the parameters (min-char-rnn's shapes) and clear Adagrad's memory."""
        values = [init["Wxh"].T, init["Whh"].T, init["bh"][:, 0], init["Why"].T, init["by"][:, 0]]
        for shared, value in zip(self.params, values):
            shared.set_value(np.asarray(value, dtype=shared.dtype))
        for memory in self.memory:
            memory.set_value(np.zeros_like(memory.get_value()))

    def step(self, inputs, targets, hprev):
        """Loss of one chunk and its last state; updates the parameters (Adagrad, clipped gradients)."""
        loss, h = self._step(np.asarray(inputs, np.int32), np.asarray(targets, np.int32), hprev)
        return float(loss), h

    def sample(self, h, seed_ix, n, rng):
        """``n`` character indices drawn from the model, starting from state ``h`` after character ``seed_ix``."""
        ix, out = seed_ix, []
        for _ in range(n):
            h, p = self._next(ix, h)
            ix = int(rng.choice(self.vocab_size, p=p / p.sum()))
            out.append(ix)
        return out

    def parameters(self):
        """The parameters in min-char-rnn's shapes: Wxh, Whh, Why, bh, by."""
        Wx, Wh, bh, Why, by = (p.get_value() for p in self.params)
        return {"Wxh": Wx.T, "Whh": Wh.T, "Why": Why.T, "bh": bh[:, None], "by": by[:, None]}

    def as_language_model(self):
        """The same network as an aerann LanguageModel, which ``aerann generate`` samples.

        A one-hot input times Wx is a row of Wx, so the model's embedding is
        the identity and its Elman layer's Wx is Wxh transposed; the output
        layer is Why and by; the initial state is zero, as at the start of
        the text.
        """
        p = self.parameters()
        model = LanguageModel(self.vocab_size, self.vocab_size, layers=[("elman", self.hidden)])
        model.set_parameter_values({
            "embedding": np.eye(self.vocab_size), "layer0.Wx": p["Wxh"].T, "layer0.Wh": p["Whh"].T,
            "layer0.bh": p["bh"][:, 0], "layer0.h0": np.zeros(self.hidden), "output.W": p["Why"].T,
            "output.b": p["by"][:, 0],
        })
        return model


class NumpyCharRNN:
    """The same algorithm in plain NumPy, column vectors and explicit BPTT (the min-char-rnn way)."""

    NAMES = ("Wxh", "Whh", "Why", "bh", "by")

    def __init__(self, vocab_size, hidden=100, learning_rate=0.1, clip=5.0, init=None, seed=0):
        init = init if init is not None else initial_parameters(vocab_size, hidden, seed)
        self.p = {k: np.array(init[k], dtype=np.float64) for k in self.NAMES}
        self.memory = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.vocab_size, self.lr, self.clip = vocab_size, learning_rate, clip

    def loss_and_gradients(self, inputs, targets, hprev):
        p, T = self.p, len(inputs)
        x = np.zeros((T, self.vocab_size, 1))
        x[np.arange(T), inputs, 0] = 1.0
        h = [np.asarray(hprev, dtype=np.float64).reshape(-1, 1)]
        probs = []
        loss = 0.0
        for t in range(T):
            h.append(np.tanh(p["Wxh"] @ x[t] + p["Whh"] @ h[-1] + p["bh"]))
            scores = p["Why"] @ h[-1] + p["by"]
            e = np.exp(scores - scores.max())
            probs.append(e / e.sum())
            loss -= np.log(probs[-1][targets[t], 0])
        g = {k: np.zeros_like(v) for k, v in p.items()}
        dh_next = np.zeros_like(h[0])
        for t in reversed(range(T)):
            dscores = probs[t].copy()
            dscores[targets[t]] -= 1.0
            g["Why"] += dscores @ h[t + 1].T
            g["by"] += dscores
            dpre = (1.0 - h[t + 1] ** 2) * (p["Why"].T @ dscores + dh_next)
            g["Wxh"] += dpre @ x[t].T
            g["Whh"] += dpre @ h[t].T
            g["bh"] += dpre
            dh_next = p["Whh"].T @ dpre
        for k in g:
            g[k] = np.clip(g[k], -self.clip, self.clip)
        return loss, g, h[-1][:, 0]

    def step(self, inputs, targets, hprev):
        loss, g, h = self.loss_and_gradients(inputs, targets, hprev)
        for k in self.NAMES:
            self.memory[k] += g[k] * g[k]
            self.p[k] -= self.lr * g[k] / np.sqrt(self.memory[k] + 1e-8)
        return loss, h


def chunks(data_ix, seq_length, hidden, iterations):
    """min-char-rnn's walk over the text: (n, inputs, targets, reset) where reset means "start from zeros"."""
    p = 0
    for n in range(iterations):
        reset = n == 0 or p + seq_length + 1 >= len(data_ix)
        if reset:
            p = 0
        yield n, data_ix[p : p + seq_length], data_ix[p + 1 : p + seq_length + 1], reset
        p += seq_length


def run(model, data_ix, hidden, seq_length, iterations):
    """Train ``model`` (CharRNN or NumpyCharRNN) for ``iterations`` chunks; returns the raw losses."""
    losses, hprev = [], np.zeros(hidden)
    for n, inputs, targets, reset in chunks(data_ix, seq_length, hidden, iterations):
        if reset:
            hprev = np.zeros(hidden)
        loss, hprev = model.step(inputs, targets, hprev)
        losses.append(loss)
    return losses


def main(argv=None):
    ap = parser(__doc__.split("\n")[0], "char_rnn")
    ap.add_argument("--data", type=Path, help="a UTF-8 text file (default: Python's help texts)")
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--seq-length", type=int, default=25)
    ap.add_argument("--lr", type=float, default=0.1, help="Adagrad learning rate")
    ap.add_argument("--clip", type=float, default=5.0, help="gradients are clipped to [-clip, clip]")
    ap.add_argument("--iterations", type=int, default=30000)
    ap.add_argument("--print-every", type=int, default=1000)
    ap.add_argument("--sample-every", type=int, default=10000)
    ap.add_argument("--sample-length", type=int, default=200)
    ap.add_argument("--check", type=int, default=0, help="compare the first N iterations with the NumPy version")
    args = ap.parse_args(argv)
    if args.quick:
        args.hidden, args.iterations, args.print_every, args.sample_every = 32, 300, 50, 150
        args.check = args.check or 5
    out = out_dir(args.out)
    started = time.perf_counter()

    text = args.data.read_text(encoding="utf-8-sig") if args.data else corpora.pydoc_text()
    if args.quick:
        text = text[:20000]
    chars = sorted(set(text))
    V = len(chars)
    if len(text) < args.seq_length + 2:
        raise SystemExit(f"the text has {len(text)} characters: need more than seq_length + 1")
    char_to_ix = {c: i for i, c in enumerate(chars)}
    data_ix = np.array([char_to_ix[c] for c in text], dtype=np.int32)
    print(f"data has {len(text)} characters, {V} unique.")

    results = {"characters": len(text), "vocab_size": V, "hidden": args.hidden, "seq_length": args.seq_length}
    init = initial_parameters(V, args.hidden, args.seed)
    with Timer() as compile_time:
        model = CharRNN(V, args.hidden, args.lr, args.clip, init)
    print(f"Compiled the training step and the sampling step in {compile_time.seconds:.1f} s.")
    if args.check:
        print(f"\nSame initial parameters, first {args.check} iterations, aerann against NumPy:")
        ours = run(model, data_ix, args.hidden, args.seq_length, args.check)
        ref = run(NumpyCharRNN(V, args.hidden, args.lr, args.clip, init), data_ix, args.hidden, args.seq_length, args.check)
        for n, (a, b) in enumerate(zip(ours, ref)):
            print(f"  iter {n}: aerann {a:.12f}  numpy {b:.12f}  difference {abs(a - b):.1e}")
        results["check_max_difference"] = float(np.max(np.abs(np.array(ours) - np.array(ref))))
        model.reset(init)
        print()

    rng = np.random.default_rng(args.seed)
    smooth_loss = -np.log(1.0 / V) * args.seq_length
    results["initial_smooth_loss"] = smooth_loss
    curve, samples = [(0, smooth_loss)], []
    hprev = np.zeros(args.hidden)
    with Timer() as train_time:
        for n, inputs, targets, reset in chunks(data_ix, args.seq_length, args.hidden, args.iterations):
            if reset:
                hprev = np.zeros(args.hidden)
            if n % args.sample_every == 0:
                sampled = "".join(chars[i] for i in model.sample(hprev, int(inputs[0]), args.sample_length, rng))
                samples.append((n, sampled))
                print(f"----\n {sampled} \n----")
            loss, hprev = model.step(inputs, targets, hprev)
            smooth_loss = smooth_loss * 0.999 + loss * 0.001
            if (n + 1) % args.print_every == 0:
                curve.append((n + 1, smooth_loss))
                print(f"iter {n + 1}, loss: {smooth_loss:f}", flush=True)
    sampled = "".join(chars[i] for i in model.sample(hprev, int(data_ix[0]), args.sample_length, rng))
    samples.append((args.iterations, sampled))
    print(f"----\n {sampled} \n----")
    per_iteration = train_time.seconds / args.iterations
    print(f"{args.iterations} iterations in {train_time.seconds:.0f} s ({per_iteration * 1e3:.2f} ms each).")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(*zip(*curve))
    ax.set(xlabel="iteration", ylabel=f"smooth loss (nats per {args.seq_length} characters)",
           title=f"min-char-rnn on aerann: {V} characters, {args.hidden} hidden")
    fig.tight_layout()
    fig.savefig(out / "char_rnn_loss.png", dpi=100)
    (out / "samples.txt").write_text("".join(f"--- iteration {n}\n{s}\n" for n, s in samples), encoding="utf-8")
    model.as_language_model().save(out / "char_rnn.npz", metadata={"characters": chars})
    print(f"Saved {out / 'char_rnn_loss.png'}, {out / 'samples.txt'} and the model {out / 'char_rnn.npz'} "
          f"(aerann generate --model {out / 'char_rnn.npz'} --prime 'The ' samples it)")
    results.update(smooth_loss=[list(c) for c in curve], final_smooth_loss=smooth_loss,
                   ms_per_iteration=per_iteration * 1e3, samples=[s for _, s in samples],
                   seconds=time.perf_counter() - started)
    write_results(out, results)


if __name__ == "__main__":
    main()
