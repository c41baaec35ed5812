"""gradviz keeps the C library's freed heap for the next step, and leaves it alone when told."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest
from helpers import run_gradviz

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the heap is tuned on Linux with glibc only",
)

# Arrays of 512 KB and of 4 MB allocated and freed 50 times: glibc's default hands them back
# to the kernel each time and every page faults in again (50 x 3,072); kept, only the first
# round faults.
LOOP = textwrap.dedent(
    """
    import resource, numpy as np
    import gradviz
    from gradviz.autograd import heap
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        arrays = [np.ones(65536) for _ in range(8)] + [np.ones(1 << 19) for _ in range(2)]
        del arrays
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(heap.keep_heap_top(), faults)
    """
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_loop(cwd: str = ROOT, **environment: str) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", LOOP],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": ROOT, **environment},
    )
    asked, faults = result.stdout.split()
    return asked, int(faults)


@pytest.mark.parametrize("cwd", [ROOT, "/"])  # what the imports free first differs by folder
def test_a_step_s_freed_arrays_do_not_fault_back_in_at_the_next_step(cwd: str) -> None:
    asked, faults = run_loop(cwd)
    assert asked == "True"
    assert faults < 10 * 3072  # the first rounds only, not 50


@pytest.mark.parametrize(
    "variable",
    [
        ("MALLOC_TOP_PAD_", "0"),
        ("MALLOC_TRIM_THRESHOLD_", "131072"),
        ("GLIBC_TUNABLES", "glibc.malloc.top_pad=0"),
    ],
)
def test_a_malloc_setting_in_the_environment_leaves_the_heap_to_glibc(variable) -> None:
    asked, faults = run_loop(**dict([variable]))
    assert asked == "False"
    assert faults > 20 * 3072  # glibc's default: round after round faults its pages in again


def test_doctor_says_what_happens_to_freed_memory() -> None:
    kept = run_gradviz("doctor")
    assert "glibc keeps 64 MB freed for the next step" in kept.stdout, kept.stdout
    left = run_gradviz("doctor", env={**os.environ, "MALLOC_TOP_PAD_": "0"})
    assert "heap" in left.stdout
    assert "left to glibc" in left.stdout, left.stdout
