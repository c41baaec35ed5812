"""The layout program that turns DOT into SVG/PNG.

The system Graphviz ``dot`` when it is on PATH, otherwise the ``graphviz-pure`` program that the
graphviz-pure wheel installs next to Python's scripts (so ``pip install gradviz`` alone renders).
The program runs on DOT source through a pipe; the caller writes the bytes itself (to the exact
path asked for, with ``gradviz.viz.files.atomic_write``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from gradviz.autograd.errors import GradvizError

__all__ = [
    "LayoutError",
    "LayoutProgramNotFound",
    "find_layout_program",
    "layout_program",
    "run_layout",
]

#: Resolution of PNG output (Graphviz's default is 96).
PNG_DPI = 110


class LayoutProgramNotFound(GradvizError, RuntimeError):
    """Neither the system ``dot`` nor the ``graphviz-pure`` program can be found."""


class LayoutError(GradvizError, RuntimeError):
    """The layout program ran and failed."""


def scripts_dirs() -> list[Path]:
    dirs = []
    for candidate in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        if candidate and Path(candidate) not in dirs:
            dirs.append(Path(candidate))
    return dirs


def find_layout_program() -> tuple[str, str] | None:
    """``(name, path)`` of the program that will lay graphs out, or None."""
    dot = shutil.which("dot")
    if dot:
        return "dot", dot
    exe = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    for folder in scripts_dirs():
        candidate = folder / exe
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return "graphviz-pure", str(candidate)
    found = shutil.which("graphviz-pure")
    return ("graphviz-pure", found) if found else None


_NOT_FOUND = (
    "no layout program found: neither Graphviz's `dot` is on PATH nor the `graphviz-pure` "
    "program is installed; run `pip install graphviz-pure` (or install Graphviz), "
    "or write DOT with format='dot' / --format dot"
)


def layout_program() -> tuple[str, str, str]:
    """``(name, path, version)`` of the layout program (``gradviz doctor`` prints it).

    Raises :class:`LayoutProgramNotFound` when there is none.
    """
    found = find_layout_program()
    if found is None:
        raise LayoutProgramNotFound(_NOT_FOUND)
    name, path = found
    try:
        done = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=30)
        text = (done.stderr or done.stdout).strip()
    except (OSError, subprocess.SubprocessError) as error:
        text = f"unknown ({error})"
    match = re.search(r"version\s+([^\s]+(?:\s+\([^)]*\))?)", text)
    return name, path, match.group(1) if match else (text.splitlines() or ["unknown"])[0]


def run_layout(source: str, fmt: str) -> tuple[bytes, str]:
    """Run the layout program on DOT ``source``; return the output bytes and the program name."""
    found = find_layout_program()
    if found is None:
        raise LayoutProgramNotFound(_NOT_FOUND)
    name, path = found
    cmd = [path, f"-T{fmt}"]
    if fmt == "png":
        cmd.append(f"-Gdpi={PNG_DPI}")
    try:
        done = subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True)
    except OSError as error:
        raise LayoutError(f"could not run the layout program {name} ({path}): {error}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise LayoutError(
            f"the layout program {name} failed (exit {done.returncode}): " + " | ".join(message)
        )
    return done.stdout, name
