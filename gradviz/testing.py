"""Assertions for tests of models and layers, on a traced training step.

::

    from gradviz.testing import assert_gradcheck_passes

    def test_my_layer_backward():
        with gradviz.trace() as tr:
            loss = model(x).sum()
            loss.backward()
        assert_gradcheck_passes(tr)          # every op's backward matches finite differences

``assert_close`` is PyTorch's ``torch.testing.assert_close``. Each other helper runs the
diagnoses of ``tr.check()`` on a pass (default: the last) and raises an ``AssertionError``
whose message lists what was found, one line each, with the op, module path and source line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError
from gradviz.autograd.variable import Variable

__all__ = [
    "assert_all_parameters_receive_gradient",
    "assert_close",
    "assert_gradcheck_passes",
    "assert_gradients_finite",
]


def _report(trace: Any, pass_index: int | None, gradcheck: bool, seed: int = 0) -> Any:
    from gradviz.viz.diagnose import check

    return check(trace, pass_index, seed=seed, gradcheck=gradcheck)


def _lines(findings: Any) -> str:
    return "\n".join(
        f"  {f.op or '-'}  {f.module or '-'}  {f.source or '-'}: {f.message}" for f in findings
    )


def assert_gradients_finite(trace: Any, pass_index: int | None = None) -> None:
    """Every value and gradient of the pass is finite; otherwise say where the NaN/Inf was
    born (forward or backward) and why."""
    report = _report(trace, pass_index, gradcheck=False)
    born = [f for f in report.findings if f.kind in ("nan_input", "nan_forward", "nan_backward")]
    bad = sorted(report.contaminated | report.grad_contaminated)
    if born or bad:
        where = _lines(born) or "  (no birth found: " + ", ".join(bad[:10]) + ")"
        raise AssertionError(
            f"non-finite values or gradients in {len(bad)} nodes of the pass; born at:\n{where}"
        )


def assert_all_parameters_receive_gradient(
    trace: Any, pass_index: int | None = None, allow_zero: bool = False
) -> None:
    """Every parameter that requires grad got a gradient in the pass (a non-zero one, unless
    ``allow_zero``); otherwise say why not (detach, no_grad, a non-differentiable op, a dead
    ReLU, not reachable)."""
    report = _report(trace, pass_index, gradcheck=False)
    missing = [
        f for f in report.by_kind("no_gradient") if not (allow_zero and "exactly zero" in f.message)
    ]
    if missing:
        raise AssertionError(
            f"{len(missing)} parameter(s) got no gradient:\n"
            + "\n".join(f"  {f.message}" for f in missing)
        )


def assert_gradcheck_passes(trace: Any, pass_index: int | None = None, seed: int = 0) -> None:
    """Every op of the pass passes the per-op gradient check (its backward against central
    differences on the inputs it ran on). Fails too when no op could be checked (a loaded
    trace keeps no op inputs)."""
    report = _report(trace, pass_index, gradcheck=True, seed=seed)
    failed = report.by_kind("gradcheck")
    if failed:
        raise AssertionError(f"{len(failed)} op(s) failed the gradient check:\n{_lines(failed)}")
    if not any(c.status == "passed" for c in report.gradchecks):
        reasons = "; ".join(report.notes) or "no op needed a gradient"
        raise AssertionError(f"no op was gradient-checked: {reasons}")


#: PyTorch's default (rtol, atol) by dtype; integers and bools compare exactly
_TOLERANCES = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_dtype: bool = True,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """PyTorch's ``torch.testing.assert_close``: Variables (arrays) of the same shape and dtype,
    or numbers, close within ``atol + rtol * |expected|`` (defaults by dtype, as PyTorch's);
    lists, tuples and dicts of them compared item by item. ``msg`` replaces the message (a
    function is given the message and returns the one to raise)."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ArgumentError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}."
        )
    _close(actual, expected, (rtol, atol), equal_nan, check_dtype, msg, "")


