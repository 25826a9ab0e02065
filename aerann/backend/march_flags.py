"""The CPU flags Aesara gives gcc, detected once per machine instead of once per process.

Before its first C module in a process, Aesara asks gcc which ``-march``
flags ``-march=native`` stands for (two runs of ``g++ -E -v``, then a test
program compiled and run with them), so every program that loads or compiles
a compiled function waits for three compiler runs first, even when every
module it needs is in the cache.

Here the flags Aesara found are kept in a small JSON file and given to
Aesara (``GCC_compiler.march_flags``) in later processes, so it skips the
detection.  They depend on the compiler and on the CPU, so the file's name
is a hash of the compiler's command and version string, the extra
``gcc__cxxflags``, the machine's architecture, and the model name and
feature flags that ``/proc/cpuinfo`` reports: a home folder shared between
machines with different CPUs keeps one file for each.  Where
``/proc/cpuinfo`` cannot be read, nothing is kept and Aesara detects the
flags as before.  Files live in ``aerann-march-flags`` under
``aesara.config.base_compiledir``; ``AERANN_MARCH_FLAGS=0`` turns this off.
"""

import hashlib
import json
import logging
import os
import platform
from pathlib import Path

import aesara
from aesara.link.c import cmodule

from aerann.data.files import write_json_atomic

_log = logging.getLogger(__name__)
FORMAT = 1  # of a file; part of its name


def enabled() -> bool:
    return os.environ.get("AERANN_MARCH_FLAGS", "1").strip().lower() not in ("0", "off", "false", "no")


def directory() -> Path:
    return Path(aesara.config.base_compiledir) / "aerann-march-flags"


def cpu_description():
    """The model name and feature flags of the first CPU in /proc/cpuinfo; None where unreadable."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            lines = info.read().split("\n\n", 1)[0].splitlines()
    except OSError:
        return None
    fields = [line.split(":", 1) for line in lines if ":" in line]
    wanted = [value.strip() for name, value in fields if name.strip() in ("model name", "flags")]
    return wanted or None


def path():
    """Where this compiler's flags for this CPU are kept; None where the CPU cannot be described."""
    cpu = cpu_description()
    if cpu is None:
        return None
    config = aesara.config
    key = repr((FORMAT, config.cxx, cmodule.gcc_version_str, config.gcc__cxxflags, platform.machine(), cpu))
    return directory() / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def _read(file):
    try:
        flags = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    return flags if isinstance(flags, list) and all(isinstance(flag, str) for flag in flags) else None


def _write(file, flags) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(file, flags)
    except OSError as error:
        _log.debug("not keeping the -march flags: %s", error)


def install() -> None:
    """Give Aesara the flags kept for this compiler and CPU, or keep them once Aesara has detected them."""
    compiler = cmodule.GCC_compiler
    if not enabled() or compiler.march_flags is not None or not aesara.config.cxx:
        return
    file = path()
    if file is None:
        return
    flags = _read(file)
    if flags is not None:
        compiler.march_flags = flags
        return
    detect = compiler.compile_args

    def compile_args(march_flags=True):
        first = compiler.march_flags is None
        result = detect(march_flags)
        if first and compiler.march_flags is not None:
            _write(file, list(compiler.march_flags))
            compiler.compile_args = staticmethod(detect)
        return result

    compiler.compile_args = staticmethod(compile_args)
