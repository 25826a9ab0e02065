"""benchmarks/gpu.py skips cleanly without a GPU and, on JAX's CPU device, runs every row."""

import re
import runpy
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def gpu_bench():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        yield runpy.run_path(str(SCRIPT))
    finally:
        sys.path.remove(str(SCRIPT.parent))
        from aerann.backend import compiler

        compiler.set_backend("c")


def test_without_a_gpu_it_says_so_and_exits_0(gpu_bench, capsys, monkeypatch):
    monkeypatch.setitem(gpu_bench["main"].__globals__, "gpu_device", lambda allow_cpu: None)
    assert gpu_bench["main"]([]) == 0
    assert "No GPU found by JAX: skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_on_the_cpu_device_it_times_aerann_against_hand_written_jax(gpu_bench, capsys):
    assert gpu_bench["main"](["--quick", "--allow-cpu", "--units", "elman", "--unroll", "4", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"GPU benchmark on .* \(cpu\)", out)
    assert re.search(r"aerann +[\d.]+ ms +aerann/aerann: 1\.00x", out)
    assert re.search(r"jax +[\d.]+ ms +aerann/jax: [\d.]+x", out)
    assert re.search(r"aerann u1 +[\d.]+ ms +aerann/aerann u1: [\d.]+x", out)
    assert re.search(r"elman +aerann [\d,]+  aerann u1 [\d,]+  jax [\d,]+ .*   aerann/jax: [\d.]+x", out)
    first, last = map(float, re.search(r"loss per token ([\d.]+) -> ([\d.]+)", out).groups())
    assert last < first


def test_a_failing_part_prints_its_traceback_the_others_still_run_and_the_status_is_1(gpu_bench, capsys, monkeypatch):
    def broken(*args):
        raise RuntimeError("no such device")

    parts = gpu_bench["main"].__globals__
    monkeypatch.setitem(parts, "per_sentence", broken)
    monkeypatch.setitem(parts, "throughput", lambda *args: {"elman": {"aerann": 3000.0, "jax": 1500.0}})
    monkeypatch.setitem(parts, "stacked_training", lambda size: (4.0, 3.5, 1000.0))
    assert gpu_bench["main"](["--quick", "--allow-cpu"]) == 1
    out = capsys.readouterr().out
    assert "RuntimeError: no such device" in out
    assert re.search(r"elman +aerann 3,000  jax 1,500   aerann/jax: 2\.00x", out)
    assert "loss per token 4.000 -> 3.500, 1,000 tokens/s" in out
    assert re.search(r"Failed: Per-sentence SGD step", out)
