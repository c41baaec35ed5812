"""The ``gradviz`` command line: ``gradviz render SCRIPT``, ``gradviz check SCRIPT``,
``gradviz diff A B`` and ``gradviz doctor``.

Each command validates its input, calls the runner or the renderer, and echoes. Every message
of ours starts with ``gradviz: `` and goes to stderr; file names and the summary go to stdout.
Exit codes: 0 success; 1 the script failed, never called backward, or a check found a problem;
2 usage (a missing file, a bad option).
"""

from __future__ import annotations

import platform
import sys
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


class _Command(click.Command):
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise _restyled(error) from None


class _Group(click.Group):
    command_class = _Command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as error:
            raise _restyled(error) from None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            raise _restyled(error) from None


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"gradviz: {message}", err=True)
    raise click.exceptions.Exit(code)


# --------------------------------------------------------------------------- the group


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gradviz.__version__, prog_name="gradviz")
def cli() -> None:
    """gradviz: see a training step of a NumPy network, forward and backward.

    \b
    Quick start:
        gradviz render examples/moons.py -o out/
        gradviz check examples/buggy_layer.py -o out/
        gradviz doctor
    """


def _check_step(ctx: click.Context, param: click.Parameter, value: int) -> int:
    from gradviz.viz.capture.policy import check_step

    try:
        return check_step(value)
    except ValueError:
        raise click.BadParameter(
            "must be 1 or more (the N-th call of backward), or -1 for the last one", ctx, param
        ) from None


F = TypeVar("F", bound=Callable[..., Any])


def _script_options(what: str) -> Callable[[F], F]:
    """SCRIPT, [-- SCRIPT_ARGS...], -o/--outdir and --step, shared by the commands that run a
    script (``what``: "draw", "check")."""
    params = [
        click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.argument(
            "script_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- SCRIPT_ARGS...]"
        ),
        click.option(
            "-o",
            "--outdir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("."),
            show_default="the current folder",
            help="Folder for the pictures; created if missing.",
        ),
        click.option(
            "--step",
            type=int,
            default=1,
            show_default=True,
            callback=_check_step,
            help=f"Which call of backward to {what} (1-based); -1 runs the script to its end "
            f"and {what}s the last one.",
        ),
    ]

    def decorate(function: F) -> F:
        for param in reversed(params):
            function = param(function)
        return function

    return decorate


def _depth_option() -> Callable[[F], F]:
    return click.option(
        "--depth",
        type=click.IntRange(min=0),
        default=None,
        help="Collapse modules nested deeper than N into one node each (default: expand all, "
        "collapsing automatically above 1,500 nodes).",
    )


def _run(
    script: Path,
    script_args: Sequence[str],
    step: int,
    deliver: Callable[[Any], None],
    *,
    run_all: bool = False,
    arrays: bool = False,
    forward_only: bool = False,
    nothing: str = "nothing was drawn",
    no_backward: str | None = None,
) -> None:
    """Run SCRIPT under a trace (the runner), which hands the captured step to ``deliver`` as
    soon as it is captured; turn the script's failures into our messages."""
    from gradviz.viz.runner import BackwardNotCalled, ScriptFailed, StepNotReached, run_script

    try:
        run_script(
            script,
            args=tuple(script_args),
            step=step,
            run_all=run_all,
            arrays=arrays,
            forward_only=forward_only,
            deliver=deliver,
        )
    except ScriptFailed as error:
        text = (error.traceback or "").rstrip()
        _fail(f"{error}; {nothing}. Its traceback (your code only):\n{text}")
    except BackwardNotCalled as error:
        _fail(no_backward or str(error))
    except StepNotReached as error:
        _fail(str(error))
    except gradviz.GradvizError as error:  # no layout program, a file that cannot be written
        _fail(str(error))


def _check_outputs(outdir: Path, paths: Sequence[Path]) -> None:
    """Before the script runs: OUTDIR can be written and no output path is a folder, a FIFO,
    a device or a link to one (usage errors, exit 2)."""
    from gradviz.viz.records.files import OutputError, check_output_folder, check_output_path

    try:
        check_output_folder(outdir)
        for path in paths:
            check_output_path(path)
    except OutputError as error:
        _fail(f"{error}; choose another folder with -o", 2)


