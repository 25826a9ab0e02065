"""The book's parity problem: a recurrent net with 4 sigmoid units against a feed-forward net.

Every sequence of ``--bits`` bits (4096 for 12 bits) is an example; the label
at step t is the parity of bits 0..t, so the recurrent net (aerann's
SequenceTagger with one Elman layer of 4 sigmoid units) need only learn XOR of
its state and the new bit.  A feed-forward network sees all the bits at once
and must compute the parity of the whole sequence in one hidden layer; it is
trained on the same sequences (the final labels) with more and more hidden
units to show how many it needs.  The feed-forward net is a small NumPy MLP
written out below (tanh hidden layer, sigmoid output, full-batch Adam).

    python examples/parity.py
    python examples/parity.py --data my_bits.txt     # one sequence of 0/1 per line, labels computed
    python examples/parity.py --quick
"""

import time
from pathlib import Path

import numpy as np
from _common import Timer, out_dir, parser, pyplot, write_results

import aerann


def all_sequences(bits: int) -> np.ndarray:
    """Every bit string of length ``bits``, one per row (2**bits rows)."""
    return ((np.arange(2**bits)[:, None] >> np.arange(bits)[::-1]) & 1).astype(np.float64)


def read_sequences(path) -> np.ndarray:
    """Bit strings from a text file, one per line ("0110..." or "0 1 1 0"); all of the same length."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        digits = line.replace(" ", "").replace(",", "").strip()
        if not digits:
            continue
        if set(digits) - {"0", "1"}:
            raise SystemExit(f"{path}:{number}: expected 0s and 1s, got {line.strip()!r}")
        rows.append([int(c) for c in digits])
    if not rows or len({len(r) for r in rows}) != 1:
        raise SystemExit(f"{path}: need at least one line, all lines of the same length")
    return np.array(rows, dtype=np.float64)


def train_rnn(bits_array, hidden, lr, batch_size, max_epochs, check_every, seed):
    """Train the SequenceTagger until every step of every sequence is right; returns (model, history)."""
    X = [row[:, None] for row in bits_array]  # (T, 1) real-valued inputs
    Y = [(np.cumsum(row) % 2).astype(np.int32) for row in bits_array]
    model = aerann.SequenceTagger(1, 2, layers=[("elman", hidden, {"activation": "sigmoid"})], seed=seed)
    history = {"epoch": [], "loss": [], "accuracy": []}
    epochs = 0
    while epochs < max_epochs:
        losses = model.fit(X, Y, epochs=check_every, learning_rate=lr, batch_size=batch_size,
                           optimizer="rmsprop", seed=seed + epochs)
        epochs += check_every
        accuracy = model.score(X, Y)
        history["epoch"].append(epochs)
        history["loss"].append(losses[-1])
        history["accuracy"].append(accuracy)
        print(f"  epoch {epochs:4d}: loss {losses[-1]:.5f}  accuracy {accuracy:.4f}", flush=True)
        if accuracy == 1.0:
            break
    return model, history


def train_mlp(X, y, hidden, iterations, lr, seed):
    """A one-hidden-layer tanh network with a sigmoid output, full-batch Adam; returns its accuracy on (X, y)."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    params = [rng.normal(0, 1 / np.sqrt(d), (d, hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), (hidden, 1)), np.zeros(1)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for t in range(1, iterations + 1):
        W1, b1, W2, b2 = params
        A = np.tanh(X @ W1 + b1)
        p = 1 / (1 + np.exp(-(A @ W2 + b2)[:, 0]))
        dz = (p - y)[:, None] / n  # d mean cross-entropy / d logit
        dA = dz @ W2.T * (1 - A**2)
        grads = [X.T @ dA, dA.sum(0), A.T @ dz, dz.sum(0)]
        for i, g in enumerate(grads):
            first[i] = 0.9 * first[i] + 0.1 * g
            second[i] = 0.999 * second[i] + 0.001 * g * g
            params[i] -= lr * (first[i] / (1 - 0.9**t)) / (np.sqrt(second[i] / (1 - 0.999**t)) + 1e-8)
    W1, b1, W2, b2 = params
    logits = (np.tanh(X @ W1 + b1) @ W2 + b2)[:, 0]
    return float(np.mean((logits > 0) == (y > 0.5)))


