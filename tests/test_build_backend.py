"""The build backend says plainly, before pip resolves anything, when a Python cannot run aerann."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def backend():
    spec = importlib.util.spec_from_file_location("aerann_build_backend", ROOT / "build_support" / "aerann_build_backend.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", [(3, 13, 0), (3, 10, 12)])
def test_an_unsupported_python_gets_one_plain_sentence(backend, monkeypatch, version):
    monkeypatch.setattr(sys, "version_info", version)
    monkeypatch.setattr(sys, "version", ".".join(map(str, version)) + " (main)")
    for hook in (backend.get_requires_for_build_wheel, backend.get_requires_for_build_editable):
        with pytest.raises(SystemExit, match=r"aerann needs Python 3\.11 or 3\.12, not 3\.1[03]\.\d+: Aesara 2\.9\.4 "
                                             r"needs numpy < 2"):
            hook()


def test_a_supported_python_builds_as_setuptools_does(backend):
    from setuptools import build_meta

    assert sys.version_info[:2] in backend.SUPPORTED
    assert backend.get_requires_for_build_wheel() == build_meta.get_requires_for_build_wheel()
    assert backend.build_wheel is build_meta.build_wheel and backend.build_editable is build_meta.build_editable
    assert "requires-python = \">=3.11,<3.13\"" in (ROOT / "pyproject.toml").read_text()
