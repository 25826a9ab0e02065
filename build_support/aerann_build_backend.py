"""setuptools' build backend, which first says plainly when this Python cannot run aerann.

pip reads a local project's Requires-Python only after it has resolved (and
on Python 3.13 tried to build from source) its dependencies, so that an
unsupported Python ends in a NumPy build error that does not name the
cause.  This backend checks the Python before setuptools prepares anything;
everything else is setuptools' own.
"""

import sys

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F401,F403 (the rest of the backend, unchanged)

SUPPORTED = ((3, 11), (3, 12))


def _check_python():
    if sys.version_info[:2] not in SUPPORTED:
        raise SystemExit(
            f"aerann needs Python 3.11 or 3.12, not {sys.version.split()[0]}: Aesara 2.9.4 needs numpy < 2, "
            "which has no wheels for newer Pythons. Install with python3.12 (or python3.11), "
            "e.g. python3.12 -m venv .venv"
        )


def get_requires_for_build_wheel(config_settings=None):
    _check_python()
    return build_meta.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings=None):
    _check_python()
    return build_meta.get_requires_for_build_editable(config_settings)
