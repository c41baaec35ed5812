"""``gradviz diff A B``: compare two steps or two runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

import gradviz
from gradviz.commands.common import (
    INTERRUPTED,
    Command,
    check_outputs,
    echo_written,
    fail,
    failure_hint,
    pytorch_instead,
    script_problem,
)

# --------------------------------------------------------------------------- diff


class _Side:
    """One side of ``gradviz diff``: a trace file, or ``SCRIPT.py@STEP``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.script: Path | None = None
        self.step = 0
        self.graph: Any = None
        head, at, tail = text.rpartition("@")
        # (a file of that very name is a trace file: run.py@1.json); a script may lack the
        # suffix .py, as render takes it
        script = at and not Path(text).is_file()
        if script and (head.lower().endswith(".py") or Path(head).is_file()):
            self._script(Path(head), tail)
        elif text.lower().endswith(".py"):
            fail(f"{text} is a script: name the backward call to compare, {text}@1", 2)
        else:
            self._trace_file(Path(text))

    def _script(self, script: Path, step: str) -> None:
        if script.is_dir():
            fail(f"{script} is a folder, not a script", 2)
        if not script.is_file():
            fail(_missing(script, f"no such script: {script}", "a script"), 2)
        problem = script_problem(script)
        if problem is not None:
            fail(problem, 2)
        # ASCII digits only: int() would also take " 1", "1_0" and other scripts' digits
        self.step = int(step) if re.fullmatch(r"-?[0-9]+", step) else 0
        if self.step < 1 and self.step != -1:
            fail(
                f"bad step in {self.text!r}: write SCRIPT.py@N, N a backward call (1, 2, ...) "
                "or -1 for the last one",
                2,
            )
        self.script = script
        self.stem = f"{script.stem}@{self.step}"

    def _trace_file(self, path: Path) -> None:
        from gradviz.viz.draw.diff import NothingToCompare, graph_to_compare
        from gradviz.viz.records.io import TraceFileError

        if self.text and path.is_dir():  # (Path("") is ".")
            fail(f"{self.text} is a folder, not a trace file", 2)
        if not path.is_file():
            missing = (
                f"no such trace file: {self.text or repr(self.text)} (a trace file comes from "
                "'gradviz render SCRIPT --format json'; a script is SCRIPT.py@STEP)"
            )
            fail(_missing(path, missing, "a trace file") if self.text else missing, 2)
        try:
            self.graph = graph_to_compare(gradviz.load_trace(path), str(path))
        except (TraceFileError, NothingToCompare, OSError) as error:
            fail(f"{error}", 2)
        self.stem = path.name.removesuffix(".json").removesuffix(".trace")

    @property
    def name(self) -> str:
        return Path(self.text).name


def _missing(path: Path, missing: str, what: str) -> str:
    """What to say of ``path``, which is not a regular file: ``missing`` unless it exists as
    something else (a FIFO, a device)."""
    return f"{path} is not a regular file: give {what}" if path.exists() else missing


def _diff_runs(sides: Sequence[_Side], script_args: Sequence[str]) -> list[str]:
    """Run each script once for all its sides' steps (two steps of one run: one run), and set
    each side's graph from the captured passes. Returns what to say of a script that failed
    after its steps were captured (they are compared; the command then exits 1)."""
    from gradviz.viz.runner import (
        BackwardNotCalled,
        RunnerError,
        ScriptFailed,
        ScriptInterrupted,
        run_script,
    )

    failed: list[str] = []
    by_script: dict[Path, list[_Side]] = {}
    for side in sides:
        if side.script is not None:
            by_script.setdefault(side.script.resolve(), []).append(side)
    for script_sides in by_script.values():
        script = script_sides[0].script
        steps = tuple(sorted({side.step for side in script_sides}))  # -1 (the last) first
        try:
            trace = run_script(
                script,
                args=tuple(script_args),
                step=steps[-1],
                steps=steps if len(steps) > 1 else (),
            )
        except ScriptFailed as error:
            text = (error.traceback or "").rstrip()
            trace = error.trace
            kept = {p.index for p in trace.passes} if trace is not None else set()
            if not kept or not all(step == -1 or step in kept for step in steps):
                fail(
                    f"{error}; nothing was compared.{failure_hint(script)} Its traceback (your "
                    f"code only):\n{text}"
                )
            failed.append(
                f"{error} after the steps compared above were captured.{failure_hint(script)} "
                f"Its traceback (your code only):\n{text}"
            )
        except ScriptInterrupted as error:
            fail(f"{error}; nothing was compared", INTERRUPTED)
        except BackwardNotCalled:
            fail(
                pytorch_instead(script)
                or f"{script.name} never called backward(), so it has no step to compare"
            )
        except RunnerError as error:
            fail(str(error))
        for side in script_sides:  # the last pass kept is the last call's
            side.graph = trace.get_pass(None if side.step == -1 else side.step).graph
    return failed


