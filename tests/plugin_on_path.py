"""A plugin of plugins/ made importable and discoverable as ``pip install`` would leave it.

Its source folder and a dist-info folder declaring its entry point go on
sys.path, so the registry finds the plugin the way it finds any installed
one; afterwards both leave sys.path, its modules leave sys.modules, and the
registry is loaded again.
"""

import contextlib
import sys
from pathlib import Path

import aerann

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def install_on_path(folder: Path, distribution: str, module: str, entry_point: str) -> list[str]:
    """Write the dist-info of ``distribution`` (0.1.0) into ``folder``; the sys.path entries that install it."""
    dist_info = folder / f"{module}-0.1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[aerann]\n{entry_point} = {module}\n")
    return [str(PLUGINS / distribution / "src"), str(folder)]


@contextlib.contextmanager
def plugin_on_path(folder: Path, distribution: str, module: str, entry_point: str):
    """The plugin installed for the duration: yields its sys.path entries."""
    paths = install_on_path(folder, distribution, module, entry_point)
    sys.path[:0] = paths
    aerann.units.reload()
    try:
        yield paths
    finally:
        for path in paths:
            sys.path.remove(path)
        for name in [m for m in sys.modules if m == module or m.startswith(f"{module}.")]:
            del sys.modules[name]
        aerann.units.reload()
