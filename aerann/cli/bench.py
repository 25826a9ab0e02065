"""CPU benchmark: aerann against RNNNumpy and PyTorch, measured in one run (``aerann bench``).

These machines are shared and noisy, so every figure is a ratio against a
peer timed in the same run, and peers are timed in interleaved rounds (each
round times every candidate once), so a burst of load from elsewhere hits
them all alike; each reported time is the median over rounds.

Sections:

- ``probe``: a large float32 matrix product, the machine's practical FLOP/s;
- ``step``: one per-sentence SGD step of the tutorial model (RNNNumpy,
  aerann's RNNTheano, PyTorch) in float64 and float32, full BPTT;
- ``batch``: training throughput (tokens/s) of Elman, GRU and LSTM language
  models against PyTorch's nn.RNN, nn.GRU, nn.LSTM at the same sizes, with
  the variants of the units that compute what PyTorch's do (the GRU with
  ``reset_after``, the LSTM without peepholes; the book's LSTM beside
  them), and each as a fraction of the probe;
- ``stream``: training throughput of stream training (``fit_stream``'s
  step: each chunk starts from the last one's final states) of an LSTM
  language model against PyTorch carrying detached states;
- ``generate``: time per word when a GRU language model samples sentences
  of two lengths, eight times apart (each word is one compiled step that
  carries the states, so the longer sentence should take about eight times
  as long, not 64), and PyTorch's words per second sampling the same way;
- compile times are printed as each aerann model is built.

Every timed call waits for its results (:func:`wait`), so the JAX backend,
which returns before its work is done, is timed doing the work.  PyTorch
rows are skipped with a note when torch is not installed.
"""

import argparse
import ctypes
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

import aesara
import numpy as np

import aerann
from aerann import generate_sentence, LanguageModel, RNNNumpy, RNNTheano
from aerann.backend import aesara_setup, function_cache
from aerann.stack import flat_states

UNITS = (("elman", "RNN"), ("gru", "GRU"), ("lstm", "LSTM"))
# The variant of each unit that computes what PyTorch's module does, so that both train the same model.
TORCH_VARIANTS = {"elman": {}, "gru": {"reset_after": True}, "lstm": {"peepholes": "none"}}
# The throughput table's rows: name, unit, its options, PyTorch's module.  The book's LSTM (full
# peephole matrices: three more hidden x hidden products a step) is timed beside nn.LSTM too.
THROUGHPUT_ROWS = (
    *((unit, unit, TORCH_VARIANTS[unit], kind) for unit, kind in UNITS),
    ("lstm-book", "lstm", {}, "LSTM"),
)
GATES = {"elman": 1, "gru": 3, "lstm": 4}
# The speed targets, checked and reported at the end of each section.
STEP_TARGET_VS_NUMPY = 10.0
STEP_TARGET_VS_TORCH = 0.8  # at most this fraction of PyTorch's time
THROUGHPUT_TARGETS = {"elman": 1.2, "gru": 1.2, "lstm": 1.0}  # at least these multiples of PyTorch's tokens/s
COMPILE_TARGET = 10.0  # seconds, at most, to build a language model's training step
slow_builds = []  # the builds of this run that missed COMPILE_TARGET
PROBE_FRACTION_TARGET = 0.7
GENERATION_RATIO_TARGET = 16.0  # the longer sentence's time over the shorter's, for 8 times the words


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


clock = time.perf_counter  # every timing in this module reads this clock


def wait(result):
    """Block until every array in ``result`` (nested lists, tuples and dicts) has been computed.

    The JAX backend returns from a call before its work is done, with arrays
    that are filled in later; a timing that stopped the clock then would
    measure the dispatch, not the work.  NumPy and PyTorch-on-CPU results are
    complete when returned.
    """
    if isinstance(result, (list, tuple)):
        for item in result:
            wait(item)
    elif isinstance(result, dict):
        wait(list(result.values()))
    elif hasattr(result, "block_until_ready"):
        result.block_until_ready()


