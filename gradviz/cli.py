"""The ``gradviz`` command line: ``gradviz render SCRIPT``, ``gradviz check SCRIPT``,
``gradviz timeline SCRIPT``, ``gradviz watch SCRIPT``, ``gradviz diff A B`` and
``gradviz doctor`` (the commands beyond one step live in :mod:`gradviz.commands`).

Each command validates its input, calls the runner or the renderer, and echoes. Every message
of ours starts with ``gradviz: `` and goes to stderr; file names and the summary go to stdout.
Exit codes: 0 success; 1 the script failed, never called backward, or a check found a problem;
2 usage (a missing file, a bad option); 130 interrupted (Ctrl-C, in the script or after it:
``timeline`` and ``watch`` still write the steps recorded before it).
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

import gradviz
from gradviz.autograd import heap
from gradviz.commands.common import (
    Group,
    check_outputs,
    depth_option,
    echo_written,
    fail,
    fold_option,
    run,
    script_options,
    write_views,
)
from gradviz.commands.diff import diff_command
from gradviz.commands.timeline import timeline_command
from gradviz.commands.watch import watch_command

# --------------------------------------------------------------------------- the group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(gradviz.__version__, prog_name="gradviz")
def cli() -> None:
    """gradviz: see a training step of a NumPy network, forward and backward, and
    watch training over many steps.

    \b
    Quick start:
        gradviz render examples/moons.py -o out/
        gradviz check examples/buggy_layer.py -o out/
        gradviz timeline examples/moons.py -o out/
        gradviz watch examples/slow_nan.py -o out/
        gradviz diff examples/moons.py@1 examples/moons.py@50 -o out/
        gradviz doctor

    Exit codes: 0 done; 1 the script failed or a check found an error;
    2 usage; 130 interrupted (Ctrl-C: timeline and watch write what they
    recorded first).
    """


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
@script_options("draw")
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
@depth_option()
@fold_option()
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
    no_fold: bool,
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
    check_outputs(outdir, paths)

    def deliver(trace: Any) -> None:
        from gradviz.viz.summary import summary

        written, notes = list(paths), []
        if fmt == "json":
            trace.save(paths[0])
        elif fmt == "html":
            from gradviz.viz.trace import write_page

            page = write_page(trace, paths[0], depth=depth, fold=not no_fold)
            notes = [page.note] if page.note else []
        else:
            written, notes = write_views(
                trace.graph, views, outdir, stem, fmt, depth, fold=not no_fold
            )
        echo_written(written, notes, shown, outdir)
        click.echo(summary(trace, forward_only=forward_only))

    run(
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
@script_options("check")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "png", "dot"], case_sensitive=False),
    default="svg",
    show_default=True,
    help="Format of the two pictures with the findings marked.",
)
@depth_option()
@fold_option()
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
    no_fold: bool,
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
    check_outputs(outdir, [outdir / f"{stem}.{view}.{fmt}" for view in ("forward", "backward")])
    found_errors = False

    def deliver(trace: Any) -> None:
        from gradviz.viz.diagnose import pictures_graph
        from gradviz.viz.draw.render import LayoutProgramNotFound

        nonlocal found_errors
        report = trace.check(seed=seed)
        try:
            written, notes = write_views(
                pictures_graph(trace, report),
                ("forward", "backward"),
                outdir,
                stem,
                fmt,
                depth,
                report.marks(),
                fold=not no_fold,
            )
        except LayoutProgramNotFound as error:  # the report still matters: say so, go on
            written, notes = [], [f"{error}; no pictures were drawn (--format dot needs none)"]
        echo_written(written, notes, shown, outdir)
        click.echo(report.format(color=True))
        found_errors = bool(report.errors)

    run(
        script,
        script_args,
        step,
        deliver,
        nothing="nothing was checked",
        done="checked",
        no_backward=(
            f"{script.name} never called backward(), so there is no training step to check; "
            f"to draw what an inference-only script computes, run "
            f"'gradviz render {script} --forward-only'"
        ),
    )
    if found_errors:
        raise click.exceptions.Exit(1)


cli.add_command(timeline_command)
cli.add_command(diff_command)
cli.add_command(watch_command)


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
    rows.append(("heap", heap.describe()))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")
    if problem:
        fail(problem)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``gradviz``, ``python -m gradviz``)."""
    try:
        cli.main(args=None if argv is None else list(argv), prog_name="gradviz")
    except SystemExit as exit_:
        _leave_script_threads(exit_.code)
        raise


def _leave_script_threads(code: Any) -> None:
    """Exit now if threads of a script the runner stopped still run (a producer blocked on a
    queue nobody reads any more would keep the process alive for ever): the outputs are
    written, nothing else is waited for. A script that ran to its end is waited for as Python
    waits for it."""
    import os

    from gradviz.viz.runner import left_behind

    left = left_behind()
    if not left:
        return
    names = ", ".join(t.name for t in left)
    click.echo(
        f"gradviz: not waiting for the thread(s) the stopped script left ({names})", err=True
    )
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else 1 if code else 0)
