"""What every example script shares: its command line, its output folder, its plots and results file.

Each example writes ``results.json`` (the numbers it printed) and its PNG
figures into ``--out``; the tests read them back.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

# Make ``import aerann`` work from a checkout without installing it.
_REPO = Path(__file__).resolve().parent.parent
if (_REPO / "aerann" / "__init__.py").is_file() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import logging  # noqa: E402

# Aesara logs a one-line notice about its BLAS fallback on import; it says nothing about the example.
logging.getLogger("aesara.tensor.blas").setLevel(logging.ERROR)

import aerann  # noqa: E402,F401  (configures Aesara before anything imports it)


def parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """An argument parser with the options every example has: --quick, --out, --seed."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: runs in seconds (what the tests run)")
    ap.add_argument("--out", type=Path, default=Path("runs") / default_out, help="folder for figures and results.json")
    ap.add_argument("--seed", type=int, default=10, help="random seed")
    return ap


def out_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain(value):
    """``value`` with NumPy scalars and arrays turned into JSON types (NaN/inf as strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_results(out: Path, results: dict) -> Path:
    """Write ``results`` to OUT/results.json and say where."""
    path = Path(out) / "results.json"
    path.write_text(json.dumps(_plain(results), indent=2) + "\n", encoding="utf-8")
    print(f"\nWrote {path}")
    return path


def load_lines(path) -> list[str]:
    """Non-empty stripped lines of a UTF-8 text file."""
    text = Path(path).read_text(encoding="utf-8-sig")
    return [line.strip() for line in text.splitlines() if line.strip()]


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