def _close(actual, expected, tolerance, equal_nan, check_dtype, msg, where: str) -> None:
    if actual is None or expected is None:
        if actual is not expected:
            _fail(msg, f"None mismatch: {actual} is not {expected}", where)
        return
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        _keys_match(actual, expected, msg, where)
        for key in expected:
            _close(actual[key], expected[key], tolerance, equal_nan, check_dtype, msg,
                   f"{where}[{key!r}]")  # fmt: skip
        return
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        if len(actual) != len(expected):
            text = f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
            _fail(msg, text, where)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _close(a, e, tolerance, equal_nan, check_dtype, msg, f"{where}[{i}]")
        return
    tensors = [isinstance(v, Variable | np.ndarray) for v in (actual, expected)]
    if tensors[0] != tensors[1] or not all(
        t or isinstance(v, int | float | bool)
        for t, v in zip(tensors, (actual, expected), strict=True)
    ):
        raise TypeError(
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}."
        )
    if not tensors[0] and check_dtype and type(actual) is not type(expected):
        text = f"The (d)types do not match: {type(actual)} != {type(expected)}."
        _fail(msg, text, where)
    a, e = (np.asarray(v._data if isinstance(v, Variable) else v) for v in (actual, expected))
    for attribute in ("shape", "dtype") if check_dtype and tensors[0] else ("shape",):
        if getattr(a, attribute) != getattr(e, attribute):
            text = (
                f"The values for attribute '{attribute}' do not match: "
                f"{getattr(a, attribute)} != {getattr(e, attribute)}."
            )
            _fail(msg, text, where)
    _values_close(a, e, tolerance, equal_nan, msg, where, scalar=not tensors[0] or not a.ndim)


def _keys_match(actual: Mapping, expected: Mapping, msg: Any, where: str) -> None:
    """PyTorch's message when two mappings have different keys."""
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    if missing or extra:
        text = "The keys of the mappings do not match:"
        if missing:
            text += f"\nMissing keys in the actual mapping: {sorted(missing, key=repr)}"
        if extra:
            text += f"\nAdditional keys in the actual mapping: {sorted(extra, key=repr)}"
        _fail(msg, text, where)


def _fail(msg: Any, text: str, where: str) -> None:
    """Raise PyTorch's AssertionError: ``text`` and the item it is about, or ``msg`` (a
    string in its place, or a function given the message and returning another)."""
    text += f"\n\nThe failure occurred for item {where}" if where else ""
    raise AssertionError(msg(text) if callable(msg) else msg or text)


def _values_close(a, e, tolerance, equal_nan, msg, where: str, scalar: bool) -> None:
    rtol, atol = tolerance
    if rtol is None:
        rtol, atol = _TOLERANCES.get(np.result_type(a, e).name, (0.0, 0.0))
    wide_a, wide_e = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(all="ignore"):
        diff = np.abs(wide_a - wide_e)
        ok = diff <= atol + rtol * np.abs(wide_e)
        ok |= wide_a == wide_e  # equal infinities
        if equal_nan:
            ok |= np.isnan(wide_a) & np.isnan(wide_e)
        relative = diff / np.abs(wide_e)
    if ok.all():
        return
    exact = rtol == 0 and atol == 0
    kind = "Scalars" if scalar else "Tensor-likes"
    head = f"{kind} are not {'equal' if exact else 'close'}!"
    limits = ("", "") if exact else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    if scalar:
        body = (
            f"Expected {e.item()} but got {a.item()}.\nAbsolute difference: {diff.item()}"
            f"{limits[0]}\nRelative difference: {relative.item()}{limits[1]}"
        )
    else:
        bad = int((~ok).sum())
        worst_abs, worst_rel = (_worst(values, ok) for values in (diff, relative))
        body = (
            f"Mismatched elements: {bad} / {a.size} ({100 * bad / a.size:.1f}%)\n"
            f"Greatest absolute difference: {diff[worst_abs]} at index {worst_abs}{limits[0]}\n"
            f"Greatest relative difference: {relative[worst_rel]} at index {worst_rel}{limits[1]}"
        )
    _fail(msg, f"{head}\n\n{body}", where)


def _worst(values: np.ndarray, ok: np.ndarray) -> tuple[int, ...]:
    """The index of the largest of ``values`` where not ``ok`` (a NaN counts as the largest)."""
    flat = np.where(ok, -1.0, np.nan_to_num(values, nan=np.inf)).reshape(-1)
    return tuple(int(i) for i in np.unravel_index(int(flat.argmax()), values.shape))
