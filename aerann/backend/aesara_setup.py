"""Configure Aesara before anything imports it.

Aesara's default BLAS detection imports ``numpy.distutils``, which breaks as
soon as setuptools >= 74 is installed (PyTorch requires it), and then
``import aesara`` itself fails.  aerann therefore sets ``blas__ldflags``
explicitly unless the user chose a value: it links the OpenBLAS that SciPy's
wheel bundles (``scipy.libs/libopenblas*.so``, standard 32-bit-integer BLAS
symbols), so Aesara's compiled GEMM, GEMV and GER call a real BLAS instead
of its slower NumPy C-API fallback.  Without that library the flag is left
empty and the fallback is used.

That OpenBLAS gets as many threads as the machine has idle cores when
aerann is imported (``AERANN_BLAS_THREADS=auto``, the default: the cores
this process may use, less the load average of the last minute, at least
one), or the count ``AERANN_BLAS_THREADS`` names.  A recurrent step is a
chain of small products: on an idle machine two threads were faster, but on
a busy one waking BLAS threads that then wait for a core cost 4x on the
tutorial step (docs/benchmarks.md has the figures).  A function whose Ops
run threads of their own calls it on one thread whatever the count
(:mod:`aerann.backend.own_threads`).  NumPy's own BLAS is not affected.  On numpy >= 2 (the lent GPU machines) it
also restores ``numpy.obj2sctype``, which Aesara 2.9 still calls.
"""

import ctypes
import functools
import importlib.util
import logging
import os
import sys
from pathlib import Path

import numpy as np

from aerann.backend import deferred_imports


def _user_set(flag: str) -> bool:
    flags = os.environ.get("AESARA_FLAGS", "")
    return flag in flags or flag.replace("__", ".") in flags


def _restore_numpy1_names() -> None:
    """Give numpy 2 back the one numpy 1 name Aesara 2.9 needs."""
    if int(np.__version__.split(".")[0]) < 2 or hasattr(np, "obj2sctype"):
        return

    def obj2sctype(rep, default=None):
        return np.dtype(rep).type if rep is not None else default

    np.obj2sctype = obj2sctype


def wheel_openblas(package: str) -> Path | None:
    """The OpenBLAS shared library bundled in ``package``'s wheel (``scipy.libs``, ``numpy.libs``), if any."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = Path(list(spec.submodule_search_locations)[0]).parent / f"{package}.libs"
    found = sorted(libs.glob("libopenblas*.so*")) if libs.is_dir() else []
    return found[0] if found else None


def scipy_openblas() -> Path | None:
    """The OpenBLAS bundled in SciPy's wheel: the one aerann links Aesara's C code against."""
    return wheel_openblas("scipy")


def blas_ldflags(library: Path | None) -> str:
    """Linker flags for ``library``, or "" (Aesara's NumPy-based fallback).

    The file name is linked as is (``-l:name``: wheels' libraries have no
    ``libopenblas.so`` alias) and found again at run time through an rpath.
    Aesara splits its flags on commas, so ``-Wl,`` cannot be used.
    """
    if library is None:
        return ""
    folder = library.parent
    return f"-L{folder} -l:{library.name} -Xlinker -rpath={folder}"


def configure() -> None:
    """Prepare the environment so that ``import aesara`` works anywhere (and starts sooner)."""
    _restore_numpy1_names()
    if "aesara" not in sys.modules:
        deferred_imports.defer("scipy.stats")
    if "aesara" in sys.modules or _user_set("blas__ldflags"):
        return
    flags = os.environ.get("AESARA_FLAGS", "")
    library = scipy_openblas()
    ldflags = blas_ldflags(library)
    os.environ["AESARA_FLAGS"] = ",".join(f for f in (flags, f"blas__ldflags={ldflags}") if f)
    if library is not None:
        logging.getLogger("aesara.tensor.blas").addFilter(_silence_library_name_warning)
        set_blas_threads(library, os.environ.get("AERANN_BLAS_THREADS", "auto"))


@functools.cache
def aesara_openblas():
    """A handle (``ctypes.CDLL``) to the OpenBLAS Aesara's C code calls when that is the one aerann
    links (SciPy's), to read and set its threads; None where Aesara uses another BLAS."""
    import aesara  # after configure(), which must run first

    library = scipy_openblas()
    if library is None or aesara.config.blas__ldflags != blas_ldflags(library):
        return None
    return ctypes.CDLL(str(library))


def idle_cores() -> int:
    """The cores this process may run on, less the machine's load average over the last minute (at least 1)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        busy = os.getloadavg()[0]
    except OSError:  # no load average on this system: assume idle
        busy = 0.0
    return max(1, min(usable, round(usable - busy)))


def set_blas_threads(library: Path, count) -> int:
    """Make the OpenBLAS at ``library`` use ``count`` threads (``"auto"``: :func:`idle_cores`); returns the
    count it reports."""
    if str(count).strip().lower() == "auto":
        count = idle_cores()
    try:
        count = int(count)
    except ValueError:
        raise ValueError(f"AERANN_BLAS_THREADS must be a positive integer or auto, got {count!r}") from None
    if count < 1:
        raise ValueError(f"AERANN_BLAS_THREADS must be a positive integer or auto, got {count}")
    openblas = ctypes.CDLL(str(library))
    openblas.openblas_set_num_threads(count)
    return openblas.openblas_get_num_threads()


def _silence_library_name_warning(record: logging.LogRecord) -> bool:
    """Drop Aesara's false alarm about ``-l:file`` (it looks for a library named ":file")."""
    return not record.getMessage().startswith("We did not find a dynamic library")