def interleaved(candidates: dict, rounds: int, calls: int) -> dict:
    """Median seconds per call of each candidate (name -> callable), timed round-robin.

    Each candidate returns what its call computed (outputs, updated
    parameters); the clock stops only once :func:`wait` has seen all of it.
    Each round starts one candidate later than the last, so that none always
    runs first or always after the same peer (on a GPU that position showed).
    """
    for run in candidates.values():
        wait(run())  # warm up: first calls allocate and fill caches
    times = {name: [] for name in candidates}
    order = list(candidates.items())
    for round_ in range(rounds):
        shift = round_ % len(order)
        for name, run in order[shift:] + order[:shift]:
            start = clock()
            for _ in range(calls):
                result = run()
            wait(result)
            times[name].append((clock() - start) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def keep_fastest(times: dict, name: str):
    """Replace ``name``'s thread-count variants in ``times`` by the fastest; returns its thread count.

    aerann and PyTorch are each timed with one thread and with all cores,
    and each keeps its better figure: on a busy machine one thread often wins,
    on an idle one all cores do.
    """
    variants = {key: times.pop(key) for key in list(times) if key.startswith(f"{name}/")}
    if not variants:
        return None
    best = min(variants, key=variants.get)
    times[name] = variants[best]
    return int(best.split("/")[1])


def thread_variants(name, step, set_threads, default, cores=None) -> dict:
    """``step`` run with 1 thread and with every core, as separately timed candidates ``name/threads``."""
    cores = cores or os.cpu_count() or 1

    def with_threads(count):
        def run():
            set_threads(count)
            try:
                return step()
            finally:
                set_threads(default)

        return run

    return {f"{name}/{count}": with_threads(count) for count in sorted({1, cores})}


def aerann_variants(step) -> dict:
    """aerann's ``step`` with Aesara's BLAS at 1 thread and at every core (when that BLAS is linked)."""
    openblas = aesara_setup.aesara_openblas()
    if openblas is None:
        return {"aerann/1": step}
    default = openblas.openblas_get_num_threads()
    return thread_variants("aerann", step, openblas.openblas_set_num_threads, default)


def torch_variants(torch, step) -> dict:
    """PyTorch's ``step`` with 1 thread and with all of its threads (its default)."""
    most = torch.get_num_threads()
    return thread_variants("torch", step, torch.set_num_threads, most, most)


def matmul_probe(size: int, rounds: int) -> float:
    """FLOP/s of a float32 (size x size) @ (size x size) product through NumPy's BLAS."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(np.float32) for _ in range(2))
    seconds = interleaved({"matmul": lambda: a @ b}, rounds, 3)["matmul"]
    return 2.0 * size**3 / seconds


def _timed_build(what: str, build, target=None):
    """``build()``, printing how long it took; a build over ``target`` seconds joins
    :data:`slow_builds`."""
    start, loaded = clock(), function_cache.loaded
    result = build()
    seconds = clock() - start
    how = "loaded from the function cache" if function_cache.loaded > loaded else "built"
    print(f"  compile: {what} {how} in {seconds:.1f} s", flush=True)
    if target is not None and seconds > target:
        slow_builds.append(f"{what} {how} in {seconds:.1f} s (target at most {target:.0f} s)")
    return result


def parameter_values(shared_variables):
    """The values of shared variables as the backend holds them (JAX arrays stay on their device)."""
    return [p.get_value(borrow=True, return_internal_type=True) for p in shared_variables]


# -- the tutorial model, one sentence per step ------------------------------------------
def torch_tutorial_step(torch, U, V, W, x, y, learning_rate, dtype, device="cpu"):
    """PyTorch's best form of the tutorial step: sparse embedding of U's columns, nn.RNN, summed CE."""
    hidden = W.shape[0]
    columns = torch.nn.Parameter(torch.tensor(U.T, dtype=dtype, device=device))
    output = torch.nn.Parameter(torch.tensor(V, dtype=dtype, device=device))
    rnn = torch.nn.RNN(hidden, hidden, bias=False).to(device=device, dtype=dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.eye(hidden, dtype=dtype))  # the input is U[:, x_t] itself
        rnn.weight_hh_l0.copy_(torch.tensor(W, dtype=dtype))
    rnn.weight_ih_l0.requires_grad_(False)
    optimizer = torch.optim.SGD([columns, output, rnn.weight_hh_l0], lr=learning_rate)
    x_t, y_t = (torch.as_tensor(a, dtype=torch.long, device=device) for a in (x, y))

    def step():
        optimizer.zero_grad(set_to_none=True)
        inputs = torch.nn.functional.embedding(x_t, columns, sparse=True).unsqueeze(1)
        states, _ = rnn(inputs)
        loss = torch.nn.functional.cross_entropy(states[:, 0] @ output.T, y_t, reduction="sum")
        loss.backward()
        optimizer.step()

    return step


def tutorial_steps(vocab, hidden, words, rounds, calls, learning_rate=0.005):
    """Seconds per SGD step of RNNNumpy, RNNTheano and PyTorch, in float64 and float32."""
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.integers(0, vocab, words).astype(np.int32)
    y = rng.integers(0, vocab, words).astype(np.int32)
    results = {}
    for dtype in ("float64", "float32"):
        np.random.seed(10)
        with aesara.config.change_flags(floatX=dtype):
            model = RNNTheano(vocab, hidden, bptt_truncate=words)
            _timed_build(f"RNNTheano {dtype} (vocabulary {vocab}, hidden {hidden}) SGD step",
                         lambda: model.sgd_step.function)
        shared = (model.U, model.V, model.W)
        # The step returns nothing: its work is in the new parameters.
        candidates = aerann_variants(lambda: (model.sgd_step(x, y, learning_rate), parameter_values(shared)))
        if dtype == "float64":
            reference = RNNNumpy(vocab, hidden, bptt_truncate=words)
            candidates["numpy"] = lambda: reference.sgd_step(x, y, learning_rate)
        if torch is not None:
            U, V, W = (p.get_value() for p in (model.U, model.V, model.W))
            torch_dtype = getattr(torch, dtype)
            step = torch_tutorial_step(torch, U, V, W, x, y, learning_rate, torch_dtype)
            candidates.update(torch_variants(torch, step))
        results[dtype] = interleaved(candidates, rounds, calls)
        results[dtype]["aerann threads"] = keep_fastest(results[dtype], "aerann")
        results[dtype]["torch threads"] = keep_fastest(results[dtype], "torch")
    return results


def _with_threads(text, threads) -> str:
    return f"{f'{text} ({threads}t)':>15}"


def report_steps(results, vocab, hidden, words) -> list[str]:
    """Print the step table; returns the targets missed."""
    missed = []
    print(f"\nPer-sentence SGD step, tutorial model (vocabulary {vocab}, hidden {hidden}, {words} words, full BPTT)")
    print("  (threads: the faster of 1 and all cores, for aerann's BLAS and for PyTorch)")
    print(f"  {'dtype':<8} {'RNNNumpy':>10} {'aerann':>15} {'PyTorch':>15} {'NumPy/aerann':>13} {'aerann/PyTorch':>15}")
    for dtype, times in results.items():
        ours, numpy_time, torch_time = times["aerann"], times.get("numpy"), times.get("torch")
        cells = [
            f"{numpy_time * 1e3:8.2f}ms" if numpy_time else f"{'-':>10}",
            _with_threads(f"{ours * 1e3:.2f}ms", times["aerann threads"]),
            _with_threads(f"{torch_time * 1e3:.2f}ms", times["torch threads"]) if torch_time else f"{'-':>15}",
        ]
        vs_numpy = f"{numpy_time / ours:12.1f}x" if numpy_time else f"{'-':>13}"
        vs_torch = f"{ours / torch_time:14.2f}x" if torch_time else f"{'(no torch)':>15}"
        print(f"  {dtype:<8} {' '.join(cells)} {vs_numpy} {vs_torch}")
        if numpy_time and numpy_time / ours < STEP_TARGET_VS_NUMPY:
            missed.append(f"{dtype} step only {numpy_time / ours:.1f}x faster than RNNNumpy (target 10x)")
        if torch_time and ours > STEP_TARGET_VS_TORCH * torch_time:
            missed.append(f"{dtype} step {ours / torch_time:.2f}x PyTorch's time "
                          f"(target at most {STEP_TARGET_VS_TORCH}x)")
    return missed


# -- language models in minibatches -------------------------------------------------------
def flop_per_token(row, vocab, embed, hidden) -> float:
    """Matrix-product FLOPs per token of one training step (forward + backward = 3x forward) of a
    throughput row (a unit's name, or "lstm-book" with its three peephole products)."""
    unit = "lstm" if row == "lstm-book" else row
    recurrent = 2 * (GATES[unit] * (embed + hidden) + (3 if row == "lstm-book" else 0) * hidden) * hidden
    output = 2 * hidden * vocab
    return 3.0 * (recurrent + output)


def batch_data(vocab, steps, batch):
    rng = np.random.default_rng(2)
    X = rng.integers(0, vocab, (steps, batch)).astype(np.int32)
    Y = rng.integers(0, vocab, (steps, batch)).astype(np.int32)
    return X, Y


def torch_language_model_step(torch, kind, vocab, embed, hidden, X, Y, learning_rate, device="cpu", carry=False):
    """PyTorch's language model: sparse nn.Embedding, nn.RNN/GRU/LSTM, nn.Linear, summed CE, SGD; ``step()``
    returns the loss.  With ``carry`` each call starts from the previous call's final states, detached
    (truncated BPTT over a stream)."""
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(vocab, embed, sparse=True)
    recurrent = getattr(torch.nn, kind)(embed, hidden)
    output = torch.nn.Linear(hidden, vocab)
    modules = [module.to(device) for module in (embedding, recurrent, output)]
    optimizer = torch.optim.SGD([p for m in modules for p in m.parameters()], lr=learning_rate)
    x_t, y_t = (torch.as_tensor(a, dtype=torch.long, device=device) for a in (X, Y))
    carried = [None]

    def step():
        optimizer.zero_grad(set_to_none=True)
        states, final = recurrent(embedding(x_t), carried[0])
        if carry:
            carried[0] = tuple(s.detach() for s in final) if isinstance(final, tuple) else final.detach()
        logits = output(states.reshape(-1, hidden))
        loss = torch.nn.functional.cross_entropy(logits, y_t.reshape(-1), reduction="sum")
        loss.backward()
        optimizer.step()
        return loss

    return step


def language_model_throughput(vocab, embed, hidden, steps, batch, rounds, calls, learning_rate=0.001):
    """Tokens per second of aerann's and PyTorch's language models, float32, per unit."""
    torch = _torch()
    X, Y = batch_data(vocab, steps, batch)
    mask = np.ones((steps, batch), dtype=np.float32)
    results = {}
    for row, unit, variant, torch_kind in THROUGHPUT_ROWS:
        with aesara.config.change_flags(floatX="float32"):
            model = LanguageModel(vocab, embed, [(unit, hidden, variant)], seed=0)
            train = _timed_build(f"{row} language model step (float32)", lambda: model.train_step("sgd"),
                                 target=COMPILE_TARGET)
        candidates = aerann_variants(lambda: train(X, Y, mask, learning_rate))
        if torch is not None:
            step = torch_language_model_step(torch, torch_kind, vocab, embed, hidden, X, Y, learning_rate)
            candidates.update(torch_variants(torch, step))
        results[row] = _rates(interleaved(candidates, rounds, calls), X.size)
    return results


def _rates(seconds: dict, tokens: int) -> dict:
    """Tokens per second from seconds per call, aerann's and PyTorch's faster thread counts kept."""
    threads = {name: keep_fastest(seconds, name) for name in ("aerann", "torch")}
    rates = {name: tokens / s for name, s in seconds.items()}
    rates.update({f"{name} threads": count for name, count in threads.items()})
    return rates


def stream_throughput(vocab, embed, hidden, steps, batch, rounds, calls, learning_rate=0.001):
    """Tokens per second of stream training (what ``fit_stream`` runs: each chunk starts from the last
    chunk's final states, and the gradient stops there), aerann's LSTM language model against PyTorch's
    ``nn.LSTM`` carrying detached states; float32."""
    torch = _torch()
    X, Y = batch_data(vocab, steps, batch)
    mask = np.ones((steps, batch), dtype=np.float32)
    with aesara.config.change_flags(floatX="float32"):
        model = LanguageModel(vocab, embed, [("lstm", hidden, TORCH_VARIANTS["lstm"])], seed=0)
        train = _timed_build("lstm stream training step (float32)", lambda: model.stream_step("sgd"))
        carried = flat_states(model.initial_states(batch))

    def stream_step():
        loss, *final = train(X, Y, mask, learning_rate, *carried)
        carried[:] = final
        return loss, final

    candidates = aerann_variants(stream_step)
    if torch is not None:
        step = torch_language_model_step(torch, "LSTM", vocab, embed, hidden, X, Y, learning_rate, carry=True)
        candidates.update(torch_variants(torch, step))
    return {"lstm": _rates(interleaved(candidates, rounds, calls), X.size)}


def report_throughput(results, probe, vocab, embed, hidden, steps, batch, title="Training throughput",
                      targets=THROUGHPUT_TARGETS) -> list[str]:
    """Print a throughput table (rows of ``results``); returns the ``targets`` missed."""
    missed = []
    print(
        f"\n{title}, float32 language models (vocabulary {vocab}, embedding {embed}, "
        f"hidden {hidden}, batch {batch} x {steps} steps)"
    )
    print("  (threads: the faster of 1 and all cores, for aerann's BLAS and for PyTorch)")
    print(f"  {'unit':<10} {'aerann tok/s':>15} {'PyTorch tok/s':>15} {'aerann/PyTorch':>15} {'of probe':>9}")
    for row, rates in results.items():
        ours, theirs = rates["aerann"], rates.get("torch")
        fraction = ours * flop_per_token(row, vocab, embed, hidden) / probe
        ours_cell = _with_threads(f"{ours:,.0f}", rates["aerann threads"])
        torch_cells = (
            f"{_with_threads(f'{theirs:,.0f}', rates['torch threads'])} {ours / theirs:14.2f}x"
            if theirs
            else f"{'-':>15} {'(no torch)':>15}"
        )
        print(f"  {row:<10} {ours_cell} {torch_cells} {fraction:9.2f}")
        target = targets.get(row)
        if theirs and target and ours < target * theirs:
            missed.append(f"{row} {title.lower()} {ours / theirs:.2f}x PyTorch's (target at least {target}x)")
        if row == "elman" and targets and fraction < PROBE_FRACTION_TARGET:
            missed.append(f"elman (tutorial) model at {fraction:.2f} of the matrix-product probe (target 0.7)")
    return missed


def torch_sampler(torch, vocab, hidden, words):
    """PyTorch sampling ``words`` words from a GRU language model (nn.Embedding, nn.GRU, nn.Linear), one step
    per word with the state carried, each word drawn from the softmax by ``torch.multinomial``."""
    torch.manual_seed(0)
    embedding, recurrent = torch.nn.Embedding(vocab, hidden), torch.nn.GRU(hidden, hidden)
    output = torch.nn.Linear(hidden, vocab)

    def sample():
        sampled, token, state = [], torch.zeros((1, 1), dtype=torch.long), None
        with torch.no_grad():
            for _ in range(words):
                states, state = recurrent(embedding(token), state)
                token = torch.multinomial(torch.softmax(output(states[0]), dim=-1), 1)
                sampled.append(int(token))
        return sampled

    return sample


def generation_times(vocab, hidden, lengths, rounds) -> dict:
    """Median seconds to sample one sentence of each length (words -> seconds) from a GRU language model
    (the variant of ``nn.GRU``), and PyTorch's ("torch") for the longer length."""
    from aerann.data import text  # here, not above: the GPU benchmark imports this module where NLTK is not installed

    model = LanguageModel(vocab, hidden, layers=[("gru", hidden, TORCH_VARIANTS["gru"])], seed=0)
    words = text.Vocabulary([text.SENTENCE_START, text.SENTENCE_END, *(f"w{i}" for i in range(vocab - 3)),
                             text.UNKNOWN_TOKEN])
    _timed_build("GRU language model step", lambda: model.step([0]))
    candidates = {n: (lambda n=n: generate_sentence(model, words, min_length=n, max_length=n, rng=0)) for n in lengths}
    torch = _torch()
    if torch is not None:
        candidates["torch"] = torch_sampler(torch, vocab, hidden, max(lengths))
    return interleaved(candidates, rounds, calls=1)


def report_generation(times, vocab, hidden) -> list[str]:
    """Print the generation table; returns the targets missed."""
    theirs = times.pop("torch", None)
    short, long = sorted(times)
    ratio = times[long] / times[short]
    print(f"\nGeneration: GRU language model, vocabulary {vocab}, {hidden} units, one compiled step per word")
    for n in (short, long):
        print(f"  {n:4d} words: {times[n] / n * 1e3:.3f} ms per word ({n / times[n]:,.0f} words/s)")
    if theirs:
        print(f"  PyTorch, {long} words: {theirs / long * 1e3:.3f} ms per word ({long / theirs:,.0f} words/s); "
              f"aerann/PyTorch {theirs / times[long]:.2f}x the words/s")
    print(f"  {long} words take {ratio:.1f}x the time of {short} (linear: {long / short:.0f}x; "
          f"target under {GENERATION_RATIO_TARGET:.0f}x)")
    if ratio >= GENERATION_RATIO_TARGET:
        target = f"target under {GENERATION_RATIO_TARGET:.0f}x"
        return [f"generating {long} words took {ratio:.1f}x the time of {short} ({target})"]
    return []


def _corename_of(library: str) -> str:
    openblas = ctypes.CDLL(library)
    corename = getattr(openblas, "openblas_get_corename", None)
    if corename is None:
        return "unknown"
    corename.restype = ctypes.c_char_p
    return corename().decode()


def openblas_kernels(library) -> str:
    """Which kernels the OpenBLAS at ``library`` runs; where ``OPENBLAS_CORETYPE`` chose them, also the
    ones it detects for this CPU on its own (found in a process without that variable)."""
    kernels = f"{_corename_of(str(library))} kernels"
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if not forced:
        return kernels
    code = f"from aerann.cli.bench import _corename_of; print(_corename_of({str(library)!r}))"
    environment = {name: value for name, value in os.environ.items() if name != "OPENBLAS_CORETYPE"}
    detected = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True,
                              timeout=120).stdout.strip() or "unknown"
    return f"{kernels} (OPENBLAS_CORETYPE={forced}; without it OpenBLAS picks {detected} here)"


def describe_machine() -> None:
    torch = _torch()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"aerann {aerann.__version__} CPU benchmark, {datetime.date.today().isoformat()}")
    print(f"  machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}")
    library, openblas = aesara_setup.scipy_openblas(), aesara_setup.aesara_openblas()
    if openblas is not None:
        threads = openblas.openblas_get_num_threads()
        blas = f"BLAS {library.name}, {threads} thread{'s' if threads > 1 else ''}, {openblas_kernels(library)}"
    else:
        blas = f"blas__ldflags={aesara.config.blas__ldflags!r}"
    print(
        f"  aesara {aesara.__version__} ({blas}), numpy {np.__version__}, "
        + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "torch not installed")
    )
    if torch is None:
        print("  PyTorch rows are skipped: install torch (pip install torch==2.13.0) to compare.")


