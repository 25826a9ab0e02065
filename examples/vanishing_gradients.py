"""Vanishing and exploding gradients: how far back the loss at step t reaches, and what clipping does.

Part 1.  For each unit (Elman, GRU, LSTM by default; ``--units`` takes any
registered names) one layer runs over random inputs, and the loss is a
softmax cross-entropy on the last state h_{T-1}.  The script measures
||dL/dh_{T-1-k}|| for k = 0 .. T-1, the gradient that reaches the state k
steps back.  The layer's states get a zero perturbation (h_t + e_t, e_t = 0)
and dL/de_t = dL/dh_t, so Aesara computes every distance in one backward
pass through aerann's scan driver.  Each unit is measured at its default
initialisation and, dashed, with its gates biased to remember (GRU update
gate bz = -2, LSTM forget gate bf = +2); Elman at recurrent weights of
spectral radius 0.5 .. 3 shows the vanishing and the exploding regime.

Part 2.  Exploding gradients and clipping.  An Elman layer whose recurrent
weights have spectral radius ``--rho`` (1.5 by default: gradients can grow
with distance) reads T = 30 random inputs and reports the class of the one
``--lag`` steps before the end (the largest of its first 4 entries), trained
with plain SGD (learning rate 0.5) and three treatments of the gradient: none, aerann's
``optim.clip_by_norm`` (rescale the whole gradient to norm <= 1) and the scan
driver's ``grad_clip`` (clip the gradient flowing into each state, at every
step, to [-1, 1]).  The loss and the gradient norm of every update are
plotted.

    python examples/vanishing_gradients.py
    python examples/vanishing_gradients.py --units elman,gru,lstm,mgu --steps 100
    python examples/vanishing_gradients.py --quick
"""

import time

import numpy as np
from _common import Timer, out_dir, parser, pyplot, write_results  # first: configures Aesara

import aesara  # noqa: E402
import aesara.tensor as at  # noqa: E402
from aesara.tensor.special import log_softmax  # noqa: E402

from aerann import graph, units  # noqa: E402
from aerann.backend import compiler
from aerann.training import optim


class Perturbed:
    """``unit`` with a perturbation added to its first state at every step.

    The layer input is [x_t, e_t] (concatenated on the last axis); the state
    is h_t = step(x_t, h_{t-1}) + e_t, so dL/de_t is dL/dh_t, the gradient
    that reaches step t from everything after it.  It offers the scan
    driver what a unit offers (name, states, initial_states,
    input_projection, projected_step), so the driver treats it as any unit.
    """

    def __init__(self, unit, n_in):
        self.unit, self.n_in = unit, n_in
        self.name, self.states = unit.name, unit.states

    def initial_states(self):
        return self.unit.initial_states()

    def input_projection(self, inputs):
        projection = self.unit.input_projection(inputs[..., : self.n_in])
        self.several = isinstance(projection, (list, tuple))
        return (*(projection if self.several else [projection]), inputs[..., self.n_in :])

    def projected_step(self, p_t, *previous):
        *parts, e_t = p_t
        new = self.unit.projected_step(tuple(parts) if self.several else parts[0], *previous)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        new[0] = new[0] + e_t
        return new


def gradient_reach(unit_name, n_in, hidden, classes, rng):
    """A compiled f(x, e, y) -> ||dL/dh_t|| for every t (mean over the batch), and the unit."""
    unit = units.get(unit_name)(n_in, hidden, rng)
    W = aesara.shared(rng.uniform(-0.5, 0.5, (hidden, classes)).astype(aesara.config.floatX), name="W")
    x, e, y = at.tensor3("x"), at.tensor3("e"), at.ivector("y")
    h = graph.run_layer(Perturbed(unit, n_in), at.concatenate([x, e], axis=2))[0]
    log_p = log_softmax(h[-1].dot(W), axis=-1)
    loss = -at.mean(log_p[at.arange(y.shape[0]), y])
    de = aesara.grad(loss, e)
    return unit, compiler.function([x, e, y], at.sqrt((de**2).sum(axis=-1)).mean(axis=1))


