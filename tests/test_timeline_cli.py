"""``gradviz timeline``: through click's CliRunner, and one real console-script run of an
example."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import EXAMPLES, run_gradviz
from test_cli import make_script, needs_layout
from timeline_demo import NAN_AT, STEPS, nan_script

from gradviz.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_writes_the_page_and_the_json_and_prints_the_findings(runner, tmp_path):
    needs_layout()
    script = nan_script(tmp_path)
    out = tmp_path / "out" / "deeper"  # created if missing
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(out)])
    assert result.exit_code == 0, result.output  # findings are shown, not a failure
    assert sorted(p.name for p in out.iterdir()) == ["nan5.timeline.html", "nan5.timeline.json"]
    for name in ("nan5.timeline.html", "nan5.timeline.json"):
        assert f"wrote {out / name}" in result.stdout
    assert f"recorded {STEPS} of {STEPS} backward calls (every 1st); loss " in result.stdout
    assert f"step {NAN_AT}: error: value of input has 1 NaN" in result.stdout
    data = json.loads((out / "nan5.timeline.json").read_text())
    assert data["steps"] == list(range(1, STEPS + 1))
    page = (out / "nan5.timeline.html").read_text()
    assert '<section id="tl"' in page
    assert page.count("'sha256-") == 2  # both scripts admitted, nothing else


def test_every_and_steps_pick_the_recorded_steps_and_stop_the_script(runner, tmp_path):
    needs_layout()
    script = nan_script(tmp_path)
    result = runner.invoke(
        cli, ["timeline", str(script), "-o", str(tmp_path), "--every", "3", "--steps", "7"]
    )
    assert result.exit_code == 0, result.output
    assert "recorded 3 of 7 backward calls (every 3rd)" in result.stdout
    printed = [line for line in result.stdout.splitlines() if line.startswith("loss ")]
    assert len(printed) == 6  # the script printed 6 losses, then was stopped in step 7
    data = json.loads((tmp_path / "nan5.timeline.json").read_text())
    assert data["steps"] == [1, 4, 7]  # 7 is also the 3rd after 4
    assert "step 5" not in result.stdout  # not recorded


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "0"], "Invalid value for '--every'"),
        (["--steps", "0"], "Invalid value for '--steps'"),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_bad_options_are_usage_errors(runner, tmp_path, args, message):
    script = nan_script(tmp_path)
    result = runner.invoke(cli, ["timeline", str(script), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("gradviz: ")
    assert message in result.stderr


def test_an_output_that_is_a_folder_stops_before_the_script_runs(runner, tmp_path):
    script = nan_script(tmp_path)
    (tmp_path / "nan5.timeline.json").mkdir()
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "choose another folder with -o" in result.stderr
    assert "loss" not in result.stdout  # the script never ran


def test_a_script_without_backward_or_that_fails_exits_1(runner, tmp_path):
    quiet = make_script(tmp_path, "import gradviz\nprint(gradviz.ones(2).sum())\n", "quiet.py")
    result = runner.invoke(cli, ["timeline", str(quiet), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "never called backward(), so there are no training steps" in result.stderr
    broken = make_script(tmp_path, "raise ValueError('boom')\n", "broken.py")
    result = runner.invoke(cli, ["timeline", str(broken), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "broken.py raised ValueError: boom; nothing was recorded" in result.stderr
    assert not list(tmp_path.glob("*.timeline.*"))


def test_help_shows_the_outputs_and_exit_codes(runner):
    result = runner.invoke(cli, ["timeline", "--help"])
    assert result.exit_code == 0
    for text in ("OUTDIR/<stem>.timeline.html", "--every", "--steps", "Exit 0"):
        assert text in result.stdout


def test_console_script_runs_an_example(tmp_path):
    needs_layout()
    env = {**os.environ, "GRADVIZ_EXAMPLE_QUICK": "1"}
    done = run_gradviz(
        "timeline", str(EXAMPLES / "regression.py"), "-o", "out", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "wrote out/regression.timeline.html" in done.stdout
    data = json.loads(Path(tmp_path / "out" / "regression.timeline.json").read_text())
    assert len(data["steps"]) > 3
    assert data["loss"][-1] < data["loss"][0]


SPIKE_SCRIPT = """
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.01)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    for step in range(1, 21):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y) * (1000.0 if step == 15 else 1.0)
        loss.backward()
        if step != 15:  # the spike does not derail training
            opt.step()
"""


def test_a_loss_spike_is_printed_and_listed_on_the_page_at_the_loss(runner, tmp_path):
    needs_layout()
    script = make_script(tmp_path, SPIKE_SCRIPT, "spike.py")
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "step 15: warning: loss spike: " in result.stdout
    page = (tmp_path / "spike.timeline.html").read_text(encoding="utf-8")
    start = page.index('id="gradviz-data">') + len('id="gradviz-data">')
    data = json.loads(page[start : page.index("</script>", start)])
    listed = [f for f in data["findings"] if f["kind"] == "loss_spike"]
    assert len(listed) == 1
    assert listed[0]["text"].startswith("step 15: loss spike: ")
    assert listed[0]["node"] == data["root"]  # the mark selects the loss
    assert [f["step"] for f in data["timeline"]["findings"]] == [15]


PROGRESS = """\
import sys

import gradviz as torch
from gradviz import nn

model = nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(10):
    loss = model(torch.ones(4, 3)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sys.{stream}.write(f"\\r{{step + 1}}/10 [{{'#' * (step + 1):<10}}]")  # a tqdm-style bar
    sys.{stream}.flush()
"""


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_progress_bar_left_open_does_not_swallow_the_first_line_we_print(
    runner, tmp_path, stream
):
    needs_layout()
    script = make_script(tmp_path, PROGRESS.format(stream=stream))
    result = runner.invoke(cli, ["timeline", str(script), "-o", str(tmp_path), "--steps", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.split("\n")  # (a "\r" does not end a line on a terminal)
    assert lines[0].endswith("2/10 [##        ]")  # the bar as the script left it, on its own line
    assert lines[1] == f"wrote {tmp_path / 'train.timeline.html'}"