def _echo_written(written: Sequence[Path], notes: Sequence[str], shown: Path, outdir: Path) -> None:
    """``wrote PATH`` lines (paths as the user gave OUTDIR), then our notes on stderr."""
    for path in written:
        click.echo(f"wrote {shown / path.relative_to(outdir)}")
    for note in notes:
        click.echo(f"gradviz: {note}", err=True)


def _write_views(
    graph: Any,
    views: Sequence[str],
    outdir: Path,
    stem: str,
    fmt: str,
    depth: int | None = None,
    marks: Mapping[str, Any] | None = None,
) -> tuple[list[Path], list[str]]:
    """Write OUTDIR/<stem>.<view>.<fmt> for each view; the files and the notes to show."""
    from gradviz.viz.draw.render import write

    written: list[Path] = []
    notes: list[str] = []
    for view in views:
        result = write(
            graph, view, outdir / f"{stem}.{view}.{fmt}", format=fmt, depth=depth, marks=marks
        )
        written.append(result.path)
        note = result.note.replace(f"the {view} graph", "the graph")
        if note and note not in notes:
            notes.append(note)
    return written, notes


@cli.command(
    "render",
    short_help="Draw the forward and backward graphs of a script's training step.",
    context_settings={"allow_interspersed_args": True},
    epilog=(
        "\b\nExamples:\n"
        "  gradviz render examples/moons.py -o out/\n"
        "  gradviz render train.py --step 3 --format png -- --epochs 1 --lr 0.1\n"
        "  gradviz render infer.py --forward-only --depth 1"
    ),
)
@_script_options("draw")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "dot", "html", "json"], case_sensitive=False),
    default="svg",
    show_default=True,
    help="svg/png/dot: the two pictures (OUTDIR/<stem>.forward.svg ...); html: one interactive "
    "page (OUTDIR/<stem>.html); json: the trace file OUTDIR/<stem>.trace.json "
    "(gradviz.load_trace reads it).",
)
@_depth_option()
@click.option(
    "--forward-only",
    is_flag=True,
    help="Draw what the script computed without a backward call (inference-only scripts).",
)
@click.option(
    "--run-all",
    is_flag=True,
    help="Let the script run to its end instead of stopping it once the step is captured.",
)
@click.pass_context
def render_command(
    ctx: click.Context,
    script: Path,
    script_args: tuple[str, ...],
    outdir: Path,
    step: int,
    fmt: str,
    depth: int | None,
    forward_only: bool,
    run_all: bool,
) -> None:
    """Run SCRIPT and draw one training step: its forward and its backward graph.

    The script runs unmodified as __main__ (its folder first on sys.path, its own sys.argv);
    arguments after `--` are passed to it verbatim. Once the chosen call of backward and the
    optimizer step after it are captured, the outputs are written and the script is stopped
    (unless --run-all). Writes OUTDIR/<stem>.forward.svg and OUTDIR/<stem>.backward.svg (or
    OUTDIR/<stem>.html, OUTDIR/<stem>.trace.json: see --format) and prints a summary.

    OUTDIR and the output files are checked before the script runs; an existing output is
    replaced only if it is a regular file (a symlink is written through, the mode is kept).
    """
    fmt = fmt.lower()
    stem = script.stem
    shown, outdir = outdir, outdir.absolute()  # the script may chdir; we write here
    if fmt == "json":
        paths = [outdir / f"{stem}.trace.json"]
    elif fmt == "html":
        paths = [outdir / f"{stem}.html"]
    else:
        views = ("forward",) if forward_only else ("forward", "backward")
        paths = [outdir / f"{stem}.{view}.{fmt}" for view in views]
    _check_outputs(outdir, paths)

    def deliver(trace: Any) -> None:
        from gradviz.viz.summary import summary

        written, notes = list(paths), []
        if fmt == "json":
            trace.save(paths[0])
        elif fmt == "html":
            from gradviz.viz.trace import write_page

            page = write_page(trace, paths[0], depth=depth)
            notes = [page.note] if page.note else []
        else:
            written, notes = _write_views(trace.graph, views, outdir, stem, fmt, depth)
        _echo_written(written, notes, shown, outdir)
        click.echo(summary(trace, forward_only=forward_only))

    _run(
        script,
        script_args,
        step,
        deliver,
        run_all=run_all,
        arrays=fmt == "html",  # the page draws histograms of the values and gradients
        forward_only=forward_only,
    )


