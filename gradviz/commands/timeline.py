"""``gradviz timeline SCRIPT``: record many training steps and draw them on one page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gradviz.commands.common import (
    Command,
    check_outputs,
    depth_option,
    echo_written,
    run,
    script_options,
)

# --------------------------------------------------------------------------- timeline


@click.command(
    "timeline",
    cls=Command,
    short_help="Record many training steps: the loss and per-layer statistics over time.",
    context_settings={"allow_interspersed_args": True},
    epilog=(
        "\b\nExamples:\n"
        "  gradviz timeline examples/moons.py -o out/\n"
        "  gradviz timeline train.py --steps 1000 --every 10 -- --lr 0.5"
    ),
)
@script_options(None, "the page and the JSON")
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Stop the script after N calls of backward (default: run it to its end).",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Record every K-th call of backward (1, 1+K, 1+2K, ...).",
)
@depth_option()
def timeline_command(
    script: Path,
    script_args: tuple[str, ...],
    outdir: Path,
    steps: int | None,
    every: int,
    depth: int | None,
) -> None:
    """Run SCRIPT, record its training steps and draw them on one page.

    The script runs unmodified as __main__, as for `gradviz render`; arguments
    after `--` are passed to it verbatim. Every K-th call of backward is recorded
    (--every), until the script ends or N calls were made (--steps, then the
    script is stopped). Writes:

    \b
      OUTDIR/<stem>.timeline.html  the graph of the last recorded step with a
                                   strip under it: the loss, a heatmap of each
                                   parameter's |grad| or update/weight per step;
                                   scrub it to recolour the graph; click a node
                                   for its statistics over all steps
      OUTDIR/<stem>.timeline.json  the statistics per step and node (columnar)

    and prints the steps where something went wrong (NaN/Inf, a loss spike, a
    dead ReLU layer); they are marked on the page. Exit 0 once the outputs are
    written, also with findings; 1 when the script failed (the steps recorded
    before it are still written) or never called backward; 2 for a usage error;
    130 after Ctrl-C (the steps recorded before it are written).
    """
    from gradviz.viz.capture.policy import EveryStep

    stem = script.stem
    shown, outdir = outdir, outdir.absolute()  # the script may chdir; we write here
    page_path, json_path = (outdir / f"{stem}.timeline.{ext}" for ext in ("html", "json"))
    check_outputs(outdir, [page_path, json_path])

    def deliver(trace: Any) -> None:
        import json

        from gradviz.viz.diagnose.timeline import timeline_findings
        from gradviz.viz.records.files import atomic_write
        from gradviz.viz.records.text import one_line
        from gradviz.viz.trace import write_timeline_page

        record = trace.timeline
        atomic_write(json_path, json.dumps(record.to_dict(), allow_nan=False) + "\n")
        page = write_timeline_page(trace, page_path, depth=depth, timeline=record)
        echo_written([page_path, json_path], [page.note] if page.note else [], shown, outdir)
        click.echo(_timeline_summary(record, trace.backward_calls, every))
        found = timeline_findings(record)
        if not found:
            click.echo("no NaN/Inf, loss spike or dead ReLU layer in the recorded steps")
        for finding in found[:_SHOWN]:  # (names from the script: one line, no escapes)
            click.echo(f"step {finding.step}: {finding.severity}: {one_line(finding.message)}")
        if len(found) > _SHOWN:
            click.echo(f"... and {len(found) - _SHOWN} more findings (marked on the page)")

    def salvage(trace: Any) -> str | None:
        """The script failed after some steps were recorded: they are worth seeing."""
        if not trace.timeline.steps:
            return None
        deliver(trace)
        return "the steps recorded before it are written above"

    run(
        script,
        script_args,
        1,
        deliver,
        salvage=salvage,
        policy=EveryStep(steps, every),
        detail="summary",
        keep_full=1,
        nothing="nothing was recorded",
        no_backward=(
            f"{script.name} never called backward(), so there are no training steps to record"
        ),
    )


#: Findings printed by `gradviz timeline` (the page marks all).
_SHOWN = 10


def _timeline_summary(record: Any, calls: int, every: int) -> str:
    """``recorded 8 of 8 backward calls (every 1st); loss 2.221 -> 0.6886``."""
    import math

    from gradviz.viz.diagnose.timeline import timeline_findings
    from gradviz.viz.flight import step_health

    finite = [v for v in record.loss if math.isfinite(v)]
    last = step_health(record, record.steps[-1])[0]  # None: that step had no scalar loss
    if finite:
        end = finite[-1] if last is None or math.isfinite(last) else last  # a loss gone NaN
        loss = f"loss {finite[0]:.4g} -> {end:.4g}"
    elif any(f.kind == "nan" for f in timeline_findings(record)):
        loss = "no finite loss"
    else:  # backward(gradient) of a tensor: no scalar to call a loss, and nothing is NaN
        loss = "no scalar loss (backward was given a gradient)"
    suffix = "th" if every % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(every % 10)
    nth = f"{every}{suffix or 'th'}"
    return f"recorded {len(record.steps)} of {calls} backward calls (every {nth}); {loss}"