SIZES = {
    # vocab, hidden (= embedding), words per sentence, batch, batch steps, probe size, rounds, calls
    "full": dict(vocab=8000, hidden=100, words=45, batch=32, steps=32, probe=2048, rounds=7, calls=3),
    "quick": dict(vocab=200, hidden=16, words=10, batch=4, steps=6, probe=256, rounds=2, calls=1),
}
# vocabulary, units, sentence lengths of the generation section
GENERATION = {
    "full": dict(vocab=2000, hidden=256, lengths=(100, 800)),
    "quick": dict(vocab=50, hidden=8, lengths=(10, 80)),
}
SECTIONS = ("probe", "step", "batch", "stream", "generate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aerann bench",
        description="Time aerann against RNNNumpy and PyTorch on this machine, as ratios measured in one run.",
        epilog="example: aerann bench --sections step",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the benchmark runs")
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=SECTIONS
    )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]
    describe_machine()
    missed = []
    slow_builds.clear()
    probe = matmul_probe(size["probe"], size["rounds"])
    print(f"\nMatrix-product probe: float32 {size['probe']}^2 @ {size['probe']}^2 at {probe / 1e9:.1f} GFLOP/s")
    if "step" in args.sections:
        steps = tutorial_steps(size["vocab"], size["hidden"], size["words"], size["rounds"], size["calls"])
        missed += report_steps(steps, size["vocab"], size["hidden"], size["words"])
    shape = (size["vocab"], size["hidden"], size["hidden"], size["steps"], size["batch"])  # of the batch sections
    if "batch" in args.sections:
        rates = language_model_throughput(*shape, size["rounds"], size["calls"])
        missed += report_throughput(rates, probe, *shape)
    if "stream" in args.sections:
        rates = stream_throughput(*shape, size["rounds"], size["calls"])
        missed += report_throughput(rates, probe, *shape, title="Stream training throughput", targets={})
    if "generate" in args.sections:
        sizes = GENERATION["quick" if args.quick else "full"]
        times = generation_times(sizes["vocab"], sizes["hidden"], sizes["lengths"], size["rounds"])
        missed += report_generation(times, sizes["vocab"], sizes["hidden"])
    missed += slow_builds
    print("\nTargets: " + ("all met" if not missed else "missed:"))
    for line in missed:
        print(f"  - {line}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
