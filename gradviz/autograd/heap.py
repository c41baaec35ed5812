"""The C library's heap, kept for the next training step (Linux with glibc only).

A training step allocates and frees the same arrays of a few hundred KB at every step. Once
more than 128 KB lies free at the top of its heap, glibc hands it back to the kernel, and every
page of the next step's arrays faults back in, zero-filled by the kernel: a thousand faults per
step of a small GPT, a tenth of its time. Telling glibc to keep :data:`TOP_PAD` bytes when it
trims (``mallopt(M_TOP_PAD)``) stops that; the memory stays the process's, as PyTorch's caching
allocators keep theirs. Setting it freezes glibc's dynamic mmap threshold wherever the imports
left it (often its 128 KB start, and arrays above it would be mapped and faulted in at every
step all the same), so the threshold is fixed where glibc's own rule tops out,
:data:`MMAP_THRESHOLD`. A malloc setting in the environment (``MALLOC_TOP_PAD_``,
``MALLOC_MMAP_THRESHOLD_``, ... or ``glibc.malloc.*`` in ``GLIBC_TUNABLES``, read by glibc at
start) leaves the heap to glibc: ``MALLOC_TOP_PAD_=0`` gives glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Bytes glibc keeps at the top of the heap when it trims (and asks for beyond each request).
TOP_PAD = 64 << 20
#: Allocations from this size on are mapped on their own (glibc's dynamic rule's ceiling).
MMAP_THRESHOLD = 32 << 20

_M_TOP_PAD = -2  # mallopt's parameter numbers, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3

#: The amount gradviz asked glibc to keep, in bytes (0: it did not ask).
kept = 0


def _chosen_by_environment() -> bool:
    """Whether the environment sets one of glibc's malloc parameters."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return "glibc.malloc." in tunables or any(
        name.startswith("MALLOC_") and name.endswith("_") for name in os.environ
    )


def keep_heap_top(size: int = TOP_PAD) -> bool:
    """Ask glibc to keep ``size`` free bytes at the top of its heap; whether it was asked
    (not on other systems and C libraries, nor when the environment sets malloc parameters)."""
    global kept
    if _chosen_by_environment() or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl: its mallopt does nothing
            return False
        if libc.mallopt(_M_TOP_PAD, size):
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            kept = size
            return True
    except (OSError, AttributeError):  # pragma: no cover - no C library to ask
        pass
    return False


def describe() -> str:
    """What happens to freed memory, in one line (``gradviz doctor``)."""
    if kept:
        return f"glibc keeps {kept >> 20} MB freed for the next step (not with MALLOC_TOP_PAD_=0)"
    if _chosen_by_environment():
        return "left to glibc (malloc parameters set in the environment)"
    return "left to the C library (gradviz tunes glibc's only)"
