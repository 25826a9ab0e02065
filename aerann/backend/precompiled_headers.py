"""Precompiled headers for Aesara's C modules: gcc parses Python's, NumPy's and C++'s headers once.

Every C module Aesara generates begins with the same few ``#include``
lines (``Python.h``, ``iostream``, Aesara's helper, ``math.h``, NumPy's
array headers, often ``vector`` and ``algorithm``), and gcc spent most of
each module's compile time on them, for each of the dozens of modules a
first model needs and the hundreds the test suite compiles on a fresh
machine.

Here, before gcc compiles a module, the ``#include`` lines it begins with
are compiled once into a precompiled header (``prefix.h.gch``), with the
module's own compiler, flags and include folders, and the module is
compiled with ``-include prefix.h``.  The header holds exactly those lines,
in that order, with nothing before them, so the module sees the same
declarations as before and its machine code is the same; its own
``#include`` lines then find their headers already included.  gcc uses a
precompiled header only when the flags it was built with fit, and
otherwise reads ``prefix.h`` as text, so a mismatch costs time, never a
different module.  Aesara's module cache keys are unchanged.

Modules (and their headers) are also compiled without debugging
information: Aesara always passes ``-g``, and writing the debugging
sections took about a quarter of gcc's time per module; ``-g0`` after it
leaves the machine code as it was (gcc never lets ``-g`` change the code it
generates).

Headers are kept in ``aerann-pch`` under ``aesara.config.base_compiledir``,
one folder per compiler, flags and include lines;
``AERANN_PRECOMPILED_HEADERS=0`` turns them off.
"""

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import aesara
from aesara.link.c.cmodule import GCC_compiler, std_include_dirs
from aesara.utils import output_subprocess_Popen

_log = logging.getLogger(__name__)
_aesaras = GCC_compiler.compile_str
_failed = set()  # headers that did not build in this process: not tried again


def enabled() -> bool:
    return os.environ.get("AERANN_PRECOMPILED_HEADERS", "1").strip().lower() not in ("0", "off", "false", "no")


def directory() -> Path:
    return Path(aesara.config.base_compiledir) / "aerann-pch"


def leading_includes(src_code: str) -> list:
    """The ``#include`` lines a C source begins with, up to its first other line."""
    lines = []
    for line in src_code.splitlines():
        if not line.startswith("#include"):
            break
        lines.append(line)
    return lines


def header_flags(preargs, include_dirs, hide_symbols=True) -> list:
    """The flags of Aesara's gcc command for a module that decide what its headers declare."""
    flags = ["-g"]
    if aesara.config.cmodule__remove_gxx_opt:
        flags += [p for p in preargs if not p.startswith("-O")]
    else:
        flags += list(preargs)
    flags += [f"-I{folder}" for folder in include_dirs]
    if hide_symbols and sys.platform != "win32":
        flags.append("-fvisibility=hidden")
    return flags


def precompiled_header(includes, flags):
    """``prefix.h`` with its ``prefix.h.gch`` for these include lines and flags, built on first
    use (atomically: the folder appears complete or not at all); None if it cannot be built."""
    key = hashlib.sha256(repr((aesara.config.cxx, includes, flags)).encode()).hexdigest()[:24]
    folder = directory() / key
    header = folder / "prefix.h"
    if (folder / "prefix.h.gch").is_file():
        return header
    if key in _failed:
        return None
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=folder.parent))
    try:
        (building / "prefix.h").write_text("\n".join(includes) + "\n")
        command = [aesara.config.cxx, "-x", "c++-header", *flags, str(building / "prefix.h"),
                   "-o", str(building / "prefix.h.gch")]
        _, stderr, status = output_subprocess_Popen(command)
        if status:
            raise RuntimeError(stderr.decode(errors="replace")[-2000:])
        try:
            building.rename(folder)
        except OSError:  # another process built it first
            if not (folder / "prefix.h.gch").is_file():
                raise
        return header
    except Exception as error:
        _log.debug("no precompiled header for %s: %s", includes, error)
        _failed.add(key)
        return None
    finally:
        shutil.rmtree(building, ignore_errors=True)


def compile_str(module_name, src_code, location=None, include_dirs=None, lib_dirs=None, libs=None,
                preargs=None, py_module=True, hide_symbols=True):
    """Aesara's ``GCC_compiler.compile_str``, with the module's leading headers precompiled and
    no debugging information."""
    preargs = [*(preargs or []), "-g0"]
    includes = leading_includes(src_code)
    if includes and enabled() and aesara.config.cxx:
        folders = [d for d in (include_dirs or []) if d] + std_include_dirs()
        header = precompiled_header(includes, header_flags(preargs, folders, hide_symbols))
        if header is not None:
            preargs += ["-include", str(header)]
    return _aesaras(module_name, src_code, location, include_dirs, lib_dirs, libs, preargs, py_module, hide_symbols)


def install():
    """Make Aesara compile its C modules through :func:`compile_str`."""
    GCC_compiler.compile_str = staticmethod(compile_str)
