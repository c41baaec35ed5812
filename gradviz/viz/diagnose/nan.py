"""Where a NaN or Inf was born, forward and backward, and what explains it.

Forward: the first op (in recording order) whose value has a NaN/Inf while every input of it
was finite. Backward: the first backward step whose gradient has a NaN/Inf while the gradients
of every consumer (what flowed into it) and the values involved were finite: the consumer's
backward rule made it. Everything downstream of a birth that is non-finite is "contaminated".

The explanation reads the op's inputs (their arrays when the trace kept them, else their
statistics): a log of values <= 0, an exp that overflows, a division by ~0, ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradviz.viz.capture.stats import array_stats
from gradviz.viz.diagnose.context import Context
from gradviz.viz.diagnose.report import Finding
from gradviz.viz.records.stats import is_bad
from gradviz.viz.records.text import number


@dataclass
class Operand:
    """One input of an op as an explanation sees it."""

    slot: int
    name: str
    array: np.ndarray | None
    stats: Mapping[str, Any] | None
    shape: tuple[int, ...] | None = None

    def empty(self) -> bool:
        """Whether the input has no elements (from its array, else its recorded shape)."""
        if self.array is not None:
            return self.array.size == 0
        return self.shape is not None and 0 in self.shape

    def get(self, key: str) -> float | None:
        if self.stats is None and self.array is not None:
            self.stats = array_stats(self.array)
        value = (self.stats or {}).get(key)
        return None if value is None else float(value)

    def count(self, predicate: Any) -> tuple[int, int] | None:
        """(elements where ``predicate`` holds, size), or None without the array."""
        if self.array is None or self.array.dtype.kind not in "fiub":
            return None
        with np.errstate(all="ignore"):
            return int(np.count_nonzero(predicate(self.array))), int(self.array.size)


def _counted(operand: Operand, predicate: Any, what: str) -> str:
    counted = operand.count(predicate)
    if counted is None:
        return ""
    k, n = counted
    return f"{k:,} of {n:,} {what}"


def _range(operand: Operand) -> str:
    return f"{operand.name} in [{number(operand.get('min'))}, {number(operand.get('max'))}]"


def explain_forward(
    op: str, operands: Sequence[Operand], dtype: str = "float32"
) -> tuple[str, dict]:
    """Why ``op`` returned NaN/Inf from finite ``operands``: (text, numbers)."""
    floats = [o for o in operands if o.array is None or o.array.dtype.kind == "f"]
    first = floats[0] if floats else None
    numbers: dict[str, float] = {}
    if first is not None:
        numbers = {"input_min": first.get("min") or 0.0, "input_max": first.get("max") or 0.0}
    if op == "Log" and first is not None:
        counted = _counted(first, lambda a: a <= 0, "inputs <= 0")
        detail = f"{counted}, " if counted else ""
        return f"log of values <= 0 ({detail}min {number(first.get('min'))})", numbers
    if op == "Sqrt" and first is not None:
        counted = _counted(first, lambda a: a < 0, "inputs < 0")
        detail = f"{counted}, " if counted else ""
        return f"sqrt of negative values ({detail}min {number(first.get('min'))})", numbers
    if op == "Exp" and first is not None:
        limit = (
            math.log(float(np.finfo(np.dtype(dtype)).max)) if dtype.startswith("float") else 88.7
        )
        numbers["overflow_above"] = limit
        counted = _counted(first, lambda a: a > limit, f"inputs > {limit:.1f}")
        detail = f"{counted}, " if counted else ""
        return (
            f"exp overflow ({detail}input max {number(first.get('max'))}; exp overflows "
            f"{dtype} above {limit:.1f})",
            numbers,
        )
    if op in ("Std", "Var") and first is not None:  # finite inputs: too few values to spread
        numbers["too_few_values"] = 1.0
        return (
            f"{op.lower()} of one value per reduction ({_range(first)}): with the default "
            "correction of 1 (unbiased) that is 0 degrees of freedom, NaN in PyTorch too",
            numbers,
        )
    by_slot = {o.slot: o for o in operands}
    if op == "Div" and 1 in by_slot:
        a, b = by_slot.get(0), by_slot[1]
        zeros = _counted(b, lambda x: x == 0, "divisors are 0")
        smallest = float(np.min(np.abs(b.array))) if b.array is not None and b.array.size else None
        if smallest is not None:
            numbers["min_abs_divisor"] = smallest
        low, high = b.get("min"), b.get("max")
        spans_zero = low is not None and high is not None and low <= 0 <= high
        if (smallest is not None and smallest < 1e-30) or (smallest is None and spans_zero):
            detail = f"{zeros}, " if zeros and not zeros.startswith("0 of") else ""
            rest = f"; {_range(a)}" if a is not None else ""
            return (
                f"division by ~0 ({detail}smallest |divisor| {number(smallest)}; {_range(b)}{rest})"
                if smallest is not None
                else f"division by ~0 ({_range(b)}{rest})",
                numbers,
            )
        return f"division overflow ({_range(b)})", numbers
    if op == "Pow" and first is not None:
        return (
            f"power of values <= 0 or overflow ({_range(first)}"
            + (f"; {_range(operands[1])}" if len(operands) > 1 else "")
            + ")",
            numbers,
        )
    if op in ("BinaryCrossEntropy",) and first is not None:
        return f"probabilities outside [0, 1] ({_range(first)})", numbers
    empty = next((o for o in floats if o.empty()), None)
    if empty is not None:
        numbers["empty_input"] = 1.0
        shape = empty.array.shape if empty.array is not None else empty.shape
        return (
            f"{empty.name} is empty (shape {tuple(shape or ())}): a mean over 0 elements is "
            "NaN (0/0), as in PyTorch",
            numbers,
        )
    ranges = "; ".join(_range(o) for o in floats[:3])
    if dtype == "float16":  # half precision overflows at numbers a float32 model never notices
        numbers["dtype_max"] = largest = float(np.finfo(np.float16).max)
        return (
            f"inputs finite ({ranges}) but the output is not: overflow? (float16 holds at most "
            f"{largest:.0f})",
            numbers,
        )
    return f"inputs finite ({ranges}) but the output is not: overflow?", numbers


def explain_constant(op: str, args: Sequence[Any]) -> str | None:
    """Why ``op`` returned NaN/Inf when a constant argument of it (recorded as ``name=value``)
    explains it: a NaN or infinite number written in the code, or a division by a constant 0;
    else None."""
    for arg in args:
        name, _, text = str(arg).rpartition("=")
        try:
            value = float(text)
        except ValueError:
            continue
        if math.isnan(value) or math.isinf(value):
            return f"the constant {arg} is {'NaN' if math.isnan(value) else 'infinite'}"
        if op == "Div" and name == "b" and value == 0:
            return f"division by the constant {arg}"
    return None


def explain_backward(op: str, operands: Sequence[Operand]) -> str:
    """Why ``op``'s backward rule made a NaN/Inf gradient from a finite one."""
    first = operands[0] if operands else None
    if op == "Sqrt" and first is not None:
        counted = _counted(first, lambda a: a == 0, "inputs are 0")
        return f"sqrt'(x) = 1/(2 sqrt(x)) is infinite at x = 0 ({counted or _range(first)})"
    if op == "Log" and first is not None:
        counted = _counted(first, lambda a: a == 0, "inputs are 0")
        return f"log'(x) = 1/x is infinite at x = 0 ({counted or _range(first)})"
    divisor = next((o for o in operands if o.slot == 1), None)
    if op == "Div" and divisor is not None:
        return f"d(a/b)/db = -a/b^2 overflows where b ~ 0 ({_range(divisor)})"
    if op == "Pow" and first is not None:
        return f"d(x**p)/dx = p x**(p-1) is infinite at x = 0 for p < 1 ({_range(first)})"
    ranges = "; ".join(_range(o) for o in operands[:3])
    return f"the incoming gradient is finite but {op}.backward made NaN/Inf ({ranges})"


