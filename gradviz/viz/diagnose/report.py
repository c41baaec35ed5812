"""What the diagnoses find, as plain frozen data, and how a report reads in a terminal.

A :class:`Report` holds :class:`Finding`\\ s (errors first, then warnings, each in graph order)
and the tables behind them: one :class:`OpCheck` per op gradient-checked, one
:class:`ParamHealth` per parameter, one :class:`LayerHealth` per layer, one :class:`ReluHealth`
per ReLU and one :class:`Broadcast` per broadcast input. :meth:`Report.marks` turns it into the
per-node marks :func:`gradviz.viz.draw.render.build` draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gradviz.viz.records.schema import StrValued
from gradviz.viz.records.text import number, shape_text

__all__ = [
    "Broadcast",
    "Finding",
    "InputCheck",
    "LayerHealth",
    "Level",
    "Mark",
    "OpCheck",
    "ParamHealth",
    "ReluHealth",
    "Report",
]

SEVERITIES = ("error", "warning")


class Level(StrValued):
    """How a picture marks a node (see :class:`Mark`)."""

    ERROR = "error"
    BIRTH = "birth"
    CONTAMINATED = "contaminated"
    WARNING = "warning"
    OK = "ok"
    NOTE = "note"


BOTH_VIEWS = ("forward", "backward")
#: How the pictures mark the node of a finding, by the finding's kind: (level, the text when the
#: finding has no label, the views).
FINDING_MARKS: dict[str, tuple[Level, str, tuple[str, ...]]] = {
    "gradcheck": (Level.ERROR, "", BOTH_VIEWS),
    "broadcast": (Level.ERROR, "", BOTH_VIEWS),
    "nan_forward": (Level.BIRTH, "NaN/Inf born here", BOTH_VIEWS),
    "nan_input": (Level.BIRTH, "NaN/Inf born here", BOTH_VIEWS),
    "nan_backward": (Level.BIRTH, "NaN/Inf gradient born here", ("backward",)),
    "no_gradient": (Level.WARNING, "", BOTH_VIEWS),
    "zero_derivative": (Level.WARNING, "", BOTH_VIEWS),
    "dead_relu": (Level.WARNING, "", BOTH_VIEWS),
}


def _frozen(numbers: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType(dict(numbers or {}))


@dataclass(frozen=True)
class Mark:
    """Something a check found about a node, drawn on it
    (``gradviz.viz.draw.render.build(..., marks=...)``).

    ``level``: ``"error"`` (red: a failed gradient check, an accidental broadcast),
    ``"birth"`` (where a NaN/Inf was born: red border), ``"contaminated"`` (carries a NaN/Inf
    from a birth: shaded), ``"warning"`` (orange border: no gradient, dead ReLU), ``"ok"`` or
    ``"note"`` (a line of text only). ``text`` is added to the node's label; ``views`` says in
    which pictures; ``advice`` what to try (the legend lists it).
    """

    level: Level
    text: str = ""
    views: tuple[str, ...] = BOTH_VIEWS
    advice: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem: ``severity`` ("error" or "warning"), ``kind`` (``gradcheck``,
    ``nan_forward``, ``nan_backward``, ``nan_input``, ``no_gradient``, ``zero_derivative``,
    ``update_ratio``, ``dead_relu``, ``vanishing``, ``exploding``, ``broadcast``,
    ``grad_not_zeroed``), the node it
    is about (an id in the pass's graph, or None), its op, module path and source line, a
    one-line ``message`` and the ``numbers`` behind it (a read-only dict). ``label`` is the
    short text the pictures put on the node; ``related`` other nodes to mark, as ``(node id,
    label)`` (the ``detach()`` that cut a parameter off, say); ``advice`` one or two things to
    try."""

    severity: str
    kind: str
    message: str
    node: str | None = None
    op: str | None = None
    module: str = ""
    source: str | None = None
    numbers: Mapping[str, float] = field(default_factory=dict, hash=False)
    label: str = ""
    related: tuple[tuple[str, str], ...] = ()
    advice: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be 'error' or 'warning', got {self.severity!r}")
        object.__setattr__(self, "numbers", _frozen(self.numbers))

    @property
    def where(self) -> str:
        """What the finding is about, as the report shows it: op or name, module, line."""
        return " ".join(x for x in (self.op or "-", self.module or "-", self.source or "-"))


@dataclass(frozen=True)
class InputCheck:
    """The gradient check of one input of an op: the directional derivatives along random
    directions (``analytic``: the op's backward; ``numeric``: central differences) of the
    worst direction, their relative difference and ratio."""

    slot: int
    name: str | None
    analytic: float
    numeric: float
    rel_error: float
    passed: bool
    summed_axes: tuple[int, ...] = ()

    @property
    def ratio(self) -> float | None:
        """analytic / numeric (None when the numeric derivative is 0)."""
        return self.analytic / self.numeric if self.numeric else None


@dataclass(frozen=True)
class OpCheck:
    """The gradient check of one op node: ``status`` is ``passed``, ``failed`` or ``skipped``
    (``reason`` says why), ``rel_error`` the worst relative error over its inputs."""

    node: str
    op: str
    module: str
    source: str | None
    status: str
    rel_error: float | None = None
    inputs: tuple[InputCheck, ...] = ()
    reason: str = ""
    custom: bool = False


@dataclass(frozen=True)
class ParamHealth:
    """One parameter: its gradient norm in this pass (None: no gradient reached it), its
    weight norm, the optimizer's update-to-weight ratio (None: no step recorded)."""

    name: str
    node: str | None
    shape: tuple[int, ...]
    grad_norm: float | None
    weight_norm: float | None
    update_ratio: float | None
    requires_grad: bool = True


