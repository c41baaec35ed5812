"""What the commands of the ``gradviz`` command line share: the message style (every message
of ours starts with ``gradviz: `` and goes to stderr), the options of a command that runs a
script, running it under the runner, and checking and announcing the outputs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

import gradviz

# --------------------------------------------------------------------------- message style


def _show_usage_error(error: click.UsageError, file: Any = None) -> None:
    """Show a usage error as ``gradviz: <what is wrong>`` plus where to get help."""
    message = f"gradviz: {error.format_message()}"
    if error.ctx is not None:
        message += f"\nTry '{error.ctx.command_path} --help' for help."
    click.echo(message, err=True)


def _restyled(error: click.UsageError) -> click.UsageError:
    error.show = lambda file=None: _show_usage_error(error, file)  # type: ignore[method-assign]
    return error


class Command(click.Command):
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise _restyled(error) from None


class Group(click.Group):
    command_class = Command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise _restyled(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Ctrl-C outside the script (reading, laying out, writing) exits 130 as in it; what
        was written before it is whole (every file is written atomically)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted (Ctrl-C); nothing more was written", INTERRUPTED)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            raise _restyled(error) from None


#: The exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
INTERRUPTED = 130


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"gradviz: {message}", err=True)
    raise click.exceptions.Exit(code)


def _check_step(ctx: click.Context, param: click.Parameter, value: int) -> int:
    from gradviz.viz.capture.policy import check_step

    try:
        return check_step(value)
    except ValueError:
        raise click.BadParameter(
            "must be 1 or more (the N-th call of backward), or -1 for the last one", ctx, param
        ) from None


def script_problem(path: Path) -> str | None:
    """Why ``path``, a regular file, is no Python script to run, or None. A file gradviz wrote
    (a trace, a timeline) or a notebook, run as Python, fails with a NameError on ``false`` or
    ``null`` after a long wait, or runs as a dict literal and finds no backward; a binary file
    fails with a SyntaxError on null bytes."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return (
            f"{path} is a JSON file, not a Python script; to compare trace files use "
            "'gradviz diff A.json B.json', to read one gradviz.load_trace"
        )
    if suffix == ".ipynb":
        return (
            f"{path} is a Jupyter notebook, not a Python script; export it with 'jupyter "
            f"nbconvert --to script {path.name}' and give the .py, or trace in the notebook "
            "with gradviz.trace()"
        )
    try:
        with path.open("rb") as file:
            head = file.read(8192)
    except OSError:  # unreadable: running it says why
        return None
    if b"\0" in head:
        return f"{path} is not a Python script (it holds binary data): give the training script"
    return None


_IMPORTS_TORCH = re.compile(r"^[ \t]*(?:import[ \t]+torch\b|from[ \t]+torch\b)", re.MULTILINE)
_IMPORTS_GRADVIZ = re.compile(r"^[ \t]*(?:import|from)[ \t]+gradviz\b", re.MULTILINE)


def pytorch_instead(script: Path) -> str | None:
    """What to say of a script that called no backward of gradviz's because it runs on
    PyTorch (it imports torch and not gradviz), else None."""
    try:
        text = script.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = _IMPORTS_TORCH.search(text)
    if found is None:
        return None
    if _IMPORTS_GRADVIZ.search(text):
        return _torch_beside_gradviz(script, text, found)
    return (
        f"{script.name} imports PyTorch (import torch), whose backward() gradviz does not see: "
        "gradviz traces its own ops; run the script on gradviz by writing 'import gradviz as "
        "torch' (and 'from gradviz import nn', 'import gradviz.nn.functional as F') for its "
        "torch imports"
    )


def failure_hint(script: Path) -> str:
    """`` Note: ...`` when a script that failed loads PyTorch (:func:`pytorch_instead`), else
    an empty string."""
    hint = pytorch_instead(script)
    return f" Note: {hint}." if hint else ""