#: Ops that write a caller-chosen value: an infinite fill there is deliberate (a causal mask).
FILL_OPS = frozenset({"MaskedFill", "Where"})


def is_infinite_number(value: Any) -> bool:
    """Whether ``value`` is an infinite number (a float, a 0-d array, or its recorded text)."""
    if isinstance(value, str):
        value = value.rpartition("=")[2]
    try:
        return bool(np.ndim(value) == 0 and np.isinf(float(value)))
    except (TypeError, ValueError):
        return False


def deliberate_fill(op: str, nan: int, constants: Sequence[Any]) -> bool:
    """True when ``op`` is a fill (masked_fill, where) whose Inf values come from an infinite
    fill constant: not a birth. NaN values still are (PyTorch's anomaly mode reports NaN)."""
    return op in FILL_OPS and not nan and any(is_infinite_number(c) for c in constants)


def is_mask(op: Any, value: Mapping[str, Any] | None, args: Sequence[Any] = ()) -> bool:
    """Whether a node's Inf values are the infinite constant of a fill (a causal mask): what
    the summary, the page and the pictures show as intended, not as a NaN/Inf."""
    nan = int((value or {}).get("nan") or 0)
    return bool((value or {}).get("inf")) and deliberate_fill(str(op), nan, args or ())


def _operands(ctx: Context, node: str) -> list[Operand]:
    out = []
    for slot, parent, attrs in ctx.inputs(node):
        array, stats = ctx.array(node, slot), attrs.get("value")
        shape = attrs.get("shape")
        out.append(Operand(slot, ctx.label(parent), array, stats, tuple(shape or ()) or None))
    return out


