"""atomic_write and the output checks: only regular files are replaced, whole or not at all."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradviz.viz.records.files import (
    OutputError,
    atomic_write,
    check_output_folder,
    check_output_path,
)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_exactly_the_path_and_creates_the_folder(tmp_path):
    path = atomic_write(tmp_path / "a" / "b.svg", "<svg/>")
    assert path == tmp_path / "a" / "b.svg"
    assert path.read_text() == "<svg/>"
    assert names(path.parent) == ["b.svg"]


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real" / "step.svg"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "step.svg"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink()  # the link stays a link
    assert os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert names(tmp_path) == ["real", "step.svg"]
    assert names(target.parent) == ["step.svg"]  # no temporary file left beside the target


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "step.svg"
    link.symlink_to(tmp_path / "made.svg")
    atomic_write(link, "x")
    assert link.is_symlink()
    assert (tmp_path / "made.svg").read_text() == "x"


def test_an_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text("old")
    path.chmod(0o600)
    atomic_write(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "new"


def test_a_new_file_gets_the_umask_mode(tmp_path):
    mask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "new.svg", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_and_stays(tmp_path):
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match=r"pipe\.svg: it exists and is not a regular file"):
        atomic_write(fifo, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert names(tmp_path) == ["pipe.svg"]


def test_a_link_to_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "step.svg"
    link.symlink_to(fifo)
    with pytest.raises(OutputError, match=r"a link to .*pipe.*not a regular file"):
        atomic_write(link, "x")
    assert link.is_symlink()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_device_and_a_folder_are_refused(tmp_path):
    with pytest.raises(OutputError, match="/dev/null: it exists and is not a regular file"):
        atomic_write("/dev/null", "x")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    (tmp_path / "out.svg").mkdir()
    with pytest.raises(OutputError, match=r"out.svg: it exists and is a folder"):
        check_output_path(tmp_path / "out.svg")


def test_an_error_while_writing_names_the_path_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "g.svg"
    path.write_text("old")

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match=r"cannot write .*g\.svg: No space left on device"):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert names(tmp_path) == ["g.svg"]


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_file_too_large_is_one_error_naming_the_path(tmp_path):
    code = textwrap.dedent(
        """
        import resource, sys
        from gradviz.viz.records.files import OutputError, atomic_write
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        try:
            atomic_write(sys.argv[1], b"x" * 5000)
        except OutputError as error:
            print(error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "big.svg")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"cannot write {tmp_path / 'big.svg'}: File too large"
    assert names(tmp_path) == []


def test_output_folder_checks(tmp_path):
    check_output_folder(tmp_path / "new" / "deeper")  # would be created: fine
    assert names(tmp_path) == []  # ... but is not created by the check
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=r"afile is not a folder"):
        check_output_folder(tmp_path / "afile" / "sub")
    with pytest.raises(OutputError, match="cannot write to /proc"):
        check_output_folder("/proc")
    assert names(tmp_path) == ["afile"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permission bits"
)
def test_a_read_only_folder_is_found(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="Permission denied"):
            check_output_folder(folder)
    finally:
        folder.chmod(0o700)
