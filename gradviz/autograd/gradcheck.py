"""``gradcheck``: compare backward with central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import GradcheckError, OperandError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.variable import Variable


def gradcheck(
    fn: Callable[..., Variable],
    inputs: Variable | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check ``fn``'s gradients against central differences; return True or raise.

    Every input that requires grad is checked, on a float64 copy (the originals are untouched).
    Each element of the output is checked separately (the full Jacobian), and an element fails
    when ``|analytic - numeric| > atol + rtol * |numeric|``. ``GradcheckError`` names the input,
    the worst element and both values. Hooks are paused meanwhile: a trace records none of the
    check's ops and backward passes.
    """
    with hooks.paused():
        return _gradcheck(fn, inputs, eps, atol, rtol)


def _gradcheck(
    fn: Callable[..., Variable],
    inputs: Variable | Sequence[Any],
    eps: float,
    atol: float,
    rtol: float,
) -> bool:
    inputs = (inputs,) if isinstance(inputs, Variable) else tuple(inputs)
    copies = tuple(_float64_copy(x) for x in inputs)
    checked = [i for i, x in enumerate(copies) if isinstance(x, Variable) and x.requires_grad]
    if not checked:
        raise OperandError("gradcheck: no input requires grad, so there is nothing to check")

    def evaluate() -> np.ndarray:
        out = fn(*copies)
        if not isinstance(out, Variable):
            raise OperandError(f"gradcheck: fn must return a Variable, got {type(out).__name__}")
        return out

    output = evaluate()
    out_size = output._data.size
    analytic = {i: np.zeros((out_size, copies[i]._data.size)) for i in checked}
    for k in range(out_size):
        for i in checked:
            copies[i]._grad = None
        seed = np.zeros(out_size)
        seed[k] = 1
        evaluate().backward(seed.reshape(output.shape))
        for i in checked:
            grad = copies[i]._grad
            if grad is not None:
                analytic[i][k] = grad.reshape(-1)

    for i in checked:
        flat = copies[i]._data.reshape(-1)  # a view: perturbing it perturbs the input
        numeric = np.zeros_like(analytic[i])
        with no_grad():
            for j in range(flat.size):
                original = flat[j]
                flat[j] = original + eps
                plus = evaluate()._data.astype(np.float64).reshape(-1)
                flat[j] = original - eps
                minus = evaluate()._data.astype(np.float64).reshape(-1)
                flat[j] = original
                numeric[:, j] = (plus - minus) / (2 * eps)
        _compare(i, copies[i].shape, output.shape, analytic[i], numeric, atol, rtol)
    return True


def _compare(
    index: int,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    analytic: np.ndarray,
    numeric: np.ndarray,
    atol: float,
    rtol: float,
) -> None:
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    excess = np.where(np.isnan(excess), np.inf, excess)
    if excess.max(initial=-np.inf) <= 0:
        return
    k, j = np.unravel_index(np.argmax(excess), excess.shape)
    in_element = tuple(int(e) for e in np.unravel_index(j, in_shape)) if in_shape else ()
    out_element = tuple(int(e) for e in np.unravel_index(k, out_shape)) if out_shape else ()
    raise GradcheckError(
        f"Jacobian mismatch for input {index} (shape {in_shape}) at element "
        f"{in_element}, output element {out_element}: "
        f"analytic {analytic[k, j]:.10g} vs numeric {numeric[k, j]:.10g} "
        f"(|difference| {abs(analytic[k, j] - numeric[k, j]):.3g} > atol {atol:g} + "
        f"rtol {rtol:g} * |numeric|)"
    )


def _float64_copy(x: Any) -> Any:
    if isinstance(x, Variable):
        # C order: the perturbation loop writes through data.reshape(-1), which must be a view
        dtype = np.float64 if x.dtype.kind == "f" else x.dtype
        data = np.array(x._data, dtype=dtype, order="C")
        return Variable(data, requires_grad=x.requires_grad, name=x.name)
    if isinstance(x, np.ndarray):
        return x.astype(np.float64) if x.dtype.kind == "f" else x.copy()
    return x
