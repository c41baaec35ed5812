"""The benchmark scripts import against the current API (they run outside the test suite, so a
moved function would otherwise surface only when someone measures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_every_benchmark_script_imports():
    modules = sorted(p.stem for p in BENCH.glob("*.py"))
    code = f"import sys; sys.path.insert(0, {str(BENCH)!r}); " + "; ".join(
        f"import {m}" for m in modules
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "trace_overhead" in modules
