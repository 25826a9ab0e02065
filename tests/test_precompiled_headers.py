"""Aesara's C modules compiled with their leading headers precompiled and without debugging
information: the same machine code, and modules that do not begin with #include lines compiled
as before."""

import shutil
import subprocess

import aesara.tensor as at
import pytest
from aesara.graph.fg import FunctionGraph
from aesara.link.c.basic import CLinker
from aesara.link.c.cmodule import GCC_compiler

from aerann.backend import precompiled_headers


@pytest.fixture
def headers(tmp_path, monkeypatch):
    """An empty folder of precompiled headers, and the flags of every compile it sees."""
    monkeypatch.setattr(precompiled_headers, "directory", lambda: tmp_path / "pch")
    monkeypatch.delenv("AERANN_PRECOMPILED_HEADERS", raising=False)
    seen = []
    real = precompiled_headers._aesaras

    def recording(module_name, src_code, location, include_dirs, lib_dirs, libs, preargs, *rest, **options):
        seen.append(list(preargs))
        return real(module_name, src_code, location, include_dirs, lib_dirs, libs, preargs, *rest, **options)

    monkeypatch.setattr(precompiled_headers, "_aesaras", recording)
    return tmp_path / "pch", seen


def compile_module(location, src_code=None, compile_str=None):
    """Aesara's C module for exp(x), compiled as CLinker compiles it, into ``location`` (by
    ``compile_str``, by default the one Aesara calls).  Modules whose machine code is compared are
    compiled in folders whose paths have the same length: the source's path is among the module's
    strings, and a longer one can move the others."""
    x = at.vector("x")
    linker = CLinker().accept(FunctionGraph([x], [at.exp(x)]))
    module = linker.get_dynamic_module()
    location.mkdir()
    (compile_str or GCC_compiler.compile_str)(
        module.code_hash, src_code or module.code(), location=str(location), include_dirs=linker.header_dirs(),
        lib_dirs=linker.lib_dirs(), libs=linker.libraries(), preargs=linker.compile_args(), py_module=False,
    )
    (library,) = [p for p in location.iterdir() if p.suffix == ".so"]
    return library, module.code()


def machine_code(library):
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True)
    return listing.stdout.split("\n", 3)[3]  # past the line naming the file


def test_aesara_compiles_through_it():
    assert GCC_compiler.compile_str is precompiled_headers.compile_str


def test_a_module_compiled_with_its_headers_precompiled_has_the_same_machine_code(headers, tmp_path, monkeypatch):
    folder, seen = headers
    with_header, source = compile_module(tmp_path / "with_pch")
    (built,) = folder.iterdir()
    assert (built / "prefix.h").read_text().splitlines() == precompiled_headers.leading_includes(source)
    assert (built / "prefix.h.gch").is_file()
    assert seen[-1][-2:] == ["-include", str(built / "prefix.h")]
    compile_module(tmp_path / "pch_again")
    assert list(folder.iterdir()) == [built]  # built once, reused
    monkeypatch.setenv("AERANN_PRECOMPILED_HEADERS", "0")
    without, _ = compile_module(tmp_path / "no_pch__")
    assert "-include" not in seen[-1]
    assert shutil.which("objdump"), "binutils comes with gcc"
    assert machine_code(with_header) == machine_code(without)


def test_a_module_is_compiled_without_debugging_information_to_the_same_machine_code(headers, tmp_path):
    _, seen = headers
    ours, _ = compile_module(tmp_path / "ours")
    assert seen[-1][seen[-1].index("-g0"):] == ["-g0", "-include", seen[-1][-1]]
    aesaras, _ = compile_module(tmp_path / "them", compile_str=precompiled_headers._aesaras)
    assert "-g0" not in seen[-1] and "-include" not in seen[-1]  # Aesara's own: -g, every header parsed
    assert ours.stat().st_size < aesaras.stat().st_size  # no debugging sections
    assert machine_code(ours) == machine_code(aesaras)


def test_a_module_that_does_not_begin_with_includes_is_compiled_as_before(headers, tmp_path):
    folder, seen = headers
    _, source = compile_module(tmp_path / "first")
    compile_module(tmp_path / "commented", "// a module\n" + source)
    assert "-include" not in seen[-1]


def test_the_leading_include_lines():
    source = '#include <Python.h>\n#include "helper.h"\n\n#include <vector>\nint x;\n'
    assert precompiled_headers.leading_includes(source) == ["#include <Python.h>", '#include "helper.h"']
    assert precompiled_headers.leading_includes("int x;\n#include <vector>\n") == []