def _bad_text(stats: Mapping[str, Any] | None) -> str:
    stats = stats or {}
    parts = []
    if stats.get("nan"):
        parts.append(f"{int(stats['nan']):,} NaN")
    if stats.get("inf"):
        parts.append(f"{int(stats['inf']):,} Inf")
    return ", ".join(parts)


#: What to try when a gradient hook made a gradient zero or non-finite.
HOOK_ADVICE = (
    "fix the hook: return None to keep the gradient as it is, or a changed copy of it; "
    "handle.remove() takes the hook off"
)


def _grad_numbers(attrs: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a gradient's birth: its backward step and NaN/Inf counts."""
    grad = attrs["grad"]
    return {
        "step": float(attrs["step"]),
        "nan": float(grad.get("nan") or 0),
        "inf": float(grad.get("inf") or 0),
    }


def _hook_finding(ctx: Context, node: str, hooked: Any) -> Finding:
    """A gradient hook turned the finite gradient of ``node`` into ``NaN``/``Inf``."""
    a = ctx.graph.nodes[node]
    bad = _bad_text(a.get("grad"))
    where = f" at {hooked.source}" if hooked.source else ""
    return Finding(
        "error",
        "nan_backward",
        f"the gradient hook {hooked.op}{where} ({ctx.hook_site(node)}) returned "
        f"{bad} for a finite gradient (step #{a['step']})",
        numbers=_grad_numbers(a),
        label=f"NaN/Inf gradient born in its hook {hooked.op}",
        advice=(HOOK_ADVICE,),
        **ctx.where(node),
    )


def diagnose(ctx: Context) -> tuple[list[Finding], frozenset[str], frozenset[str]]:
    """Forward and backward births; the nodes contaminated (values, gradients)."""
    g = ctx.graph
    findings: list[Finding] = []
    births: list[str] = []
    for n in ctx.order:
        a = g.nodes[n]
        if not is_bad(a.get("value")):
            continue
        parents = list(g.predecessors(n))
        if any(is_bad(g.nodes[p].get("value")) for p in parents):
            continue
        if deliberate_fill(str(a.get("op")), a["value"].get("nan") or 0, a.get("args") or ()):
            continue
        births.append(n)
        bad = _bad_text(a.get("value"))
        if a.get("kind") != "op":
            findings.append(
                Finding(
                    "error",
                    "nan_input",
                    f"{ctx.label(n)} already holds {bad} (the data, or a parameter "
                    "an earlier step made non-finite)",
                    label=f"{bad} in the input",
                    **ctx.where(n),
                )
            )
            continue
        constant = explain_constant(str(a.get("op")), a.get("args") or ())
        if constant is not None:
            text, numbers = constant, {"from_constant": 1.0}
        else:
            text, numbers = explain_forward(
                str(a.get("op")), _operands(ctx, n), a.get("dtype") or ""
            )
        numbers.update(nan=float(a["value"].get("nan") or 0), inf=float(a["value"].get("inf") or 0))
        findings.append(
            Finding(
                "error",
                "nan_forward",
                f"output has {bad} from finite inputs: {text}",
                numbers=numbers,
                label=f"NaN/Inf born here: {text}",
                **ctx.where(n),
            )
        )
    contaminated = frozenset(
        n
        for n, a in g.nodes(data=True)
        if is_bad(a.get("value")) and not is_mask(a.get("op"), a.get("value"), a.get("args"))
    )
    grad_bad = frozenset(n for n in g.nodes if is_bad(g.nodes[n].get("grad")))
    # backward: in step order, the first gradient that went bad with everything around finite
    steps = sorted((a["step"], n) for n, a in g.nodes(data=True) if a.get("step") is not None)
    for _, n in steps:
        a = g.nodes[n]
        if not is_bad(a.get("grad")) or is_bad(a.get("value")):
            continue
        hooked = ctx.gradient_hook(n)
        if hooked is not None:
            findings.append(_hook_finding(ctx, n, hooked))
            break
        consumers = [c for c in g.successors(n) if g.nodes[c].get("step") is not None]
        if not consumers:
            continue
        if any(
            is_bad(g.nodes[c].get("grad")) or is_bad(g.nodes[c].get("value")) for c in consumers
        ):
            continue
        culprit = consumers[0]
        ca = g.nodes[culprit]
        operands = _operands(ctx, culprit)
        if any(is_bad(o.stats) for o in operands):
            continue
        text = explain_backward(str(ca.get("op")), operands)
        bad = _bad_text(a.get("grad"))
        others = f" (or {', '.join(ctx.label(c) for c in consumers[1:])})" if consumers[1:] else ""
        findings.append(
            Finding(
                "error",
                "nan_backward",
                f"backward gave {bad} to {ctx.label(n)} (step #{a['step']}) from a finite "
                f"gradient{others}: {text}",
                numbers=_grad_numbers(a),
                label=f"NaN/Inf gradient born here: {text}",
                **ctx.where(culprit),
            )
        )
        break
    return findings, contaminated, grad_bad
