"""The C library's heap, kept for the next training step (Linux with glibc only).

A training step allocates and frees the same arrays of a few hundred KB at every step. Once
more than 128 KB lies free at the top of its heap, glibc hands it back to the kernel, and every
page of the next step's arrays faults back in, zero-filled by the kernel: a thousand faults per
step of a small GPT, a tenth of its time. Telling glibc to keep :data:`TOP_PAD` bytes when it
trims (``mallopt(M_TOP_PAD)``) stops that; the memory stays the process's, as PyTorch's caching
allocators keep theirs. ``MALLOC_TOP_PAD_`` in the environment (glibc's own variable, read at
start) chooses another amount, ``0`` glibc's default; gradviz then leaves the heap alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Bytes glibc keeps at the top of the heap when it trims (and asks for beyond each request).
TOP_PAD = 64 << 20

_M_TOP_PAD = -2  # mallopt's parameter numbers, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
#: Setting M_TOP_PAD freezes glibc's dynamic mmap threshold wherever the imports left it (often
#: its 128 KB start), and arrays above it are mmapped and fault in at every step all the same:
#: it is fixed where glibc's dynamic rule tops out instead.
MMAP_THRESHOLD = 32 << 20


def keep_heap_top(size: int = TOP_PAD) -> bool:
    """Ask glibc to keep ``size`` free bytes at the top of its heap; whether it was asked
    (not on other systems and C libraries, nor when ``MALLOC_TOP_PAD_`` is set)."""
    if not sys.platform.startswith("linux") or "MALLOC_TOP_PAD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl: its mallopt does nothing
            return False
        asked = bool(libc.mallopt(_M_TOP_PAD, size))
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        return asked
    except (OSError, AttributeError):  # pragma: no cover - no C library to ask
        return False
