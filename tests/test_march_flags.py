"""Aesara's -march flags are detected once per compiler and CPU, kept, and given back: the same flags."""

import json
import os
import subprocess
import sys

import pytest
from aesara.link.c import cmodule

from aerann.backend import march_flags


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """Flags not detected yet in this process, kept under tmp_path, detected by a counting stand-in."""
    compiler = cmodule.GCC_compiler
    monkeypatch.setattr(compiler, "march_flags", None)
    monkeypatch.setattr(march_flags, "directory", lambda: tmp_path / "aerann-march-flags")
    monkeypatch.delenv("AERANN_MARCH_FLAGS", raising=False)
    calls = []

    def detect(march_flags=True):
        calls.append(march_flags)
        if compiler.march_flags is None:
            compiler.march_flags = ["-march=testcpu", "-mtune=testcpu"]
        return ["-O3", *compiler.march_flags]

    monkeypatch.setattr(compiler, "compile_args", staticmethod(detect))
    return compiler, calls


def test_flags_detected_once_are_kept_and_given_to_the_next_process_without_detecting(fresh):
    compiler, calls = fresh
    march_flags.install()
    assert compiler.compile_args() == ["-O3", "-march=testcpu", "-mtune=testcpu"] and len(calls) == 1
    assert json.loads(march_flags.path().read_text()) == ["-march=testcpu", "-mtune=testcpu"]
    compiler.march_flags = None  # as in a new process
    march_flags.install()
    assert compiler.march_flags == ["-march=testcpu", "-mtune=testcpu"] and len(calls) == 1


def test_another_cpu_or_compiler_gets_its_own_file(fresh, monkeypatch):
    first = march_flags.path()
    monkeypatch.setattr(march_flags, "cpu_description", lambda: ["Another CPU", "fpu sse2"])
    assert march_flags.path() != first
    monkeypatch.undo()
    monkeypatch.setattr(cmodule, "gcc_version_str", "99.0")
    assert march_flags.path() != first


def test_without_a_cpu_description_or_when_switched_off_aesara_detects_as_before(fresh, monkeypatch, tmp_path):
    compiler, calls = fresh
    for setting in ("no cpuinfo", "switched off"):
        if setting == "no cpuinfo":
            monkeypatch.setattr(march_flags, "cpu_description", lambda: None)
        else:
            monkeypatch.setenv("AERANN_MARCH_FLAGS", "0")
        compiler.march_flags = None
        march_flags.install()
        compiler.compile_args()
        assert not (tmp_path / "aerann-march-flags").exists()
    assert len(calls) == 2


def test_an_unreadable_file_is_detected_again(fresh):
    compiler, calls = fresh
    march_flags.path().parent.mkdir(parents=True)
    march_flags.path().write_text("{not json")
    march_flags.install()
    compiler.compile_args()
    assert len(calls) == 1 and json.loads(march_flags.path().read_text()) == ["-march=testcpu", "-mtune=testcpu"]


def test_the_kept_flags_are_those_aesara_detects_itself():
    code = "import aerann; from aesara.link.c import cmodule; print(repr(cmodule.GCC_compiler.compile_args()))"
    own = subprocess.run([sys.executable, "-c", code], env={**os.environ, "AERANN_MARCH_FLAGS": "0"},
                         capture_output=True, text=True, check=True).stdout
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert kept == own and "-march=" in own
