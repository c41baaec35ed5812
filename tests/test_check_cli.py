"""``gradviz check SCRIPT`` through click's CliRunner: the report, the marked pictures, the exit
status."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import EXAMPLES, line_of

from gradviz.cli import cli


def check(tmp_path: Path, name: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["check", str(EXAMPLES / f"{name}.py"), "-o", str(tmp_path), *args]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def finding_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("error", "warning"))]


def needs_layout():
    from gradviz.viz.draw.layout import find_layout_program

    if find_layout_program() is None:
        pytest.skip("no layout program (dot or graphviz-pure)")


def test_buggy_layer_exits_1_and_its_first_error_is_the_custom_op(tmp_path):
    needs_layout()
    code, out, err = check(tmp_path, "buggy_layer")
    assert code == 1, out + err
    first = finding_lines(out)[0]
    assert first.startswith("error")
    assert "DenseFunction" in first
    assert line_of("buggy_layer", "DenseFunction.apply(") in first
    assert "gradient check: 6 ops, 5 passed, 1 FAILED" in out
    assert "layer  module  class" in out  # the per-layer table
    for view in ("forward", "backward"):
        path = tmp_path / f"buggy_layer.{view}.svg"
        assert f"wrote {path}" in out
        svg = path.read_text(encoding="utf-8")
        ET.fromstring(svg)  # valid XML
        assert "gradcheck FAILED" in svg
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_nan_loss_last_step_reports_the_log_and_its_line(tmp_path):
    code, out, _ = check(tmp_path, "nan_loss", "--step", "-1", "--format", "dot")
    assert code == 1
    first = finding_lines(out)[0]
    assert first.startswith("error")
    assert "Log" in first
    assert line_of("nan_loss", "prediction.log()") in first
    assert "log of values <= 0" in out
    dot = (tmp_path / "nan_loss.forward.dot").read_text(encoding="utf-8")
    assert "NaN/Inf born here" in dot
    assert "carries the NaN/Inf on" in dot  # the contaminated nodes' legend row


def test_nan_loss_first_step_is_clean(tmp_path):
    code, out, _ = check(tmp_path, "nan_loss", "--format", "dot")
    assert code == 0, out
    assert "0 errors" in out


def test_vanishing_is_a_warning_with_the_layer_range(tmp_path):
    code, out, _ = check(tmp_path, "vanishing", "--format", "dot")
    assert code == 0
    assert "vanishing gradients" in out
    assert "layers 0-" in out
    assert "<- vanishing" in out  # flagged rows of the table


def test_detached_names_the_detach(tmp_path):
    code, out, _ = check(tmp_path, "detached", "--format", "dot")
    assert code == 0
    detach = line_of("detached", "h.detach()")
    lines = finding_lines(out)
    assert any("hidden.weight got no gradient: cut by detach() at " + detach in x for x in lines)
    dot = (tmp_path / "detached.forward.dot").read_text(encoding="utf-8")
    assert "hidden.weight" in dot  # the cut-off branch is drawn
    assert 'label=" detach()"' in dot


def test_broadcast_bug_exits_1(tmp_path):
    with pytest.warns(UserWarning, match="target size"):  # mse_loss warns at call time
        code, out, _ = check(tmp_path, "broadcast_bug", "--format", "dot")
    assert code == 1
    first = finding_lines(out)[0]
    assert "MseLoss" in first
    assert line_of("broadcast_bug", "F.mse_loss(") in first
    assert "(32, 1) against target (32,) to (32, 32)" in out


@pytest.mark.parametrize("name", ["regression", "moons", "digits", "custom_layer"])
def test_correct_examples_exit_0(tmp_path, name):
    code, out, err = check(tmp_path, name, "--format", "dot")
    assert code == 0, out + err
    assert not [line for line in finding_lines(out) if line.startswith("error")]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{name}.backward.dot",
        f"{name}.forward.dot",
    ]


def test_a_failing_script_exits_1_with_its_traceback(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise ValueError('boom')\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "nothing was checked" in result.stderr
    assert "ValueError: boom" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["check", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2
    bad = runner.invoke(cli, ["check", str(EXAMPLES / "moons.py"), "--format", "html"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("gradviz: ")


def test_check_and_render_share_the_script_options():
    render = {p.name for p in cli.commands["render"].params}
    check_params = {p.name for p in cli.commands["check"].params}
    assert {"script", "script_args", "outdir", "step", "fmt", "depth"} <= render & check_params