def _torch_beside_gradviz(script: Path, text: str, found: re.Match[str]) -> str:
    """What to say of a script that imports gradviz as torch and then PyTorch itself
    (``from torch.utils.data import DataLoader``, ``import torch.nn as nn``)."""
    line = text.count("\n", 0, found.start()) + 1
    shown = text.splitlines()[line - 1].strip()
    fixed = re.sub(r"\btorch\b", "gradviz", shown, count=1)
    more = len(_IMPORTS_TORCH.findall(text)) - 1
    others = f" (and {more} more import{'s' if more > 1 else ''} of torch)" if more else ""
    return (
        f"{script.name}:{line} '{shown}' imports PyTorch itself{others}, not gradviz: "
        "'import gradviz as torch' names only the variable torch, and a 'from torch...' or "
        f"'import torch...' line still loads PyTorch; write '{fixed}'"
    )


def _check_script(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """Refuse what is not a regular file (a FIFO: runpy could not read it) and what is no
    Python script (:func:`script_problem`)."""
    if not value.is_file():
        raise click.BadParameter(f"{value} is not a regular file: give a Python script", ctx, param)
    problem = script_problem(value)
    if problem is not None:
        raise click.BadParameter(problem, ctx, param)
    return value


F = TypeVar("F", bound=Callable[..., Any])


def script_options(what: str | None, outputs: str = "the pictures") -> Callable[[F], F]:
    """SCRIPT, [-- SCRIPT_ARGS...], -o/--outdir (for ``outputs``) and, unless ``what`` is None,
    --step: shared by the commands that run a script (``what``: "draw", "check")."""
    params = [
        click.argument(
            "script",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            callback=_check_script,
        ),
        click.argument(
            "script_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- SCRIPT_ARGS...]"
        ),
        click.option(
            "-o",
            "--outdir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("."),
            show_default="the current folder",
            help=f"Folder for {outputs}; created if missing.",
        ),
    ]
    if what is not None:
        params.append(
            click.option(
                "--step",
                type=int,
                default=1,
                show_default=True,
                callback=_check_step,
                help=f"Which call of backward to {what} (1-based); -1 runs the script to its "
                f"end and {what}s the last one.",
            )
        )

    def decorate(function: F) -> F:
        for param in reversed(params):
            function = param(function)
        return function

    return decorate


def depth_option() -> Callable[[F], F]:
    return click.option(
        "--depth",
        type=click.IntRange(min=0),
        default=None,
        help="Collapse modules nested deeper than N into one node each (default: expand all, "
        "collapsing automatically above 1,500 nodes).",
    )


def fold_option() -> Callable[[F], F]:
    return click.option(
        "--no-fold",
        is_flag=True,
        help="Draw every instance of repeated blocks (default: a run of identical sibling "
        "modules is drawn once, labelled like 'blocks.0-11 (Block) x12').",
    )


def run(
    script: Path,
    script_args: Sequence[str],
    step: int,
    deliver: Callable[[Any], None],
    *,
    run_all: bool = False,
    arrays: bool = False,
    forward_only: bool = False,
    nothing: str = "nothing was drawn",
    done: str = "drawn",
    no_backward: str | None = None,
    policy: Any = None,
    detail: str = "full",
    keep_full: int = 2,
    salvage: Callable[[Any], str | None] | None = None,
) -> None:
    """Run SCRIPT under a trace (the runner), which hands the captured step to ``deliver`` as
    soon as it is captured (``policy``: what to capture instead of one step, ``detail`` and
    ``keep_full``: how much of it); turn the script's failures into our messages.

    ``salvage(trace)``, when given, is called with what was recorded when the script failed
    before the capture was complete; it writes what is worth keeping and says so (that
    replaces ``nothing`` in the message), or returns None. Without it (one step, no
    ``policy``), a script failing after the chosen backward call (before its optimizer step,
    or after any call with ``step`` -1) still gets that step delivered (``done``: what was
    done with it, for the message)."""
    from gradviz.viz.runner import (
        BackwardNotCalled,
        ScriptFailed,
        ScriptInterrupted,
        StepNotReached,
        run_script,
    )

    if salvage is None and policy is None and not forward_only:
        salvage = _captured_step(step, deliver, done)

    try:
        run_script(
            script,
            args=tuple(script_args),
            step=step,
            run_all=run_all,
            arrays=arrays,
            forward_only=forward_only,
            deliver=deliver,
            policy=policy,
            detail=detail,
            keep_full=keep_full,
        )
    except ScriptFailed as error:
        text = (error.traceback or "").rstrip()
        kept = _salvaged(salvage, error.trace)
        hint = failure_hint(script)
        fail(f"{error}; {kept or nothing}.{hint} Its traceback (your code only):\n{text}")
    except ScriptInterrupted as error:  # Ctrl-C: what was recorded is worth keeping
        kept = _salvaged(salvage, error.trace)
        fail(f"{error}; {kept or nothing}", code=INTERRUPTED)
    except BackwardNotCalled as error:
        fail(pytorch_instead(script) or no_backward or str(error))
    except StepNotReached as error:
        fail(str(error))
    except gradviz.GradvizError as error:  # no layout program, a file that cannot be written
        fail(str(error))


def _captured_step(
    step: int, deliver: Callable[[Any], None], done: str
) -> Callable[[Any], str | None]:
    """A salvage that delivers the chosen step when its backward pass was captured before the
    script failed (the update written without no_grad raises right after backward)."""

    def salvage(trace: Any) -> str | None:
        kept = [p.index for p in trace.passes]
        index = kept[-1] if kept and step < 0 else step
        if index not in kept:
            return None
        deliver(trace)
        return f"backward call {index} was captured before it and is {done} above"

    return salvage


def _salvaged(salvage: Callable[[Any], str | None] | None, trace: Any) -> str | None:
    if salvage is None or trace is None:
        return None
    try:
        return salvage(trace)
    except gradviz.GradvizError as error:  # a file that cannot be written
        fail(str(error))


def check_outputs(outdir: Path, paths: Sequence[Path]) -> None:
    """Before the script runs: OUTDIR can be written and no output path is a folder, a FIFO,
    a device or a link to one (usage errors, exit 2)."""
    import errno

    from gradviz.viz.records.files import OutputError, check_output_folder, check_output_path

    try:
        check_output_folder(outdir)
    except OutputError as error:
        fail(f"{error}; choose another folder with -o", 2)
    for path in paths:
        try:
            check_output_path(path)
        except OutputError as error:
            hint = (
                "shorten the name of the script (or trace file) it is named after"
                if error.errno == errno.ENAMETOOLONG
                else "choose another folder with -o"
            )
            fail(f"{error}; {hint}", 2)


def echo_written(written: Sequence[Path], notes: Sequence[str], shown: Path, outdir: Path) -> None:
    """``wrote PATH`` lines (paths as the user gave OUTDIR), then our notes on stderr."""
    for path in written:
        click.echo(f"wrote {shown / path.relative_to(outdir)}")
    for note in notes:
        click.echo(f"gradviz: {note}", err=True)


def write_views(
    graph: Any,
    views: Sequence[str],
    outdir: Path,
    stem: str,
    fmt: str,
    depth: int | None = None,
    marks: Mapping[str, Any] | None = None,
    fold: bool = True,
) -> tuple[list[Path], list[str]]:
    """Write OUTDIR/<stem>.<view>.<fmt> for each view; the files and the notes to show."""
    from gradviz.viz.draw.output import write_views as write_all

    targets = [(view, outdir / f"{stem}.{view}.{fmt}") for view in views]
    results = write_all(graph, targets, format=fmt, depth=depth, marks=marks, fold=fold)
    notes: list[str] = []
    for result in results:
        note = result.note.replace(f"the {result.view} graph", "the graph")
        if note and note not in notes:
            notes.append(note)
    return [result.path for result in results], notes
