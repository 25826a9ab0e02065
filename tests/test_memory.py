"""Importing aerann makes malloc keep freed large blocks for reuse, unless told not to."""

import os
import subprocess
import sys

import pytest

from aerann.backend import memory

# Where a fresh interpreter's 64 MiB array lives: inside the heap (between its
# start and the program break) or in pages mapped for it alone.
PROBE = """
import ctypes, numpy as np, aerann
heap = next(int(line.split("-")[0], 16) for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]"))
libc = ctypes.CDLL(None)
libc.sbrk.restype = ctypes.c_void_p
array = np.ones(16 * 1024 * 1024, dtype=np.float32)
print("heap" if heap <= array.ctypes.data < libc.sbrk(0) else "mapped")
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc's malloc only"
)


def where_a_large_array_lives(**environment):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AERANN_KEEP", "MALLOC_"))}
    env.update(environment)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@glibc
def test_after_import_large_arrays_come_from_the_heap():
    assert where_a_large_array_lives() == "heap"


@glibc
def test_keep_freed_memory_0_leaves_malloc_alone():
    assert where_a_large_array_lives(AERANN_KEEP_FREED_MEMORY="0") == "mapped"


@pytest.mark.parametrize("value", ["yes", "2", "-1"])
def test_a_bad_setting_is_a_clear_error(value, monkeypatch):
    monkeypatch.setenv("AERANN_KEEP_FREED_MEMORY", value)
    with pytest.raises(ValueError, match="AERANN_KEEP_FREED_MEMORY must be 0 or 1"):
        memory.keep_freed_memory()


def test_0_turns_it_off(monkeypatch):
    monkeypatch.setenv("AERANN_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory() is False
