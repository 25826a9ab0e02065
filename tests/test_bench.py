"""The CPU benchmark runs, prints every table as ratios, and says what it skipped or missed."""

import re

import pytest

from aerann.backend import aesara_setup
from aerann.cli import bench


def run(capsys, *argv):
    assert bench.main(["--quick", *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
def test_quick_benchmark_prints_probe_steps_throughput_compile_times_and_targets(capsys):
    out = run(capsys)
    assert re.search(r"Matrix-product probe: float32 256\^2 @ 256\^2 at [\d.]+ GFLOP/s", out)
    assert re.search(r"float64 +[\d.]+ms +[\d.]+ms \(\d+t\) +[\d.]+ms \(\d+t\) +[\d.]+x +[\d.]+x", out), out
    assert re.search(r"float32 +- +[\d.]+ms \(\d+t\) +[\d.]+ms \(\d+t\) +- +[\d.]+x", out), out
    for row in ("elman", "gru", "lstm", "lstm-book"):
        assert re.search(rf"\n  {row} +[\d,]+ \(\d+t\) +[\d,]+ \(\d+t\) +[\d.]+x +[\d.]+", out), out
        assert re.search(rf"compile: {row} language model step \(float32\) (built|loaded from the function cache) in", out)
    assert "compile: RNNTheano float64 (vocabulary 200, hidden 16) SGD step" in out
    stream = out[out.index("Stream training throughput"):]
    assert re.search(r"\n  lstm +[\d,]+ \(\d+t\) +[\d,]+ \(\d+t\) +[\d.]+x +[\d.]+", stream), out
    assert re.search(r"  10 words: [\d.]+ ms per word \([\d,]+ words/s\)\n +80 words: [\d.]+ ms per word \([\d,]+ words/s\)\n"
                     r"  PyTorch, 80 words: [\d.]+ ms per word \([\d,]+ words/s\); aerann/PyTorch [\d.]+x the words/s\n"
                     r"  80 words take [\d.]+x the time of 10 \(linear: 8x; target under 16x\)", out), out
    assert re.search(r"Targets: (all met|missed:)", out)


def test_without_pytorch_its_rows_are_skipped_with_a_note(capsys, monkeypatch):
    monkeypatch.setattr(bench, "_torch", lambda: None)
    out = run(capsys, "--sections", "step")
    assert "PyTorch rows are skipped" in out and "(no torch)" in out
    assert "Training throughput" not in out


def test_flop_count_of_the_tutorial_sized_model_is_the_issues_4_8_mflop_plus_the_recurrence():
    assert bench.flop_per_token("elman", 8000, 100, 100) == pytest.approx(4.8e6 + 3 * 2 * 200 * 100)
    assert bench.flop_per_token("lstm", 8000, 100, 100) - bench.flop_per_token("elman", 8000, 100, 100) == 3 * 3 * 2 * 200 * 100


@pytest.mark.slow
def test_on_the_jax_backend_every_timed_call_waits_for_the_work_it_started(capsys, monkeypatch):
    """JAX returns before its work is done: each aerann candidate must hand its JAX results to the
    timing, and no JAX array may still be in the making when the clock is read."""
    jax = pytest.importorskip("jax")
    from aerann.backend import compiler

    def jax_arrays(value):
        if isinstance(value, (list, tuple)):
            return [array for item in value for array in jax_arrays(item)]
        return [value] if isinstance(value, jax.Array) else []

    timed, unfinished_at_clock = [], []
    real_interleaved, real_clock = bench.interleaved, bench.clock

    def checked_interleaved(candidates, rounds, calls):
        for name, run in candidates.items():
            if name.startswith("aerann"):
                timed.append(name)
                assert jax_arrays(run()), f"{name} returned no JAX arrays to wait for"
        return real_interleaved(candidates, rounds, calls)

    def checking_clock():
        unfinished_at_clock.extend(array.shape for array in jax.live_arrays() if not array.is_ready())
        return real_clock()

    monkeypatch.setattr(bench, "interleaved", checked_interleaved)
    monkeypatch.setattr(bench, "clock", checking_clock)
    with compiler.backend("jax"):
        out = run(capsys, "--sections", "step", "batch", "stream")
    # the tutorial step in two dtypes, four language models and a stream, each at every thread count
    assert len(timed) == (2 + 4 + 1) * len(bench.aerann_variants(lambda: None)), timed
    assert not unfinished_at_clock
    assert "Stream training throughput" in out


def test_wait_blocks_on_every_array_of_a_nested_result():
    class Pending:
        def __init__(self):
            self.blocked = False

        def block_until_ready(self):
            self.blocked = True

    arrays = [Pending() for _ in range(4)]
    bench.wait([arrays[0], (arrays[1], {"loss": arrays[2]}), None, 3.0, [[arrays[3]]]])
    assert all(array.blocked for array in arrays)


def test_interleaved_timing_rotates_which_candidate_runs_first_and_times_each_call():
    calls = []
    candidates = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    seconds = bench.interleaved(candidates, rounds=3, calls=2)
    assert set(seconds) == set("abc") and all(value >= 0 for value in seconds.values())
    timed = calls[3:]  # after one warm-up call each
    assert [timed[i] for i in range(0, len(timed), 6)] == ["a", "b", "c"]
    assert sorted(timed) == sorted("abc" * 6)


@pytest.mark.skipif(aesara_setup.scipy_openblas() is None, reason="no OpenBLAS in SciPy's wheel")
def test_the_machine_line_names_the_openblas_kernels_and_those_a_forced_choice_replaced(monkeypatch):
    library = aesara_setup.scipy_openblas()
    running = f"{bench._corename_of(str(library))} kernels"
    assert running != "unknown kernels"
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    forced = bench.openblas_kernels(library)
    assert forced.startswith(f"{running} (OPENBLAS_CORETYPE=Haswell; without it OpenBLAS picks ")
    assert forced.removeprefix(running).split("picks ")[1].removesuffix(" here)") not in ("", "unknown")
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert bench.openblas_kernels(library) == running


def test_a_build_over_its_target_is_reported_as_missed(monkeypatch, capsys):
    ticks = iter([0.0, 12.5, 20.0, 21.0])
    monkeypatch.setattr(bench, "clock", lambda: next(ticks))
    monkeypatch.setattr(bench, "slow_builds", [])
    assert bench._timed_build("elman step", lambda: "built", target=10.0) == "built"
    assert bench._timed_build("gru step", lambda: "built", target=10.0) == "built"
    assert bench.slow_builds == ["elman step built in 12.5 s (target at most 10 s)"]
    assert "compile: gru step built in 1.0 s" in capsys.readouterr().out


def test_where_aesara_calls_another_blas_its_threads_are_left_alone(monkeypatch):
    monkeypatch.setattr(aesara_setup, "aesara_openblas", lambda: None)
    step = object()
    assert bench.aerann_variants(step) == {"aerann/1": step}