# --------------------------------------------------------------------------- check


@cli.command(
    "check",
    short_help="Diagnose a training step: per-op gradient check, NaN/Inf, missing gradients.",
    context_settings={"allow_interspersed_args": True},
    epilog=(
        "\b\nExamples:\n"
        "  gradviz check examples/buggy_layer.py -o out/\n"
        "  gradviz check examples/nan_loss.py --step -1\n"
        "  gradviz check train.py --format png -- --epochs 1"
    ),
)
@_script_options("check")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "dot"], case_sensitive=False),
    default="svg",
    show_default=True,
    help="Format of the two pictures with the findings marked.",
)
@_depth_option()
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the random projections of the per-op gradient check.",
)
def check_command(
    script: Path,
    script_args: tuple[str, ...],
    outdir: Path,
    step: int,
    fmt: str,
    depth: int | None,
    seed: int,
) -> None:
    """Run SCRIPT, capture one training step and diagnose it.

    \b
    - per-op gradient check: each op's backward against finite differences, on the
      inputs it ran on (custom Functions are the prime suspects);
    - where a NaN/Inf was born, forward or backward, and why;
    - why a parameter got no gradient (detach, no_grad, a non-differentiable op,
      a dead ReLU);
    - gradient health: norms, update/weight ratios, dead ReLUs, vanishing or
      exploding gradients;
    - broadcasts, and the accidental kind that turns a loss into a matrix.

    Prints one line per finding (errors first) and a per-layer table, writes
    OUTDIR/<stem>.forward.svg and OUTDIR/<stem>.backward.svg with the findings
    marked, and exits 1 when an error was found (0 when only warnings were).
    """
    fmt = fmt.lower()
    stem = script.stem
    shown, outdir = outdir, outdir.absolute()  # the script may chdir; we write here
    _check_outputs(outdir, [outdir / f"{stem}.{view}.{fmt}" for view in ("forward", "backward")])
    found_errors = False

    def deliver(trace: Any) -> None:
        from gradviz.viz.diagnose import pictures_graph
        from gradviz.viz.draw.render import LayoutProgramNotFound

        nonlocal found_errors
        report = trace.check(seed=seed)
        try:
            written, notes = _write_views(
                pictures_graph(trace, report),
                ("forward", "backward"),
                outdir,
                stem,
                fmt,
                depth,
                report.marks(),
            )
        except LayoutProgramNotFound as error:  # the report still matters: say so, go on
            written, notes = [], [f"{error}; no pictures were drawn (--format dot needs none)"]
        _echo_written(written, notes, shown, outdir)
        click.echo(report.format(color=True))
        found_errors = bool(report.errors)

    _run(
        script,
        script_args,
        step,
        deliver,
        nothing="nothing was checked",
        no_backward=(
            f"{script.name} never called backward(), so there is no training step to check; "
            f"to draw what an inference-only script computes, run "
            f"'gradviz render {script} --forward-only'"
        ),
    )
    if found_errors:
        raise click.exceptions.Exit(1)


# --------------------------------------------------------------------------- diff


