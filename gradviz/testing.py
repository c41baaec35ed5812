"""Assertions for tests of models and layers, on a traced training step.

::

    from gradviz.testing import assert_gradcheck_passes

    def test_my_layer_backward():
        with gradviz.trace() as tr:
            loss = model(x).sum()
            loss.backward()
        assert_gradcheck_passes(tr)          # every op's backward matches finite differences

Each helper runs the diagnoses of ``tr.check()`` on a pass (default: the last) and raises an
``AssertionError`` whose message lists what was found, one line each, with the op, module path
and source line.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "assert_all_parameters_receive_gradient",
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
