"""``gradcheck``: compare backward with central finite differences, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import GradcheckError, OperandError
from gradviz.autograd.grad_mode import enable_grad, no_grad
from gradviz.autograd.variable import Variable

#: PyTorch's options of its checks that choose how (fast mode, batched, forward mode ...):
#: taken, and the full check done whatever they say
_HOW = (
    "nondet_tol", "check_undefined_grad", "check_grad_dtypes", "check_batched_grad",
    "check_batched_forward_grad", "check_forward_ad", "check_backward_ad", "fast_mode",
    "masked", "gen_non_contig_grad_outputs", "check_fwd_over_rev", "check_rev_over_rev",
)  # fmt: skip


def gradcheck(
    fn: Callable[..., Any],
    inputs: Variable | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    *,
    raise_exception: bool = True,
    **how: Any,
) -> bool:
    """Check ``fn``'s gradients against central differences; return True or raise.

    Every input that requires grad is checked, on a float64 copy (the originals are untouched).
    Each element of the output (of each output, for a tuple) is checked separately (the full
    Jacobian), and an element fails when ``|analytic - numeric| > atol + rtol * |numeric|``.
    ``GradcheckError`` names the input, the worst element and both values (with
    ``raise_exception=False``: False is returned). PyTorch's options of how to check
    (``fast_mode``, ``check_batched_grad`` ...) are taken; the full check is done. Hooks are
    paused meanwhile: a trace records none of the check's ops and backward passes.
    """
    _check_how("gradcheck", how)
    try:
        with hooks.paused():
            return _gradcheck(fn, inputs, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Variable | Sequence[Any],
    grad_outputs: Variable | Sequence[Any] | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **how: Any,
) -> bool:
    """Check the gradients of ``fn``'s gradients (``create_graph=True``) against central
    differences, as PyTorch's: ``gradcheck`` of the map from ``inputs`` and ``grad_outputs``
    (random float64 ones, requiring grad, when None) to the inputs' gradients."""
    _check_how("gradgradcheck", how)
    from gradviz.autograd.grads import grad  # (grads imports the engine, which imports ops)

    inputs = (inputs,) if isinstance(inputs, Variable) else tuple(inputs)
    if grad_outputs is None:
        with hooks.paused():
            outputs = _outputs(fn(*inputs))
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Variable(rng.standard_normal(o.shape), requires_grad=True) for o in outputs
        )
    grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Variable) else tuple(grad_outputs)
    n = len(inputs)

    def first(*args: Any) -> tuple[Variable, ...]:
        xs = args[:n]
        wanted = [x for x in xs if isinstance(x, Variable) and x.requires_grad]
        with enable_grad():  # (the numeric part of the check runs under no_grad)
            outputs = _outputs(fn(*xs))
            return grad(outputs, wanted, args[n:], create_graph=True, materialize_grads=True)

    return gradcheck(
        first, (*inputs, *grad_outputs), eps, atol, rtol, raise_exception=raise_exception
    )


def _check_how(op: str, how: dict[str, Any]) -> None:
    unknown = sorted(set(how) - set(_HOW))
    if unknown:
        raise OperandError(f"{op}() got an unexpected keyword argument {unknown[0]!r}")


def _outputs(out: Any) -> tuple[Variable, ...]:
    """``fn``'s result as a tuple of Variables (one, or several in a tuple or list)."""
    outs = tuple(out) if isinstance(out, tuple | list) else (out,)
    for o in outs:
        if not isinstance(o, Variable):
            raise OperandError(
                f"gradcheck: fn must return a Variable or a tuple of them, got {type(o).__name__}"
            )
    return outs


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

    def evaluate() -> Variable:
        outs = _outputs(fn(*copies))
        if len(outs) == 1:
            return outs[0]
        from gradviz.autograd.ops.shape import concatenate  # (ops import this module's users)

        return concatenate([o.reshape(-1) for o in outs if o.dtype.kind == "f"])

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
