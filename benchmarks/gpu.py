"""GPU benchmark: aerann on Aesara's JAX backend against PyTorch (cuDNN) and hand-written JAX.

Prints, in one run, the per-sentence SGD step of the tutorial model
(vocabulary 8000, hidden 100, 45 words, float32, full BPTT) and the training
throughput at batch 64 of Elman, GRU and LSTM language models, as ratios
against PyTorch on the same GPU and against a hand-written JAX model
(``lax.scan`` + ``jax.value_and_grad``) of each network; then it
trains a stacked GRU/LSTM language model and prints its loss falling.

A part that fails prints its traceback, the others still run, and the exit
status is 1. Without a GPU it says so and exits 0 (CI has none); ``--allow-cpu`` runs it
on JAX's CPU device instead, which checks the script, not the speed.

    python benchmarks/gpu.py            # on a machine with a GPU and CUDA JAX
    python benchmarks/gpu.py --quick --allow-cpu
"""

import argparse
import contextlib
import os
import sys
import time
import traceback
from unittest import mock

import aerann
from aerann.backend import jax_scan
from aerann.cli import bench

SIZES = {
    "full": dict(vocab=8000, hidden=100, words=45, batch=64, steps=32, rounds=15, calls=20, train_steps=100),
    "quick": dict(vocab=50, hidden=8, words=6, batch=4, steps=5, rounds=2, calls=1, train_steps=5),
}


def gpu_device(allow_cpu: bool):
    """JAX's first GPU, or its CPU when allowed; None when there is no GPU."""
    import jax

    try:
        return jax.devices("gpu")[0]
    except RuntimeError:
        return jax.devices("cpu")[0] if allow_cpu else None


def synchronised(step, wait):
    """``step`` followed by ``wait(result)``: PyTorch's CUDA work, which the timing cannot wait for by itself
    (JAX results it waits for: see ``aerann.cli.bench.wait``)."""

    def run():
        result = step()
        wait(result)

    return run


def add_torch_peer(candidates, build):
    """Add PyTorch's step ``build()`` to ``candidates`` if it builds and runs once; else print why not.

    The PyTorch rows are a yardstick: their failure must not cost aerann's figures.
    """
    try:
        step = build()
        step()
    except Exception:
        print("  PyTorch row skipped:")
        traceback.print_exc(file=sys.stdout)
        return
    candidates["torch"] = step


def jax_sgd_step(loss, shapes, inputs, learning_rate):
    """A jitted SGD step on ``loss(params, *inputs)``, float32 parameters of ``shapes``; ``run()`` returns the loss."""
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    params = {
        name: 0.01 * jax.random.normal(jax.random.fold_in(key, i), shape, dtype=jnp.float32)
        for i, (name, shape) in enumerate(shapes.items())
    }

    @jax.jit
    def sgd(params, *inputs):
        value, grads = jax.value_and_grad(loss)(params, *inputs)
        return {n: params[n] - learning_rate * grads[n] for n in params}, value

    state = {"params": params}
    inputs = [jnp.asarray(value) for value in inputs]

    def run():
        state["params"], value = sgd(state["params"], *inputs)
        return value

    return run