def set_param(unit, name, value):
    p = unit.params[name]
    p.set_value(np.broadcast_to(np.asarray(value, dtype=p.dtype), p.get_value().shape).copy())


def spectral(matrix_rng, n, rho):
    """A random orthogonal (n, n) matrix times rho: every eigenvalue has modulus rho."""
    q, r = np.linalg.qr(matrix_rng.standard_normal((n, n)))
    return rho * q * np.sign(np.diag(r))


def part1(args, rng, plt, out):
    T, H, D, B, C = args.steps, args.hidden, 8, args.batch, 4
    x = rng.standard_normal((T, B, D))
    y = rng.integers(0, C, B).astype(np.int32)
    zeros = np.zeros((T, B, H))
    curves = {}
    print(f"Part 1: ||dL/dh_(T-1-k)||, loss on the last of T = {T} steps, {H} units, batch {B}.")
    for name in args.units:
        with Timer() as t:
            unit, reach = gradient_reach(name, D, H, C, np.random.default_rng(args.seed))
        curves[name] = reach(x, zeros, y)[::-1]
        if name == "gru":
            set_param(unit, "bz", -2.0)
            curves["gru, bz = -2"] = reach(x, zeros, y)[::-1]
        elif name == "lstm":
            set_param(unit, "bf", 2.0)
            curves["lstm, bf = +2"] = reach(x, zeros, y)[::-1]
        elif name == "elman":
            W0 = unit.params["Wh"].get_value()
            for rho in (0.5, 1.0, 1.5, 3.0):
                unit.params["Wh"].set_value(spectral(np.random.default_rng(args.seed), H, rho))
                curves[f"elman, radius {rho:g}"] = reach(x, zeros, y)[::-1]
            unit.params["Wh"].set_value(W0)
        print(f"  compiled {name} in {t.seconds:.1f} s")
    ks = [k for k in (0, 1, 2, 5, 10, 20, 50) if k < T - 1] + [T - 1]
    print(f"\n  {'unit':22s}" + "".join(f"{'k=' + str(k):>10s}" for k in ks))
    for label, curve in curves.items():
        print(f"  {label:22s}" + "".join(f"{curve[k]:10.2e}" for k in ks))

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, curve in curves.items():
        if label.startswith("elman, radius"):
            right.semilogy(curve, label=label.replace("elman, ", ""))
        else:
            left.semilogy(curve, label=label, linestyle="--" if "=" in label else "-")
    left.set(xlabel="k (steps back from the loss)", ylabel="||dL / dh_(T-1-k)||", title="gated units keep the gradient")
    right.set(xlabel="k (steps back from the loss)", title="Elman, recurrent weights of spectral radius r")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gradient_reach.png", dpi=100)
    print(f"\nSaved {out / 'gradient_reach.png'}")
    return {label: curve for label, curve in curves.items()}


def trainer(treatment, n_in, hidden, classes, rho, lr, seed):
    """An Elman classifier of the first input, trained by SGD with the gradient treated as ``treatment``."""
    rng = np.random.default_rng(seed)
    unit = units.get("elman")(n_in, hidden, rng)
    unit.params["Wh"].set_value(spectral(rng, hidden, rho))
    W = aesara.shared(rng.uniform(-0.5, 0.5, (hidden, classes)).astype(aesara.config.floatX), name="W")
    b = aesara.shared(np.zeros(classes, dtype=aesara.config.floatX), name="b")
    x, y = at.tensor3("x"), at.ivector("y")
    h = graph.run_layer(unit, x, grad_clip=1.0 if treatment == "grad_clip" else None)[0]
    log_p = log_softmax(h[-1].dot(W) + b, axis=-1)
    loss = -at.mean(log_p[at.arange(y.shape[0]), y])
    params = [unit.params["Wx"], unit.params["Wh"], unit.params["bh"], W, b]
    grads = aesara.grad(loss, params)
    norm = at.sqrt(sum((g**2).sum() for g in grads))
    if treatment == "clip_by_norm":
        grads = optim.clip_by_norm(grads, 1.0)
    applied = at.sqrt(sum((g**2).sum() for g in grads))
    updates, _ = optim.sgd(params, grads, lr)
    return compiler.function([x, y], [loss, norm, applied], updates=updates)


