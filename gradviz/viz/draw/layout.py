"""The layout program that turns DOT into SVG/PNG, and the Digraph that lays itself out with it.

The system Graphviz ``dot`` when it is on PATH, otherwise the ``graphviz-pure`` program that the
graphviz-pure wheel installs next to Python's scripts (so ``pip install gradviz`` alone renders).
The program runs on DOT source through a pipe; the caller writes the bytes itself (to the exact
path asked for, with ``gradviz.viz.records.files.atomic_write``).

A :class:`Drawing` (what ``gradviz.render(loss)`` returns, like torchviz's ``make_dot``) keeps
the ``graphviz.Digraph`` API people call on it (``render``, ``view``, ``pipe``, Jupyter's
inline display) but lays itself out with this program, so it works without a system ``dot``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

import graphviz

from gradviz.autograd.errors import GradvizError
from gradviz.viz.records.files import atomic_write

__all__ = [
    "Drawing",
    "LayoutError",
    "LayoutProgramNotFound",
    "find_layout_program",
    "layout_program",
    "layout_workers",
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


def run_layout(source: str, fmt: str, options: tuple[str, ...] = ()) -> tuple[bytes, str]:
    """Run the layout program on DOT ``source``; return the output bytes and the program name.
    ``options`` are further command-line options (``-Kneato``)."""
    found = find_layout_program()
    if found is None:
        raise LayoutProgramNotFound(_NOT_FOUND)
    name, path = found
    cmd = [path, f"-T{fmt}", *options]
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


def layout_workers() -> ThreadPoolExecutor:
    """Threads that run :func:`run_layout` while the caller draws the next picture (the views of
    ``gradviz render`` take the time of about one on two cores). Use it in a ``with`` block: its
    threads end with the block (a script runner waits for the threads a script leaves)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return ThreadPoolExecutor(max(2, cores or 1), thread_name_prefix="gradviz-layout")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that lays itself out with gradviz's layout program.

    ``render``, ``view``, ``pipe`` and Jupyter's inline display work with only
    ``graphviz-pure`` installed. ``depth`` is the module depth drawn (None: every module
    expanded), ``auto_collapsed`` says whether the node budget chose it, ``note`` is a one-line
    message about that (or ""). The default output format is SVG (graphviz-pure draws no PDF).
    """

    depth: int | None = None
    auto_collapsed: bool = False
    note: str = ""
    node_count: int = 0
    #: drawn node id -> the graph nodes it stands for (one, or a collapsed module's members)
    stands_for: Mapping[str, tuple[Any, ...]] = MappingProxyType({})
    #: collapsed module box id (``m1``) -> its module path
    groups: Mapping[str, str] = MappingProxyType({})
    #: the repeated blocks drawn folded (``span``, ``class``, ``instances``, and the ``box`` id or
    #: ``cluster`` name drawn for them)
    folds: Sequence[Mapping[str, Any]] = ()

    def pipe(
        self,
        format: str | None = None,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        *,
        engine: str | None = None,
        encoding: str | None = None,
    ) -> Any:
        """The picture as bytes (str with ``encoding``), as ``graphviz.Digraph.pipe``;
        ``format="dot"`` returns the DOT source itself, laid out by nobody."""
        if neato_no_op:
            raise ValueError("neato_no_op is not supported by gradviz's layout")
        fmt = format or self.format
        if fmt in ("dot", "gv"):
            data = self.source.encode("utf-8")
        else:
            data = run_layout(self.source, *self._command(fmt, renderer, formatter, engine))[0]
        return data.decode(encoding) if encoding else data

    def _command(
        self, fmt: str, renderer: str | None, formatter: str | None, engine: str | None
    ) -> tuple[str, tuple[str, ...]]:
        """``-T`` value and further options, as ``dot -T<fmt>[:<renderer>[:<formatter>]]``."""
        if formatter is not None and renderer is None:
            raise graphviz.RequiredArgumentError("formatter given without renderer")
        tformat = ":".join(x for x in (fmt, renderer, formatter) if x is not None)
        engine = engine or self.engine
        return tformat, (() if engine in (None, "dot") else (f"-K{engine}",))

    def render(
        self,
        filename: str | os.PathLike[str] | None = None,
        directory: str | os.PathLike[str] | None = None,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        quiet_view: bool = False,
        *,
        outfile: str | os.PathLike[str] | None = None,
        engine: str | None = None,
        raise_if_result_exists: bool = False,
        overwrite_source: bool = False,
    ) -> str:
        """``graphviz.Digraph.render``, laid out by gradviz's layout program: writes the DOT
        source to ``filename`` (default ``name + ".gv"``, in ``directory``) and the picture to
        ``outfile`` or else ``filename + "." + format``; returns the picture's path.

        As graphviz documents: with ``outfile`` and no ``filename`` the source is ``outfile``
        with the suffix ``.gv``, and the format comes from ``outfile``'s suffix unless given;
        ``cleanup=True`` leaves no source file. Unlike graphviz, both files are written whole
        or not at all (a temporary file and a rename), and only after the layout succeeded:
        a failure leaves no file behind, and with ``cleanup`` the source is never written.
        """
        out = Path(os.fspath(outfile)) if outfile is not None else None
        if out is not None:
            format = format or out.suffix.lstrip(".").lower() or None
            if format is None:
                raise ValueError(f"cannot infer rendering format from outfile: {str(out)!r}")
            if directory is None:
                out = Path(self.directory, out)
            if filename is None:
                filename = out.with_suffix(".gv")
        if filename is not None:
            self.filename = os.fspath(filename)
        if directory is not None:
            self.directory = os.fspath(directory)
        source = Path(self.filepath)
        fmt = format or self.format
        if out is None:
            suffix = ".".join(x for x in (formatter, renderer, fmt) if x is not None)
            out = source.with_name(f"{source.name}.{suffix}")
        if out.resolve() == source.resolve() and not overwrite_source:
            raise ValueError(
                f"outfile {str(out)!r} must differ from the source file (or overwrite_source=True)"
            )
        if raise_if_result_exists and out.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(out)!r}")
        data = self.pipe(fmt, renderer, formatter, neato_no_op, engine=engine)
        if not cleanup and out.resolve() != source.resolve():
            atomic_write(source, self.source)
        atomic_write(out, data)
        if quiet_view or view:
            self._view(os.fspath(out), format=fmt, quiet=quiet_view)
        return os.fspath(out)

    def _repr_svg_(self) -> str:
        """The picture as SVG text (IPython's older display hook)."""
        return self.pipe(format="svg", encoding="utf-8")