def main(argv=None):
    ap = parser(__doc__.split("\n")[0], "parity")
    ap.add_argument("--bits", type=int, default=12, help="sequence length (all 2**bits sequences are the data)")
    ap.add_argument("--data", help="a text file of bit strings, one per line, instead of all 2**bits of them")
    ap.add_argument("--hidden", type=int, default=4, help="sigmoid units of the recurrent net")
    ap.add_argument("--lr", type=float, default=0.05, help="RMSprop learning rate of the recurrent net")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--max-epochs", type=int, default=400)
    ap.add_argument("--mlp-hidden", default="4,8,16,32,64", help="hidden layer sizes of the feed-forward nets")
    ap.add_argument("--mlp-iterations", type=int, default=2000, help="full-batch Adam steps per feed-forward net")
    ap.add_argument("--mlp-restarts", type=int, default=2, help="random initialisations per size (the best counts)")
    args = ap.parse_args(argv)
    if args.quick:
        args.bits, args.batch_size, args.max_epochs = min(args.bits, 6), 16, 300
        args.mlp_hidden, args.mlp_iterations, args.mlp_restarts = "2,4,8,16", 1500, 1
    out = out_dir(args.out)
    started = time.perf_counter()

    data = read_sequences(args.data) if args.data else all_sequences(args.bits)
    n, bits = data.shape
    print(f"{n} sequences of {bits} bits; the label at step t is the parity of bits 0..t.")

    print(f"\nRecurrent net: SequenceTagger, one Elman layer of {args.hidden} sigmoid units, "
          f"RMSprop lr {args.lr}, minibatches of {args.batch_size}:")
    with Timer() as rnn_time:
        rnn, history = train_rnn(data, args.hidden, args.lr, args.batch_size, args.max_epochs,
                                 5, args.seed)
    rnn_accuracy = history["accuracy"][-1]
    print(f"Recurrent net: accuracy {rnn_accuracy:.4f} on every step of every sequence after "
          f"{history['epoch'][-1]} epochs ({rnn_time.seconds:.0f} s, {sum(p.get_value().size for p in rnn.params.values())} parameters).")

    print(f"\nFeed-forward nets on the same {n} sequences (input: all {bits} bits, target: their parity), "
          f"{args.mlp_iterations} Adam steps, best of {args.mlp_restarts}:")
    X = 2 * data - 1
    y = data.sum(axis=1) % 2
    sizes = [int(s) for s in args.mlp_hidden.split(",")]
    mlp = {}
    for hidden in sizes:
        accuracy = max(train_mlp(X, y, hidden, args.mlp_iterations, 0.01, args.seed + r) for r in range(args.mlp_restarts))
        mlp[hidden] = accuracy
        print(f"  {hidden:4d} hidden units ({(bits + 2) * hidden + 1:5d} parameters): accuracy {accuracy:.4f}", flush=True)
    needed = next((h for h in sizes if mlp[h] == 1.0), None)
    print("The feed-forward net needs " + (f"{needed} hidden units" if needed else f"more than {sizes[-1]} hidden units")
          + f" for {bits}-bit parity; the recurrent net needs {args.hidden}.")

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(history["epoch"], history["accuracy"], marker="o")
    left.set(xlabel="epoch", ylabel="accuracy (every step)", title=f"Elman, {args.hidden} sigmoid units, {bits} bits")
    right.plot(sizes, [mlp[h] for h in sizes], marker="o", color="C1")
    right.set(xscale="log", xlabel="hidden units", ylabel="accuracy (parity of the sequence)",
              title="feed-forward net, one hidden layer")
    right.set_xticks(sizes, [str(h) for h in sizes])
    fig.tight_layout()
    figure = out / "parity.png"
    fig.savefig(figure, dpi=100)
    print(f"Saved {figure}")

    write_results(out, {
        "sequences": n, "bits": bits, "rnn_hidden": args.hidden, "rnn_accuracy": rnn_accuracy,
        "rnn_epochs": history["epoch"][-1], "rnn_history": history, "mlp_accuracy": mlp,
        "mlp_hidden_needed": needed, "seconds": time.perf_counter() - started,
    })


if __name__ == "__main__":
    main()
