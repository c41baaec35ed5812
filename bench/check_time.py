"""What ``gradviz check`` costs on the medium MLP step (784-256-128-10, batch 64).

    python bench/check_time.py           # ~10 s
    python bench/check_time.py --quick   # one run of each

Rows:
- ``tr.check()`` on a traced step (all diagnoses; the per-op gradient check re-runs each of
  the step's ops in float64 along two random directions per input);
- ``gradviz check train.py`` end to end, as a user runs it: a fresh interpreter, the script
  run to its first step, the check, the report and both SVG pictures with the findings marked.

Target (issue 4): ``gradviz check`` <= 10 s. Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import medium_mlp_script, verdict

TARGET = 10.0


def time_check(script: Path, repeat: int) -> float:
    from gradviz.viz.runner import run_script

    times = []
    for _ in range(repeat):
        tr = run_script(script)
        start = time.perf_counter()
        report = tr.check()
        times.append(time.perf_counter() - start)
    assert report.ok, report.format()
    return statistics.median(times)


def time_cli(script: Path, outdir: Path, repeat: int) -> float:
    times = []
    command = [sys.executable, "-m", "gradviz", "check", str(script), "-o", str(outdir)]
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"gradviz check failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run of each row")
    args = parser.parse_args()
    repeat = 1 if args.quick else 5
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "medium_mlp.py"
        script.write_text(medium_mlp_script(steps=3), encoding="utf-8")
        check = time_check(script, repeat)
        cli = time_cli(script, Path(folder) / "out", repeat)
    print(f"medium MLP step (784-256-128-10, batch 64), median of {repeat}:")
    print(f"  tr.check()                      {check:6.2f} s")
    result = verdict(cli <= TARGET)
    print(f"  gradviz check (end to end)      {cli:6.2f} s   target <= {TARGET:.0f} s  {result}")
    sys.exit(0 if cli <= TARGET else 1)


if __name__ == "__main__":
    main()
