"""The module names of the flat layout still import, as the very modules at their new places."""

import builtins
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import aerann
from aerann import moved_modules


@pytest.mark.parametrize("old", sorted(moved_modules.MOVED))
def test_an_old_name_imports_the_module_at_its_new_place(old):
    new = importlib.import_module(moved_modules.MOVED[old])
    assert importlib.import_module(f"aerann.{old}") is new
    assert getattr(aerann, old) is new
    assert new.__spec__.name == new.__name__ == moved_modules.MOVED[old]  # its own spec, not the alias's


def test_the_old_names_work_in_a_fresh_process_in_every_form():
    code = (
        "import aerann.run, aerann.io\n"
        "from aerann import optim, compile\n"
        "from aerann.text import Vocabulary\n"
        "import aerann.training.run, aerann.data.files, aerann.data.text\n"
        "assert aerann.run is aerann.training.run and aerann.io is aerann.data.files\n"
        "assert Vocabulary is aerann.data.text.Vocabulary and compile is aerann.backend.compiler\n"
        "assert optim.OPTIMIZERS == aerann.training.optim.OPTIMIZERS\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_module_shadows_a_standard_library_name_and_unknown_names_still_fail():
    names = {path.stem for path in Path(aerann.__file__).parent.rglob("*.py")} - {"__init__", "__main__"}
    assert not names & (set(sys.stdlib_module_names) | set(dir(builtins)))
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("aerann.nothing_here")
    with pytest.raises(AttributeError):
        aerann.nothing_here
