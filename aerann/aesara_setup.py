"""Configure Aesara before anything imports it.

Aesara's default BLAS detection imports ``numpy.distutils``, which breaks as
soon as setuptools >= 74 is installed (PyTorch requires it), and then
``import aesara`` itself fails.  aerann therefore sets ``blas__ldflags``
explicitly unless the user chose a value.  On numpy >= 2 (the lent GPU
machines) it also restores ``numpy.obj2sctype``, which Aesara 2.9 still calls.
"""

import os
import sys

import numpy as np


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


def configure() -> None:
    """Prepare the environment so that ``import aesara`` works anywhere."""
    _restore_numpy1_names()
    if "aesara" in sys.modules or _user_set("blas__ldflags"):
        return
    flags = os.environ.get("AESARA_FLAGS", "")
    os.environ["AESARA_FLAGS"] = ",".join(f for f in (flags, "blas__ldflags=") if f)