class _Side:
    """One side of ``gradviz diff``: a trace file, or ``SCRIPT.py@STEP``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.script: Path | None = None
        self.step = 0
        self.graph: Any = None
        head, at, tail = text.rpartition("@")
        if at and head.endswith(".py"):
            self._script(Path(head), tail)
        elif text.endswith(".py"):
            _fail(f"{text} is a script: name the backward call to compare, {text}@1", 2)
        else:
            self._trace_file(Path(text))

    def _script(self, script: Path, step: str) -> None:
        if not script.is_file():
            _fail(f"no such script: {script}", 2)
        try:
            self.step = int(step)
        except ValueError:
            self.step = 0
        if self.step < 1 and self.step != -1:
            _fail(
                f"bad step in {self.text!r}: write SCRIPT.py@N, N a backward call (1, 2, ...) "
                "or -1 for the last one",
                2,
            )
        self.script = script
        self.stem = f"{script.stem}@{self.step}"

    def _trace_file(self, path: Path) -> None:
        from gradviz.viz.records.io import TraceFileError

        if not path.is_file():
            _fail(
                f"no such trace file: {path} (a trace file comes from "
                "'gradviz render SCRIPT --format json'; a script is SCRIPT.py@STEP)",
                2,
            )
        try:
            self.graph = gradviz.load_trace(path).graph
        except (TraceFileError, OSError) as error:
            _fail(f"{error}", 2)
        self.stem = path.name.removesuffix(".json").removesuffix(".trace")

    @property
    def name(self) -> str:
        return Path(self.text).name


def _diff_runs(sides: Sequence[_Side], script_args: Sequence[str]) -> None:
    """Run each script once for all its sides' steps (two steps of one run: one run), and set
    each side's graph from the captured passes."""
    from gradviz.viz.runner import RunnerError, ScriptFailed, run_script

    by_script: dict[Path, list[_Side]] = {}
    for side in sides:
        if side.script is not None:
            by_script.setdefault(side.script.resolve(), []).append(side)
    for script_sides in by_script.values():
        script = script_sides[0].script
        steps = sorted({side.step for side in script_sides})
        # the last call (-1) is known only at the end of a run: it gets a run of its own
        runs = [(s,) for s in steps] if -1 in steps else [tuple(steps)]
        for run_steps in runs:
            try:
                trace = run_script(
                    script,
                    args=tuple(script_args),
                    step=run_steps[-1],
                    steps=run_steps if len(run_steps) > 1 else (),
                )
            except ScriptFailed as error:
                text = (error.traceback or "").rstrip()
                _fail(f"{error}; nothing was compared. Its traceback (your code only):\n{text}")
            except RunnerError as error:
                _fail(str(error))
            for side in script_sides:
                if side.step in run_steps:
                    index = None if side.step == -1 else side.step
                    side.graph = trace.get_pass(index).graph


@cli.command(
    "diff",
    short_help="Compare two steps or two runs: structure, and how values and gradients changed.",
    context_settings={"allow_interspersed_args": True},
    epilog=(
        "\b\nExamples:\n"
        "  gradviz diff train.py@1 train.py@50 -o out/\n"
        "  gradviz diff run1.trace.json run2.trace.json\n"
        "  gradviz diff model_v1.py@1 model_v2.py@1 --structure-only\n"
        "\b\nExit codes:\n"
        "  0  compared (with --structure-only: the structures are the same)\n"
        "  1  --structure-only and the structures differ; or a script failed\n"
        "  2  usage: a missing file, not a trace file, a bad @STEP, an output that\n"
        "     cannot be written"
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
    path = None
    if outdir is not None or not structure_only:
        shown = outdir if outdir is not None else Path(".")
        folder = shown.absolute()  # a script may chdir; we write here
        path = folder / f"{sides[0].stem}-vs-{sides[1].stem}.diff.{fmt.lower()}"
        _check_outputs(folder, [path])
    _diff_runs(sides, script_args)
    report = compare_graphs(sides[0].graph, sides[1].graph, names=(sides[0].name, sides[1].name))
    if path is not None:
        try:
            result = report.render(path, format=fmt.lower())
        except gradviz.GradvizError as error:
            _fail(str(error))
        _echo_written([path], [result.note] if result.note else [], shown, folder)
    if structure_only:
        click.echo(report.format(top=0))
        if report.structure_changed:
            raise click.exceptions.Exit(1)
    else:
        click.echo(report.format(top=top))


# --------------------------------------------------------------------------- doctor


@cli.command("doctor", short_help="Show versions and which layout program draws.")
def doctor() -> None:
    """Print the versions gradviz runs with and which layout program draws the pictures."""
    from gradviz.viz.draw.render import LayoutProgramNotFound, layout_program

    rows: list[tuple[str, str]] = [
        ("gradviz", gradviz.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
    ]
    for module in ("numpy", "networkx", "graphviz", "click"):
        try:
            rows.append((module, __import__(module).__version__))
        except Exception as error:  # pragma: no cover - dependencies are installed
            rows.append((module, f"missing ({error})"))
    problem = None
    try:
        name, path, version = layout_program()
        rows.append(("layout program", f"{name} {version} ({path})"))
    except LayoutProgramNotFound as error:
        rows.append(("layout program", "none"))
        problem = str(error)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")
    if problem:
        _fail(problem)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``gradviz``, ``python -m gradviz``)."""
    cli.main(args=None if argv is None else list(argv), prog_name="gradviz")
