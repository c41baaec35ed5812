"""The ``gradviz`` command line, through click's CliRunner (and one real console-script run)."""

from __future__ import annotations

import json
import os
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import run_gradviz

from gradviz import cli as cli_module
from gradviz.cli import cli

TRAIN = """
    import sys
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = gradviz.Variable(np.ones((5, 3), dtype=np.float32))
    y = gradviz.Variable(np.zeros((5, 1), dtype=np.float32))
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        opt.step()
"""


def make_script(folder: Path, body: str, name: str = "train.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def train(tmp_path: Path) -> Path:
    return make_script(tmp_path, TRAIN)


def needs_layout():
    from gradviz.viz.draw.layout import find_layout_program

    if find_layout_program() is None:
        pytest.skip("no layout program (dot or graphviz-pure)")


def test_render_writes_both_pictures_and_a_summary(runner, train, tmp_path):
    needs_layout()
    out = tmp_path / "out" / "deeper"  # created if missing
    result = runner.invoke(cli, ["render", str(train), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["train.backward.svg", "train.forward.svg"]
    for view in ("forward", "backward"):
        ET.parse(out / f"train.{view}.svg")  # valid XML
        assert f"wrote {out / f'train.{view}.svg'}" in result.stdout
    assert "ops: 4 (Linear 2, MseLoss 1, Relu 1)" in result.stdout
    assert "0.weight  (4, 3)" in result.stdout
    assert "backward steps:" in result.stdout
    assert "|grad|" in result.stdout
    assert "NaN/Inf: none" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(("fmt", "names"), [
    ("dot", ["train.backward.dot", "train.forward.dot"]),
    ("json", ["train.trace.json"]),
])  # fmt: skip
def test_render_formats(runner, train, tmp_path, fmt, names):
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", str(train), "-o", str(out), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == names
    if fmt == "json":
        assert isinstance(json.loads((out / names[0]).read_text()), dict)
    else:
        assert (out / names[0]).read_text().startswith("digraph")


def test_html_writes_one_page(runner, train, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", str(train), "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["train.html"]
    assert f"wrote {out / 'train.html'}" in result.stdout
    page = (out / "train.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") >= 2  # forward and backward
    assert "http://" not in page.replace("http://www.w3.org/", "")  # nothing to fetch


def test_script_that_raises_shows_its_own_traceback(runner, tmp_path):
    script = make_script(
        tmp_path,
        """
        def helper():
            return 1 / 0

        helper()
        """,
        name="broken.py",
    )
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    err = result.stderr
    assert err.startswith("gradviz: broken.py raised ZeroDivisionError")
    assert "Traceback (most recent call last)" in err
    assert "in helper" in err
    assert "return 1 / 0" in err
    assert "runpy" not in err
    assert f"{os.sep}gradviz{os.sep}" not in err  # no frames of gradviz itself
    assert not (tmp_path / "out").exists()


def test_script_that_exits_nonzero_fails(runner, tmp_path):
    script = make_script(tmp_path, "import sys\nsys.exit(3)\n", name="quits.py")
    result = runner.invoke(cli, ["render", str(script)])
    assert result.exit_code == 1
    assert "gradviz: quits.py exited with status 3" in result.stderr


def test_a_script_that_exits_nonzero_shows_where_it_exited(runner, tmp_path):
    script = make_script(
        tmp_path,
        """
        import argparse

        def parse():
            p = argparse.ArgumentParser()
            p.add_argument("--epochs", type=int, default=3)
            return p.parse_args()

        def main():
            parse()

        if __name__ == "__main__":
            main()
        """,
    )
    result = runner.invoke(cli, ["render", str(script), "--", "--epochs", "x"])
    assert result.exit_code == 1
    err = result.stderr
    assert "invalid int value: 'x'" in err  # argparse's own message, as the script printed it
    assert "gradviz: train.py exited with status 2; nothing was drawn." in err
    assert "Traceback (most recent call last)" in err  # where it exited, not a bare SystemExit
    assert "in parse" in err
    assert "return p.parse_args()" in err
    assert err.rstrip().endswith("SystemExit: 2")


def test_script_without_backward_names_backward_and_hints_forward_only(runner, tmp_path):
    script = make_script(
        tmp_path,
        """
        import numpy as np
        import gradviz
        from gradviz import nn

        model = nn.Linear(2, 1)
        print(model(gradviz.Variable(np.ones((1, 2), dtype=np.float32))))
        """,
        name="infer.py",
    )
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", str(script), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("gradviz: infer.py never called backward()")
    assert "--forward-only" in result.stderr

    result = runner.invoke(
        cli, ["render", str(script), "-o", str(out), "--forward-only", "--format", "dot"]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["infer.forward.dot"]
    assert "Linear" in (out / "infer.forward.dot").read_text()


def test_step_beyond_the_last_backward(runner, train, tmp_path):
    result = runner.invoke(cli, ["render", str(train), "--step", "5", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("gradviz: backward step 5 was not reached")
    assert "train.py called backward() 2 times" in result.stderr
    ok = runner.invoke(
        cli, ["render", str(train), "--step", "-1", "--format", "dot", "-o", str(tmp_path / "o")]
    )
    assert ok.exit_code == 0, ok.output


def test_script_arguments_after_double_dash(runner, train, tmp_path):
    # `5` reaches the script as sys.argv[1]: five backward calls, so step 5 exists
    args = ["render", str(train), "--step", "5", "--format", "dot", "-o", str(tmp_path / "o")]
    result = runner.invoke(cli, [*args, "--", "5"])
    assert result.exit_code == 0, result.output
    seen = make_script(
        tmp_path,
        "import pathlib, sys\npathlib.Path(sys.argv[0] + '.argv').write_text(repr(sys.argv[1:]))\n",
        name="argv.py",
    )
    result = runner.invoke(cli, ["render", str(seen), "--", "--lr", "0.1", "-o", "x"])
    assert result.exit_code == 1  # never called backward; the arguments were the script's
    assert Path(str(seen) + ".argv").read_text() == "['--lr', '0.1', '-o', 'x']"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "no-such-script.py"], "does not exist"),
        (["render", "{train}", "--bogus"], "No such option '--bogus'"),
        (["render", "{train}", "--step", "0"], "Invalid value for '--step'"),
        (["render", "{train}", "--depth", "-1"], "Invalid value for '--depth'"),
        (["render", "{train}", "--format", "pdf"], "Invalid value for '--format'"),
        (["render", "{dir}"], "is a directory"),
        (["paint"], "No such command 'paint'"),
    ],
)
def test_usage_errors_exit_2_with_gradviz_prefix(runner, train, tmp_path, args, message):
    args = [a.format(train=train, dir=tmp_path) for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("gradviz: ")
    assert message in result.stderr
    assert "--help" in result.stderr


def test_help_shows_an_example(runner):
    result = runner.invoke(cli, ["render", "--help"])
    assert result.exit_code == 0
    assert "gradviz render examples/moons.py -o out/" in result.output
    assert "[-- SCRIPT_ARGS...]" in result.output


def test_doctor_names_the_layout_program(runner, monkeypatch):
    needs_layout()
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "layout program" in result.stdout
    assert any(name in result.stdout for name in ("graphviz-pure", "dot "))

    from gradviz.viz.draw import layout

    monkeypatch.setattr(layout, "find_layout_program", lambda: None)
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "layout program  none" in result.stdout
    assert "gradviz: no layout program found" in result.stderr
    assert "pip install graphviz-pure" in result.stderr


def test_missing_layout_program_fails_svg_but_dot_works(runner, train, tmp_path, monkeypatch):
    from gradviz.viz.draw import layout

    monkeypatch.setattr(layout, "find_layout_program", lambda: None)
    result = runner.invoke(cli, ["render", str(train), "-o", str(tmp_path / "svg")])
    assert result.exit_code == 1
    assert "pip install graphviz-pure" in result.stderr
    result = runner.invoke(cli, ["render", str(train), "-o", str(tmp_path), "--format", "dot"])
    assert result.exit_code == 0, result.output


def test_summary_reports_nan(runner, tmp_path):
    script = make_script(
        tmp_path,
        """
        import numpy as np
        import gradviz
        w = gradviz.Variable(np.array([1.0, np.nan], dtype=np.float32), requires_grad=True)
        (w * 2).sum().backward()
        """,
        name="nan.py",
    )
    result = runner.invoke(cli, ["render", str(script), "--format", "dot", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "NaN/Inf found:" in result.stdout
    assert "1 NaN" in result.stdout


def test_console_script_in_a_subprocess(train, tmp_path):
    needs_layout()
    out = tmp_path / "pictures"
    done = run_gradviz("render", str(train), "-o", str(out), "--", "1", timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["train.backward.svg", "train.forward.svg"]
    assert "wrote" in done.stdout
    assert "backward steps:" in done.stdout


def test_main_is_the_entry_point(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main(["--version"])
    assert exit_info.value.code == 0
    assert "gradviz, version" in capsys.readouterr().out


@pytest.mark.slow
def test_a_big_graph_collapses_and_says_so_once(runner, tmp_path):
    script = make_script(
        tmp_path,
        """
        import numpy as np
        import gradviz
        from gradviz import nn

        block = lambda: nn.Sequential(*[m for _ in range(40) for m in (nn.Linear(2, 2), nn.Tanh())])
        model = nn.Sequential(*[block() for _ in range(20)])  # 1,600 ops
        model(gradviz.Variable(np.ones((1, 2), dtype=np.float32))).sum().backward()
        """,
        name="big.py",
    )
    args = ["render", str(script), "--format", "dot", "--no-fold"]  # 20 alike blocks each
    result = runner.invoke(cli, [*args, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("gradviz: the graph has 1,601 ops, over the budget") == 1
    assert "depth 0" in result.stderr
    assert "--depth N" in result.stderr
    expanded = runner.invoke(cli, [*args, "--depth", "9", "-o", str(tmp_path / "e")])
    assert expanded.exit_code == 0, expanded.output
    assert expanded.stderr == ""
    # folded (the default), the 20 blocks are drawn once and fit the budget
    folded = runner.invoke(cli, [*args[:-1], "-o", str(tmp_path / "f")])
    assert folded.exit_code == 0, folded.output
    assert folded.stderr == ""
    assert "(Sequential) \u00d720" in (tmp_path / "f" / "big.forward.dot").read_text()
