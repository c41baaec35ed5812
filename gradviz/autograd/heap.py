"""The C library's heap, kept for the next training step (Linux with glibc only).

A training step allocates and frees the same arrays of a few hundred KB at every step. Once
more than 128 KB lies free at the top of its heap, glibc hands it back to the kernel, and every
page of the next step's arrays faults back in, zero-filled by the kernel: a thousand faults per
step of a small GPT, a tenth of its time. Telling glibc to keep :data:`TOP_PAD` bytes when it
trims (``mallopt(M_TOP_PAD)``) stops that; the memory stays the process's, as PyTorch's caching
allocators keep theirs. ``MALLOC_TOP_PAD_`` in the environment (glibc's own variable, read at
start; or ``glibc.malloc.top_pad`` in ``GLIBC_TUNABLES``) chooses another amount, ``0``
glibc's default; gradviz then leaves the heap alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Bytes glibc keeps at the top of the heap when it trims (and asks for beyond each request).
TOP_PAD = 64 << 20

_M_TOP_PAD = -2  # mallopt's parameter number, from glibc's malloc.h

#: The amount gradviz asked glibc to keep, in bytes (0: it did not ask).
kept = 0


def _chosen_by_environment() -> bool:
    return "MALLOC_TOP_PAD_" in os.environ or "top_pad" in os.environ.get("GLIBC_TUNABLES", "")


def keep_heap_top(size: int = TOP_PAD) -> bool:
    """Ask glibc to keep ``size`` free bytes at the top of its heap; whether it was asked
    (not on other systems and C libraries, nor when the environment chose the amount)."""
    global kept
    if _chosen_by_environment() or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl: its mallopt does nothing
            return False
        if libc.mallopt(_M_TOP_PAD, size):
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
        return "left to glibc (MALLOC_TOP_PAD_ or GLIBC_TUNABLES chose its top pad)"
    return "left to the C library (gradviz tunes glibc's only)"