def part2(args, rng, plt, out):
    T, H, D, C, B = args.clip_steps, args.hidden, 4, 4, 32
    print(f"\nPart 2: Elman, {H} units, recurrent spectral radius {args.rho}; the class of input {T - 1 - args.lag} "
          f"of {T}, SGD lr {args.lr}, {args.iterations} minibatches of {B}.")
    batches = []
    for _ in range(args.iterations):
        x = rng.standard_normal((T, B, D))
        batches.append((x, x[T - 1 - args.lag, :, :C].argmax(axis=1).astype(np.int32)))
    runs = {}
    for treatment in ("none", "clip_by_norm", "grad_clip"):
        step = trainer(treatment, D, H, C, args.rho, args.lr, args.seed)
        losses, norms, applied = [], [], []
        for x, y in batches:
            loss, norm, used = step(x, y)
            losses.append(float(loss))
            norms.append(float(norm))
            applied.append(float(used))
        runs[treatment] = {"loss": losses, "grad_norm": norms, "applied_norm": applied}
        finite = np.isfinite(losses)
        tenth = max(1, len(losses) // 10)
        runs[treatment]["first_tenth_loss"] = float(np.mean(losses[:tenth]))
        runs[treatment]["last_tenth_loss"] = float(np.mean(losses[-tenth:]))
        print(f"  {treatment:13s} largest gradient norm {np.nanmax(norms):10.3g}, mean loss of the first 10% of "
              f"updates {np.mean(losses[:tenth]):.4f}, of the last 10% {np.mean(losses[-tenth:]):.4f}" + ("" if finite.all() else f", NaN after {np.argmin(finite)} updates"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for treatment, run in runs.items():
        left.plot(run["loss"], label=treatment, alpha=0.8)
        right.semilogy(run["grad_norm"], label=treatment, alpha=0.8)
    left.axhline(np.log(C), color="gray", linestyle=":", label="chance (log 4)")
    left.set(xlabel="update", ylabel="loss", title="training loss")
    right.set(xlabel="update", ylabel="gradient norm (before clipping)", title="gradient norm")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "clipping.png", dpi=100)
    print(f"Saved {out / 'clipping.png'}")
    return runs


def main(argv=None):
    ap = parser(__doc__.split("\n")[0], "vanishing_gradients")
    ap.add_argument("--units", default="elman,gru,lstm", help="registered unit names, comma-separated")
    ap.add_argument("--steps", type=int, default=100, help="sequence length T of part 1")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32, help="random sequences averaged over in part 1")
    ap.add_argument("--rho", type=float, default=1.5, help="spectral radius of the recurrent weights in part 2")
    ap.add_argument("--lag", type=int, default=2, help="part 2 reports the input this many steps before the end")
    ap.add_argument("--clip-steps", type=int, default=30, help="sequence length of part 2")
    ap.add_argument("--lr", type=float, default=0.5, help="SGD learning rate of part 2")
    ap.add_argument("--iterations", type=int, default=600, help="updates in part 2")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.hidden, args.batch, args.clip_steps, args.iterations = 20, 8, 8, 8, 60
    args.units = [u.strip() for u in args.units.split(",") if u.strip()]
    out = out_dir(args.out)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    plt = pyplot()
    curves = part1(args, rng, plt, out)
    runs = part2(args, rng, plt, out)
    write_results(out, {"steps": args.steps, "reach": curves, "clipping": runs,
                        "seconds": time.perf_counter() - started})


if __name__ == "__main__":
    main()
