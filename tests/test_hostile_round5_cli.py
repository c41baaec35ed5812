"""Hostile input, round 5, at the command line: files that are no Python script given as the
script (a notebook, a binary file), the same on either side of ``gradviz diff``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import run_gradviz

from gradviz.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("gradviz: "), result.stderr
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") <= 2, result.stderr  # the message (and where to get help)


def _notebook(tmp_path):
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    notebook = {"cells": [{**cell, "source": ["loss.backward()\n"]}], "nbformat": 4}
    path = tmp_path / "train.ipynb"
    path.write_text(json.dumps(notebook, indent=1))
    return path


@pytest.mark.parametrize("command", ["render", "check", "timeline", "watch"])
def test_a_notebook_given_as_the_script_says_how_to_run_it(runner, tmp_path, command):
    # was: the notebook's JSON run as Python: "NameError: name 'null' is not defined", exit 1
    notebook = _notebook(tmp_path)
    result = runner.invoke(cli, [command, str(notebook), "-o", str(tmp_path / "out")])
    one_line_error(result, 2, "train.ipynb is a Jupyter notebook, not a Python script")
    assert "jupyter nbconvert --to script" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["render", "timeline"])
def test_a_binary_file_given_as_the_script_is_a_usage_error(runner, tmp_path, command):
    # was: "train.pt raised SyntaxError: source code string cannot contain null bytes", exit 1
    weights = tmp_path / "train.pt"
    weights.write_bytes(b"PK\x03\x04\x00\x00binary")
    result = runner.invoke(cli, [command, str(weights), "-o", str(tmp_path / "out")])
    one_line_error(result, 2, "train.pt is not a Python script (it holds binary data)")
    assert not (tmp_path / "out").exists()


def test_a_notebook_on_a_side_of_diff_is_named_as_a_notebook(runner, tmp_path):
    # was: "no such trace file: train.ipynb@1", of a file that is there
    notebook = _notebook(tmp_path)
    result = runner.invoke(cli, ["diff", f"{notebook}@1", f"{notebook}@2"])
    one_line_error(result, 2, "train.ipynb is a Jupyter notebook, not a Python script")


def test_diff_takes_a_script_without_the_py_suffix_as_render_does(runner, tmp_path):
    # was: "no such trace file: train@1"; render and check run it
    script = tmp_path / "train"
    script.write_text("print('never runs: bad step')\n")
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@x"])
    one_line_error(result, 2, "bad step in")


def test_a_notebook_as_the_script_in_a_real_console_run(tmp_path):
    done = run_gradviz("render", str(_notebook(tmp_path)), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("gradviz: Invalid value for 'SCRIPT': ")
    assert "Traceback" not in done.stderr


_PYTORCH_SCRIPT = """\
import torch
from torch import nn

model = nn.Linear(2, 1)
loss = model(torch.ones(4, 2)).sum()
loss.backward()
"""


@pytest.mark.parametrize("command", ["render", "check", "timeline", "watch"])
def test_a_pytorch_script_is_told_to_import_gradviz_as_torch(runner, tmp_path, command):
    # was: "train.py never called backward()" (it did, on PyTorch's tensors), and render's
    # hint to draw it with --forward-only
    pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text(_PYTORCH_SCRIPT)
    result = runner.invoke(cli, [command, str(script), "-o", str(tmp_path / "out")])
    one_line_error(result, 1, "train.py imports PyTorch (import torch), whose backward()")
    assert "import gradviz as torch" in result.stderr
    assert "--forward-only" not in result.stderr


def test_diff_of_a_pytorch_script_is_told_to_import_gradviz_as_torch(runner, tmp_path):
    pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text(_PYTORCH_SCRIPT)
    result = runner.invoke(cli, ["diff", f"{script}@1", f"{script}@2"])
    one_line_error(result, 1, "train.py imports PyTorch (import torch), whose backward()")


def test_a_script_importing_gradviz_as_torch_is_not_called_a_pytorch_script(runner, tmp_path):
    script = tmp_path / "infer.py"
    script.write_text("import gradviz as torch\nprint(torch.ones(2).sum().item())\n")
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / "out")])
    one_line_error(result, 1, "infer.py never called backward()")


def test_check_of_a_second_backward_over_one_graph_says_why_ops_were_not_checked(runner, tmp_path):
    # was: "the op inputs were not kept (a loaded trace, or not the latest pass)": neither
    # is so; the graph was built before the backward call before it (retain_graph=True)
    script = tmp_path / "twice.py"
    script.write_text(
        "import gradviz\n"
        "from gradviz import nn, optim\n"
        "model = nn.Linear(2, 1)\n"
        "opt = optim.SGD(model.parameters(), lr=0.1)\n"
        "for _ in range(2):\n"
        "    loss = model(gradviz.ones(4, 2)).pow(2).mean()\n"
        "    opt.zero_grad()\n"
        "    loss.backward(retain_graph=True)\n"
        "    loss.backward()\n"
        "    opt.step()\n"
    )
    result = runner.invoke(cli, ["check", str(script), "--step", "2", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "retain_graph=True" in result.output
    assert "gradviz check --step 1" in result.output
