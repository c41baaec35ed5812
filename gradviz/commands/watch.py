"""``gradviz watch SCRIPT``: the flight recorder — run the whole script cheaply, stop at the step
where training went wrong and keep that step in full."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from gradviz.commands.common import Command, check_outputs, echo_written, fail, run, script_options

#: the findings that say where a NaN/Inf came from, first
_BIRTHS = ("nan_forward", "nan_backward", "nan_input")


def _where(caught: Any, report: Any) -> str:
    """Where a trigger points: the check's NaN/Inf birth (or first error): op, module, line;
    for a spike without one, the largest change since the step before (one line each: names
    come from the script)."""
    from gradviz.viz.records.text import one_line

    found = list(report.findings) if report is not None else []
    births = [f for f in found if f.kind in _BIRTHS]
    errors = births or [f for f in found if f.severity == "error"]
    if errors:
        f = errors[0]
        where = f"{f.op or '-'} in module {f.module or '(top)'} at {f.source or '?'}: {f.message}"
        return one_line(where) + "".join(f"\n  try: {one_line(tip)}" for tip in f.advice)
    if caught.previous is not None and caught.current is not None:
        from gradviz.viz.diagnose.advice import spike_advice
        from gradviz.viz.diagnose.diff import compare

        changes = compare(caught.previous.graph, caught.current.graph).changes
        current = caught.current
        tips = spike_advice(
            getattr(current, "learning_rate", None),
            getattr(current, "clip_norm", None),
            getattr(current, "optimizer", None),
        )
        if changes:
            top = changes[0]
            return one_line(
                f"largest change since step {caught.previous.index}: {top.key} "
                f"{top.field} {top.a:.4g} -> {top.b:.4g}"
            ) + "".join(f"\n  try: {tip}" for tip in tips)
    if caught.current is None:
        return "the step's full detail was not kept (--keep)"
    if caught.previous is None and caught.trigger.step > 1:
        return (
            "no op to blame was found, and no step before it that trained the same parameters "
            "was kept in full (--keep), so no change since one can be named; a larger --keep "
            "keeps more steps"
        )
    return "no op to blame was found; see the step's trace and pictures written above"


def _check_spike(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if math.isnan(value):  # FloatRange lets NaN through: every comparison with it is False
        raise click.BadParameter("must be a number above 1, got nan", ctx, param)
    return value


@click.command(
    "watch",
    cls=Command,
    short_help="Run a whole training script and catch the step where it blew up.",
    context_settings={"allow_interspersed_args": True},
    epilog=(
        "\b\nExamples:\n"
        "  gradviz watch examples/slow_nan.py -o out/\n"
        "  gradviz watch train.py --spike 5 --continue -- --lr 0.5\n"
        "\b\nExit codes:\n"
        "  0    the script ran to its end and nothing fired\n"
        "  1    a trigger fired (or the script failed, or never called backward)\n"
        "  2    usage: a bad option or an output folder that cannot be written\n"
        "  130  interrupted (Ctrl-C): the triggers, or the timeline, recorded so far are written"
    ),
)
@script_options(None, "what a trigger leaves behind")
@click.option(
    "--spike",
    type=click.FloatRange(min=1, min_open=True),
    callback=_check_spike,
    default=10.0,
    show_default=True,
    help="Fire when the loss or the total gradient norm exceeds this many times its running "
    "median (over the last 50 steps, after 10 warm-up steps), or the loss's median over those "
    "10 steps this many times its median over the first 3.",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Keep the full detail of the last K steps (2: the trigger step and the one before, "
    "for the diff; 3 for two models trained in turn, whose step before is the other's).",
)
@click.option(
    "--continue",
    "go_on",
    is_flag=True,
    help="Do not stop at the first trigger: run to the end and keep every trigger.",
)
def watch_command(
    script: Path,
    script_args: tuple[str, ...],
    outdir: Path,
    spike: float,
    keep: int,
    go_on: bool,
) -> None:
    """Run SCRIPT to its end, every step recorded in summary, and catch the step where
    training went wrong.

    The script runs unmodified as __main__, as for `gradviz render`; arguments after
    `--` are passed to it verbatim. A trigger fires on the first step where the loss
    or a gradient holds a NaN/Inf, or the loss or the total gradient norm exceeds
    --spike times its running median. For that step N it writes:

    \b
      OUTDIR/<stem>.stepN.trace.json     the step in full (gradviz.load_trace)
      OUTDIR/<stem>.stepN.forward.svg    gradviz check's marked pictures
      OUTDIR/<stem>.stepN.backward.svg
      OUTDIR/<stem>.stepN.diff.svg       what changed since the step before
      OUTDIR/<stem>.stepN.timeline.html  the timeline up to step N

    prints which step, what fired and where (op, module, file:line), stops the script
    and exits 1 (--continue: goes on, keeping the first 20 triggers). A script that fails
    after a trigger (a guard that raises on the NaN loss) leaves the same files. Nothing
    fired: exit 0 and OUTDIR/<stem>.timeline.html (also written, up to the failure, for a
    script that fails with nothing fired).
    """
    from gradviz.viz.flight import FlightRecorder, write_trigger
    from gradviz.viz.records.text import one_line
    from gradviz.viz.trace import write_timeline_page

    stem = script.stem
    shown, outdir = outdir, outdir.absolute()  # the script may chdir; we write here
    check_outputs(outdir, [outdir / f"{stem}.timeline.html"])
    policy = FlightRecorder(spike, go_on)

    def write_triggers(trace: Any) -> None:
        for caught in policy.caught:
            written, report = write_trigger(trace, caught, outdir, stem)
            echo_written(written, [], shown, outdir)
            trigger = caught.trigger
            click.echo(f"step {trigger.step}: {trigger.kind}: {one_line(trigger.message)}")
            click.echo(f"  where: {_where(caught, report)}")

    def write_page(trace: Any) -> str:
        page_path = outdir / f"{stem}.timeline.html"
        write_timeline_page(trace, page_path)
        echo_written([page_path], [], shown, outdir)
        recorded = len(trace.steps_recorded)
        return "1 step" if recorded == 1 else f"{recorded} steps"

    def deliver(trace: Any) -> None:
        if not policy.caught:
            steps = write_page(trace)
            click.echo(f"watched {steps}: no NaN/Inf, no loss or gradient spike")
            return
        write_triggers(trace)
        if not go_on and policy.closed:  # (not closed: the script ended before the stop)
            click.echo(f"stopped the script at step {policy.caught[0].trigger.step}")

    def salvage(trace: Any) -> str | None:
        """The script failed after some steps (often tripping over the NaN a trigger caught,
        as a guard like ``if not math.isfinite(loss.item()): raise`` does): keep what fired,
        or else the timeline up to the failure."""
        if policy.caught:
            write_triggers(trace)
            fired = len(policy.caught) + policy.dropped
            return f"what fired before it is written above ({fired} trigger(s))"
        if not trace.steps_recorded:
            return None
        return (
            f"nothing fired in the {write_page(trace)} before it; their timeline is written above"
        )

    run(
        script,
        script_args,
        1,
        deliver,
        policy=policy,
        detail="summary",
        keep_full=keep,
        salvage=salvage,
        nothing="nothing was written",
        no_backward=f"{script.name} never called backward(), so there are no steps to watch",
    )
    if policy.dropped:
        click.echo(
            f"gradviz: {policy.dropped} more trigger(s) fired after these {len(policy.caught)}; "
            "only the first ones are kept in full",
            err=True,
        )
    if policy.caught:
        fail(f"{len(policy.caught) + policy.dropped} trigger(s) fired; see above")