def jax_tutorial_step(vocab, hidden, x, y, learning_rate):
    """The tutorial's network written directly in JAX: one jitted SGD step on device arrays."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        def step(s, u_t):
            s = jnp.tanh(u_t + s @ params["W"].T)
            return s, s

        _, states = jax.lax.scan(step, jnp.zeros(hidden), params["U"].T[x])
        logits = states @ params["V"].T
        return -jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    shapes = {"U": (hidden, vocab), "V": (vocab, hidden), "W": (hidden, hidden)}
    return jax_sgd_step(loss, shapes, (x, y), learning_rate)


GATES = {"elman": 1, "gru": 3, "lstm": 4}


def jax_language_model_step(unit, vocab, hidden, X, Y, learning_rate):
    """A language model written directly in JAX (embedding, PyTorch's RNN/GRU/LSTM equations, linear
    output, summed cross-entropy), with its input projections hoisted out of the scan as cuDNN does."""
    import jax
    import jax.numpy as jnp
    from jax.nn import sigmoid

    def cell(Wh, carry, projected):
        h = carry[0]
        if unit == "elman":
            h = jnp.tanh(projected + h @ Wh)
            return (h,), h
        if unit == "gru":
            x_r, x_z, x_n = jnp.split(projected, 3, axis=-1)
            h_r, h_z, h_n = jnp.split(h @ Wh, 3, axis=-1)
            r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
            h = (1 - z) * jnp.tanh(x_n + r * h_n) + z * h
            return (h,), h
        i, f, g, o = jnp.split(projected + h @ Wh, 4, axis=-1)
        c = sigmoid(f) * carry[1] + sigmoid(i) * jnp.tanh(g)
        h = sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    def loss(params, X, Y):
        projected = params["E"][X] @ params["Wx"] + params["b"]
        zeros = jnp.zeros((X.shape[1], hidden))
        carry = (zeros, zeros) if unit == "lstm" else (zeros,)
        _, states = jax.lax.scan(lambda c, x: cell(params["Wh"], c, x), carry, projected)
        logits = states.reshape(-1, hidden) @ params["Wo"] + params["bo"]
        return -jnp.sum(jnp.take_along_axis(jax.nn.log_softmax(logits), Y.reshape(-1, 1), axis=1))

    width = GATES[unit] * hidden
    shapes = {
        "E": (vocab, hidden),
        "Wx": (hidden, width),
        "Wh": (hidden, width),
        "b": (width,),
        "Wo": (hidden, vocab),
        "bo": (vocab,),
    }
    return jax_sgd_step(loss, shapes, (X, Y), learning_rate)


def sgd_step_on_device(model, x, y):
    """One SGD step of RNNTheano ``model`` on (x, y), returning the new parameters for the timing to wait for.

    The step itself returns nothing and leaves the parameters on the device.
    """
    shared = (model.U, model.V, model.W)
    return lambda: (model.sgd_step(x, y, 0.005), bench.parameter_values(shared))


@contextlib.contextmanager
def float32_unrolled(unroll):
    """Build float32 models whose JAX scans unroll ``unroll`` steps inside this ``with`` block."""
    import aesara

    with aesara.config.change_flags(floatX="float32"), mock.patch.dict(
        os.environ, AERANN_JAX_SCAN_UNROLL=str(unroll)
    ):
        yield


def row_name(unroll, unrolls):
    """aerann's row for ``unroll``: plain "aerann" for the first setting, which the ratios compare."""
    return "aerann" if unroll == unrolls[0] else f"aerann u{unroll}"


def tutorial_model(size, unroll):
    """The tutorial's RNNTheano in float32, compiled for JAX with scans unrolled ``unroll`` steps."""
    import numpy as np

    with float32_unrolled(unroll):
        np.random.seed(10)
        model = aerann.RNNTheano(size["vocab"], size["hidden"], bptt_truncate=size["words"])
        # Its functions compile on first call: the SGD step is compiled here, with this unroll setting.
        bench._timed_build(f"RNNTheano's SGD step on JAX (unroll {unroll})", lambda: model.sgd_step.function)
        return model


def per_sentence(size, torch, unrolls):
    """Seconds per SGD step on one sentence: aerann (one row per scan unroll), hand-written JAX, PyTorch."""
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.integers(0, size["vocab"], size["words"]).astype(np.int32)
    y = rng.integers(0, size["vocab"], size["words"]).astype(np.int32)
    candidates = {}
    for unroll in unrolls:
        model = tutorial_model(size, unroll)
        candidates[row_name(unroll, unrolls)] = sgd_step_on_device(model, x, y)
    candidates["jax"] = jax_tutorial_step(size["vocab"], size["hidden"], x, y, 0.005)
    if torch is not None:
        U, V, W = (p.get_value() for p in (model.U, model.V, model.W))
        add_torch_peer(
            candidates,
            lambda: synchronised(
                bench.torch_tutorial_step(torch, U, V, W, x, y, 0.005, torch.float32, "cuda"),
                lambda _: torch.cuda.synchronize(),
            ),
        )
    return bench.interleaved(candidates, size["rounds"], size["calls"])


def throughput(size, torch, units, unrolls):
    """Tokens per second of a training step at batch 64 of each unit's language model: aerann (one row
    per scan unroll), hand-written JAX, PyTorch."""
    import numpy as np

    X, Y = bench.batch_data(size["vocab"], size["steps"], size["batch"])
    mask = np.ones(X.shape, dtype=np.float32)
    tokens = X.size
    results = {}
    for unit, torch_kind in bench.UNITS:
        if unit not in units:
            continue
        candidates = {}
        for unroll in unrolls:
            with float32_unrolled(unroll):
                model = aerann.LanguageModel(size["vocab"], size["hidden"], [(unit, size["hidden"])], seed=0)
                train = bench._timed_build(
                    f"{unit} language model on JAX (unroll {unroll})", lambda: model.train_step("sgd")
                )
            candidates[row_name(unroll, unrolls)] = lambda train=train: train(X, Y, mask, 0.001)
        candidates["jax"] = jax_language_model_step(unit, size["vocab"], size["hidden"], X, Y, 0.001)
        if torch is not None:
            add_torch_peer(
                candidates,
                lambda: synchronised(
                    bench.torch_language_model_step(
                        torch, torch_kind, size["vocab"], size["hidden"], size["hidden"], X, Y, 0.001, "cuda"
                    ),
                    lambda _: torch.cuda.synchronize(),
                ),
            )
        seconds = bench.interleaved(candidates, size["rounds"], size["calls"])
        results[unit] = {name: tokens / s for name, s in seconds.items()}
    return results