@click.command(
    "diff",
    cls=Command,
    short_help="Compare two steps or two runs: structure, and how values and gradients changed.",
    context_settings={"allow_interspersed_args": True},
    epilog=(
        "\b\nExamples:\n"
        "  gradviz diff train.py@1 train.py@50 -o out/\n"
        "  gradviz diff run1.trace.json run2.trace.json\n"
        "  gradviz diff model_v1.py@1 model_v2.py@1 --structure-only\n"
        "\b\nExit codes:\n"
        "  0    compared (with --structure-only: the structures are the same)\n"
        "  1    --structure-only and the structures differ; or a script failed\n"
        "  2    usage: a missing file, not a trace file, a bad @STEP, an output that\n"
        "       cannot be written\n"
        "  130  interrupted (Ctrl-C): nothing is compared"
    ),
)
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- SCRIPT_ARGS...]")
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the picture; created if missing (default: the current folder; with "
    "--structure-only no picture is drawn unless -o is given).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "dot"], case_sensitive=False),
    default="svg",
    show_default=True,
    help="Format of the picture OUTDIR/<a>-vs-<b>.diff.<format>.",
)
@click.option(
    "--structure-only",
    is_flag=True,
    help="Compare only the structure (ops, shapes, module paths, parameters, wiring) and exit "
    "1 when it differs: a check for CI that a refactor kept the model.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many of the largest changes to print.",
)
def diff_command(
    a: str,
    b: str,
    script_args: tuple[str, ...],
    outdir: Path | None,
    fmt: str,
    structure_only: bool,
    top: int,
) -> None:
    """Compare A and B, two graphs of one model, and draw what changed.

    A and B are trace files ('gradviz render SCRIPT --format json') or SCRIPT.py@STEP: the
    script runs (arguments after `--` passed to it) and the STEP-th call of backward is
    captured; two steps of one script (train.py@1 train.py@50) come from one run. Nodes are
    matched by module path, op and position, parameters by name.

    Prints the structural differences (+ added, - removed, ~ changed shape or inputs) and a
    table of the largest relative changes of |value|, |grad| and update/weight, and writes
    OUTDIR/<a>-vs-<b>.diff.svg: one graph with added nodes green, removed ones as dashed red
    ghosts, shape changes orange, each node filled by its largest change (blue shrank, red
    grew) and the largest changes written on their nodes.
    """
    from gradviz.viz.draw.diff import diff as compare_graphs

    sides = [_Side(a), _Side(b)]
    if script_args and all(side.script is None for side in sides):
        fail(
            f"{script_args[0]!r} is not for diff: it compares two graphs, A and B, and passes "
            "what follows them to a script, but neither side is a SCRIPT.py@STEP",
            2,
        )
    path = None
    if outdir is not None or not structure_only:
        shown = outdir if outdir is not None else Path(".")
        folder = shown.absolute()  # a script may chdir; we write here
        path = folder / f"{sides[0].stem}-vs-{sides[1].stem}.diff.{fmt.lower()}"
        check_outputs(folder, [path])
    failed = _diff_runs(sides, script_args)
    names = (sides[0].name, sides[1].name)
    if names[0] == names[1] and a != b:  # run1/model.trace.json, run2/model.trace.json
        names = (a, b)
    report = compare_graphs(sides[0].graph, sides[1].graph, names=names)
    if path is not None:
        try:
            result = report.render(path, format=fmt.lower())
        except gradviz.GradvizError as error:
            fail(str(error))
        echo_written([path], [result.note] if result.note else [], shown, folder)
    if structure_only:
        click.echo(report.format(top=0))
    else:
        click.echo(report.format(top=top))
    for message in failed:
        fail(message)
    if structure_only and report.structure_changed:
        raise click.exceptions.Exit(1)
