"""nanoGPT's train.py (tests/ported/nanogpt.py) runs, resumes from its checkpoint and is seen
by ``gradviz check`` with the import changed and nothing else: its GradScaler, autocast,
``torch.compile``, dtype table, ``backends.cuda`` flags and gradient accumulation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "ported" / "nanogpt.py"


def _run(tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OUT": str(tmp_path / "out"), **env}
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_nanogpt_trains_saves_and_resumes(tmp_path):
    first = _run(tmp_path, sys.executable, str(SCRIPT), ITERS="10")
    assert "saving checkpoint" in first.stdout
    assert "iter 10: loss" in first.stdout
    assert "GradScaler('cuda') is enabled, but there is no cuda device" in first.stderr
    resumed = _run(tmp_path, sys.executable, str(SCRIPT), INIT="resume", ITERS="12")
    assert "iter 10: loss" in resumed.stdout  # resumed at the checkpoint's iteration
    assert "iter 9:" not in resumed.stdout
    assert "iter 12: loss" in resumed.stdout


@pytest.mark.parametrize("flash", ["1", "0"])
def test_check_passes_every_op_and_says_why_a_micro_batch_has_no_update(tmp_path, flash):
    gradviz = [sys.executable, "-m", "gradviz", "check", str(SCRIPT)]
    first = _run(tmp_path, *gradviz, ITERS="2", FLASH=flash).stdout
    assert "0 errors" in first
    assert "failed" not in first.split("gradient check:")[1].splitlines()[0]
    assert "update/weight -: no parameter changed" in first
    second = _run(tmp_path, *gradviz, "--step", "2", ITERS="2", FLASH=flash).stdout
    assert "update/weight -" not in second  # the backward call before optimizer.step()
