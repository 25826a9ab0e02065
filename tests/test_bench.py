"""The CPU benchmark runs, prints every table as ratios, and says what it skipped or missed."""

import re

import pytest

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
    for unit in ("elman", "gru", "lstm"):
        assert re.search(rf"{unit} +[\d,]+ \(\d+t\) +[\d,]+ \(\d+t\) +[\d.]+x +[\d.]+", out), out
        assert re.search(rf"compile: {unit} language model step \(float32\) (built|loaded from the function cache) in", out)
    assert "compile: RNNTheano float64" in out
    assert re.search(r"  10 words: [\d.]+ ms per word\n +80 words: [\d.]+ ms per word\n"
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


def test_interleaved_timing_rotates_which_candidate_runs_first_and_times_each_call():
    calls = []
    candidates = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    seconds = bench.interleaved(candidates, rounds=3, calls=2)
    assert set(seconds) == set("abc") and all(value >= 0 for value in seconds.values())
    timed = calls[3:]  # after one warm-up call each
    assert [timed[i] for i in range(0, len(timed), 6)] == ["a", "b", "c"]
    assert sorted(timed) == sorted("abc" * 6)