def stacked_training(size):
    """Train a stacked GRU/LSTM language model on one batch: loss per token before and after, tokens/s."""
    import aesara
    import numpy as np

    X, Y = bench.batch_data(size["vocab"], size["steps"], size["batch"])
    mask = np.ones(X.shape, dtype=np.float32)
    layers = [("gru", size["hidden"]), ("lstm", size["hidden"])]
    with aesara.config.change_flags(floatX="float32"):
        model = aerann.LanguageModel(size["vocab"], size["hidden"], layers, seed=0)
        train = bench._timed_build("stacked gru/lstm language model on JAX", lambda: model.train_step("sgd"))
    first = float(train(X, Y, mask, 0.001))
    start = time.perf_counter()
    for _ in range(size["train_steps"]):
        last = float(train(X, Y, mask, 0.001))  # float() waits for the step
    rate = size["train_steps"] * X.size / (time.perf_counter() - start)
    return first / X.size, last / X.size, rate


def print_steps(steps):
    """One line per candidate of :func:`per_sentence`: milliseconds, and aerann's time over it."""
    for name, seconds in steps.items():
        print(f"  {name:<10} {seconds * 1e3:9.3f} ms   aerann/{name}: {steps['aerann'] / seconds:.2f}x")


def print_rates(rates):
    """One line per unit of :func:`throughput`: tokens/s of every candidate, and aerann's over each."""
    for unit, rate in rates.items():
        peers = {name: value for name, value in rate.items() if name != "aerann"}
        others = "".join(f"  {name} {value:,.0f}" for name, value in peers.items())
        versus = "".join(f"   aerann/{name}: {rate['aerann'] / value:.2f}x" for name, value in peers.items())
        print(f"  {unit:<6} aerann {rate['aerann']:,.0f}{others}{versus}")


def print_training(result):
    """The loss per token before and after :func:`stacked_training`, and its tokens/s."""
    first, last, rate = result
    print(f"  loss per token {first:.3f} -> {last:.3f}, {rate:,.0f} tokens/s")


def cuda_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the benchmark runs")
    parser.add_argument("--allow-cpu", action="store_true", help="run on JAX's CPU device when there is no GPU")
    units = [unit for unit, _ in bench.UNITS]
    parser.add_argument("--units", nargs="+", choices=units, default=units, help="language models to time")
    parser.add_argument(
        "--unroll",
        nargs="+",
        type=int,
        default=[jax_scan.unroll()],
        help="scan unroll settings to time aerann with (the first is the 'aerann' row the ratios use)",
    )
    args = parser.parse_args(argv)
    device = gpu_device(args.allow_cpu)
    if device is None:
        print("No GPU found by JAX: skipped (install a CUDA JAX on a GPU machine; --allow-cpu to check the script).")
        return 0
    aerann.set_backend("jax")
    size = SIZES["quick" if args.quick else "full"]
    torch = cuda_torch()
    print(f"aerann {aerann.__version__} GPU benchmark on {device.device_kind} ({device.platform}), {time.strftime('%Y-%m-%d')}")
    if torch is None:
        print("  PyTorch rows are skipped: no CUDA PyTorch here.")
    failed = []

    def report(title, measure, show):
        """Print ``title`` and ``show(measure())``; a failure prints its traceback and the next part still runs."""
        print(f"\n{title}")
        try:
            show(measure())
        except Exception:  # one broken part must not hide the figures of the others
            traceback.print_exc(file=sys.stdout)
            failed.append(title)

    report(
        f"Per-sentence SGD step (vocabulary {size['vocab']}, hidden {size['hidden']}, {size['words']} words, float32)",
        lambda: per_sentence(size, torch, args.unroll),
        print_steps,
    )
    report(
        f"Throughput at batch {size['batch']} x {size['steps']} steps (tokens/s, float32)",
        lambda: throughput(size, torch, args.units, args.unroll),
        print_rates,
    )
    report(
        f"Stacked GRU/LSTM language model, {size['train_steps']} SGD steps on one batch",
        lambda: stacked_training(size),
        print_training,
    )
    if failed:
        print(f"\nFailed: {'; '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
