"""Hostile input, round 7, at the command line: tutorial scripts half converted to gradviz,
scripts that exit, interrupt, read stdin or change folder, and options at their limits."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gradviz.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


_HALF_CONVERTED = """\
import gradviz as torch
from torch.utils.data import DataLoader, TensorDataset
import torch.nn as nn
for (x,) in DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=2):
    x.sum().backward()
"""


@pytest.mark.parametrize("command", ["render", "diff"])
def test_a_torch_import_left_beside_gradviz_is_named_with_its_fix(runner, tmp_path, command):
    """Was: the collate TypeError of PyTorch's DataLoader given gradviz's Variables (or, without
    PyTorch, "No module named 'torch'"), with nothing saying that ``from torch.utils.data
    import ...`` loads PyTorch although the script imports gradviz as torch."""
    script = tmp_path / "train.py"
    script.write_text(_HALF_CONVERTED, encoding="utf-8")
    args = [str(script)] if command == "render" else [f"{script}@1", f"{script}@2"]
    result = runner.invoke(cli, [command, *args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert (
        "Note: train.py:2 'from torch.utils.data import DataLoader, TensorDataset' imports "
        "PyTorch itself (and 1 more import of torch), not gradviz"
    ) in result.stderr
    assert "write 'from gradviz.utils.data import DataLoader, TensorDataset'" in result.stderr