@dataclass(frozen=True)
class LayerHealth:
    """A module that owns parameters, in forward order: gradient norm and RMS over its
    parameters, weight norm, update-to-weight ratio, and flags (``vanishing``, ...)."""

    index: int
    module: str
    cls: str
    params: tuple[str, ...]
    grad_norm: float | None
    grad_rms: float | None
    weight_norm: float | None
    update_ratio: float | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReluHealth:
    """A ReLU (its calls at one line pooled): the fraction of its units (last axis) that are
    zero for every row of the batch, and the fraction of elements that are zero."""

    node: str
    module: str
    source: str | None
    units: int
    dead_units: int
    zero_fraction: float

    @property
    def dead_fraction(self) -> float:
        return self.dead_units / self.units if self.units else 0.0


@dataclass(frozen=True)
class Broadcast:
    """Input ``slot`` of ``op`` had shape ``input_shape`` and was broadcast to ``shape``; its
    gradient is summed back over ``axes`` (of ``shape``). ``accidental``: a loss-like op where
    every input was expanded, e.g. ``(N, 1)`` against ``(N,)`` giving ``(N, N)``."""

    node: str
    op: str
    module: str
    source: str | None
    slot: int
    name: str | None
    input_shape: tuple[int, ...]
    shape: tuple[int, ...]
    axes: tuple[int, ...]
    accidental: bool = False


@dataclass(frozen=True)
class Report:
    """Everything ``tr.check()`` found about one backward pass."""

    findings: tuple[Finding, ...]
    gradchecks: tuple[OpCheck, ...] = ()
    params: tuple[ParamHealth, ...] = ()
    layers: tuple[LayerHealth, ...] = ()
    relus: tuple[ReluHealth, ...] = ()
    broadcasts: tuple[Broadcast, ...] = ()
    #: node ids whose value / gradient is non-finite because of a NaN/Inf birth
    contaminated: frozenset[str] = frozenset()
    grad_contaminated: frozenset[str] = frozenset()
    pass_index: int | None = None
    script: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        """No error-level finding (warnings allowed)."""
        return not self.errors

    def by_kind(self, kind: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == kind)

    def __str__(self) -> str:
        return self.format()

    # ------------------------------------------------------------------------ terminal text
    def format(self, color: bool = False) -> str:
        """The report as a terminal reads it: a headline, one line per finding (errors first),
        then the per-layer health table."""
        from gradviz.viz.diagnose.text import format_report

        return format_report(self, color=color)

    # ------------------------------------------------------------------------ notebook
    def _repr_html_(self) -> str:
        """Jupyter's view: the headline, a table of the findings, the layer table."""
        from gradviz.viz.diagnose.notebook import report_html

        return report_html(self)

    def _repr_markdown_(self) -> str:
        from gradviz.viz.diagnose.notebook import report_markdown

        return report_markdown(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain text: the terminal report (``gradviz check``'s text)."""
        printer.text(self.format())

    # ------------------------------------------------------------------------ graph marks
    def marks(self) -> dict[str, list[Mark]]:
        """Per node id, what the pictures should show about it (see :class:`Mark`)."""
        marks: dict[str, list[Mark]] = {}
        for node, mark in (
            *self._check_marks(),
            *self._finding_marks(),
            *self._layer_marks(),
            *self._broadcast_marks(),
        ):
            if node is not None and mark not in marks.get(node, ()):
                marks.setdefault(node, []).append(mark)
        return marks

    def _check_marks(self) -> Iterator[tuple[str | None, Mark]]:
        for check in self.gradchecks:
            if check.status == "passed" and check.custom:
                text = f"gradcheck ok (rel. error {number(check.rel_error)})"
                yield check.node, Mark(Level.OK, text)
        for node in sorted(self.contaminated - _born(self, "nan_forward", "nan_input")):
            yield node, Mark(Level.CONTAMINATED, "", views=("forward",))
        for node in sorted(self.grad_contaminated - _born(self, "nan_backward")):
            yield node, Mark(Level.CONTAMINATED, "", views=("backward",))

    def _finding_marks(self) -> Iterator[tuple[str | None, Mark]]:
        for f in self.findings:
            if f.kind in FINDING_MARKS:
                level, default, views = FINDING_MARKS[f.kind]
                yield f.node, Mark(level, f.label or default, views, f.advice)
            for node, label in f.related:  # where the problem shows (the culprit is f.node)
                yield node, Mark(Level.WARNING, label)

    def _layer_marks(self) -> Iterator[tuple[str | None, Mark]]:
        owned: dict[str, list[str]] = {}
        for p in self.params:
            if p.node is not None:
                owned.setdefault(p.name.rpartition(".")[0], []).append(p.node)
        for layer in self.layers:
            for flag in layer.flags:
                text = f"{flag} gradient: rms {number(layer.grad_rms)}"
                for node in owned.get(layer.module, ()):
                    yield node, Mark(Level.WARNING, text, ("backward",))

    def _broadcast_marks(self) -> Iterator[tuple[str | None, Mark]]:
        for b in self.broadcasts:
            if not b.accidental:
                axes = ", ".join(str(a) for a in b.axes)
                text = (
                    f"broadcast: argument {b.slot} {shape_text(b.input_shape)} to "
                    f"{shape_text(b.shape)}, grad summed over axis {axes}"
                )
                yield b.node, Mark(Level.NOTE, text)


def _born(report: Report, *kinds: str) -> set[str]:
    return {f.node for f in report.findings if f.kind in kinds and f.node is not None}


def fmt(x: Any) -> str:
    """A number for the report: 3 significant digits, scientific when tiny or huge."""
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return number(x)
