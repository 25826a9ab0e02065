"""Let freed large arrays' memory be reused, instead of handing it back to the system.

glibc's malloc serves large allocations (above an adaptive threshold of at
most 32 MiB) with fresh pages from the kernel and returns them on free. A
language model's training step allocates and frees several arrays the size
of its output layer (tokens x vocabulary: 33 MB for 1024 tokens and 8000
words), so with the threshold at its default every step faulted in and
zeroed those pages anew. :func:`keep_freed_memory` raises malloc's
thresholds so that freed blocks stay in the heap and the next step reuses
them, as ``MALLOC_MMAP_THRESHOLD_`` would: the Elman and GRU language models
then trained 15% and 26% more tokens/s at batch 32 x 32 here
(docs/benchmarks.md). It is process-wide;
``AERANN_KEEP_FREED_MEMORY=0`` leaves malloc as it is. Off glibc it does
nothing.
"""

import ctypes
import os

# mallopt parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks below this come from the heap and stay there when freed.
THRESHOLD = 1 << 30


def enabled() -> bool:
    """``AERANN_KEEP_FREED_MEMORY``: 1 (the default) or 0."""
    value = os.environ.get("AERANN_KEEP_FREED_MEMORY", "1").strip() or "1"
    if value not in ("0", "1"):
        raise ValueError(f"AERANN_KEEP_FREED_MEMORY must be 0 or 1, got {value!r}")
    return value == "1"


def keep_freed_memory() -> bool:
    """Make malloc keep freed blocks below :data:`THRESHOLD` for reuse; True when it did."""
    if not enabled():
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's C library
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD))
