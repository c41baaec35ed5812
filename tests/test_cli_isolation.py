"""The command line's promises about files and the script it runs: output problems are found
before the script runs, writes are whole or refused, and the script cannot change where or how
often the outputs are written (chdir, os._exit, fork, threads, a swallowed stop)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_runner import STEP

from gradviz.cli import cli

# the script's first line says it ran; then test_runner's model and train_step()
STARTED = 'from pathlib import Path\nPath(__file__).with_name("started.txt").write_text("yes")\n'


def make_script(folder: Path, tail: str = "train_step()\ntrain_step()\n") -> Path:
    path = folder / "train.py"
    path.write_text(STARTED + STEP + textwrap.dedent(tail), encoding="utf-8")
    return path


def gradviz_cli(*args: str, cwd: Path, limit: int | None = None) -> subprocess.CompletedProcess:
    """``python -m gradviz ARGS`` in a real process (optionally with a file-size limit)."""
    code = "import sys\nfrom gradviz.cli import main\nmain(sys.argv[1:])\n"
    if limit is not None:
        code = (
            f"import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({limit},) * 2)\n" + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# ----------------------------------------------------------------------------- outputs
@pytest.mark.parametrize("command", ["render", "check"])
def test_an_unwritable_folder_is_a_usage_error_before_the_script_runs(runner, tmp_path, command):
    script = make_script(tmp_path)
    result = runner.invoke(cli, [command, str(script), "-o", "/proc", "--format", "dot"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gradviz: cannot write to /proc: ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "started.txt").exists()


def test_a_folder_under_a_file_is_a_usage_error(runner, tmp_path):
    script = make_script(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(cli, ["render", str(script), "-o", str(tmp_path / "afile" / "sub")])
    assert result.exit_code == 2, result.output
    assert "afile is not a folder" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "started.txt").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_a_read_only_folder_is_a_usage_error(runner, tmp_path):
    script = make_script(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = runner.invoke(cli, ["render", str(script), "-o", str(folder)])
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert "Permission denied" in result.stderr
    assert not (tmp_path / "started.txt").exists()


def test_an_output_path_that_is_a_fifo_is_refused_before_the_run(runner, tmp_path):
    script = make_script(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "train.backward.dot")
    result = runner.invoke(cli, ["render", str(script), "-o", str(out), "--format", "dot"])
    assert result.exit_code == 2, result.output
    assert "train.backward.dot: it exists and is not a regular file" in result.stderr
    assert stat.S_ISFIFO((out / "train.backward.dot").lstat().st_mode)
    assert sorted(p.name for p in out.iterdir()) == ["train.backward.dot"]
    assert not (tmp_path / "started.txt").exists()


def test_outputs_are_written_through_links_and_keep_their_mode(runner, tmp_path):
    script = make_script(tmp_path)
    out, kept = tmp_path / "out", tmp_path / "kept"
    out.mkdir()
    kept.mkdir()
    (kept / "forward.dot").write_text("old")
    (kept / "forward.dot").chmod(0o600)
    (out / "train.forward.dot").symlink_to(kept / "forward.dot")
    result = runner.invoke(cli, ["render", str(script), "-o", str(out), "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert (out / "train.forward.dot").is_symlink()
    assert (kept / "forward.dot").read_text().startswith("digraph")
    assert stat.S_IMODE((kept / "forward.dot").stat().st_mode) == 0o600


def test_file_too_large_is_one_line_and_leaves_no_temporary_file(tmp_path):
    script = make_script(tmp_path)
    out = tmp_path / "out"
    done = gradviz_cli("render", str(script), "-o", str(out), "--format", "dot", cwd=tmp_path,
                       limit=1000)  # fmt: skip
    assert done.returncode == 1, done.stderr
    path = out / "train.forward.dot"
    assert done.stderr == f"gradviz: cannot write {path}: File too large\n"
    assert list(out.iterdir()) == []


# ----------------------------------------------------------------------------- the script
def test_outputs_land_in_the_callers_folder_when_the_script_changes_its_own(
    runner, tmp_path, monkeypatch
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = make_script(tmp_path, f"import os\nos.chdir({str(elsewhere)!r})\ntrain_step()\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["render", "train.py", "-o", "out", "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert os.getcwd() == str(tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "train.backward.dot",
        "train.forward.dot",
    ]
    assert f"wrote {Path('out') / 'train.forward.dot'}" in result.stdout
    assert list(elsewhere.iterdir()) == []
    assert script.exists()


def test_a_script_that_swallows_the_stop_still_gets_its_step_drawn(runner, tmp_path):
    script = make_script(
        tmp_path,
        """
        import sys
        for _ in range(5):
            try:
                train_step()
            except BaseException:
                pass
        sys.exit(3)
        """,
    )
    out = tmp_path / "out"
    result = runner.invoke(cli, ["render", str(script), "-o", str(out), "--format", "dot"])
    assert result.exit_code == 0, result.output
    assert len(list(out.iterdir())) == 2
    assert result.stdout.count("wrote ") == 2


@pytest.mark.parametrize(
    ("tail", "code", "message"),
    [
        ("train_step()\nimport os\nos._exit(0)\n", 0, None),
        ("import os\nos._exit(0)\n", 1, "train.py never called backward()"),
        ("import os\nos._exit(3)\n", 1, "train.py exited with status 3 (os._exit)"),
    ],
)
def test_os_exit_in_the_script_is_never_a_silent_exit(tmp_path, tail, code, message):
    script = make_script(tmp_path, tail)
    args = ("render", str(script), "-o", "out", "--format", "dot", "--step", "-1")
    done = gradviz_cli(*args, cwd=tmp_path)  # -1: the script ends by calling os._exit
    assert done.returncode == code, done.stderr
    if message is None:
        assert done.stdout.count("wrote ") == 2
    else:
        assert done.stderr.startswith(f"gradviz: {message}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_a_forked_child_never_writes_or_echoes(tmp_path):
    script = make_script(
        tmp_path,
        """
        import os, sys
        pid = os.fork()  # the child runs the rest of the script too, as under python
        train_step()
        train_step()
        if pid:
            os.waitpid(pid, 0)
        """,
    )
    done = gradviz_cli("render", str(script), "-o", "out", "--format", "dot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("wrote ") == 2
    assert done.stdout.count("backward steps:") == 1
    assert done.stderr == ""


def test_check_on_a_script_without_backward_gives_a_true_hint(runner, tmp_path):
    script = make_script(tmp_path, "model(gradviz.Variable([[1.0, 2.0, 3.0]]))\n")
    result = runner.invoke(cli, ["check", str(script), "-o", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert "no training step to check" in result.stderr
    hint = f"gradviz render {script} --forward-only"
    assert hint in result.stderr
    drawn = runner.invoke(cli, [*hint.split()[1:], "--format", "dot", "-o", str(tmp_path / "r")])
    assert drawn.exit_code == 0, drawn.output


def test_help_names_every_output_file(runner):
    result = runner.invoke(cli, ["render", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "OUTDIR/<stem>.trace.json" in text
    assert "OUTDIR/<stem>.html" in text
    assert "OUTDIR/<stem>.forward.svg" in text
