"""``nn.utils``: gradient clipping and parameters as one vector, with PyTorch's names (and
``nn.utils.rnn``: :mod:`gradviz.autograd.nn.rnn_packing`; ``parametrize``,
``parametrizations`` and the older ``weight_norm`` and ``spectral_norm``).

Clipping scales or clamps them in place, as PyTorch's
``grad.mul_`` and ``grad.clamp_`` do, so optimizers and the tracer see the clipped values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import ArgumentError, InputError, OperandError, ShapeError
from gradviz.autograd.nn import parametrizations, parametrize, prune
from gradviz.autograd.nn import rnn_packing as rnn
from gradviz.autograd.nn.weight_norms import (
    remove_spectral_norm,
    remove_weight_norm,
    spectral_norm,
    weight_norm,
)
from gradviz.autograd.variable import Variable, get_default_dtype, grad_problem

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "parametrizations",
    "parametrize",
    "prune",
    "remove_spectral_norm",
    "remove_weight_norm",
    "rnn",
    "spectral_norm",
    "vector_to_parameters",
    "weight_norm",
]


def _parameter_list(function: str, parameters: Any) -> list[Variable]:
    """``parameters`` (one Variable or an iterable of them, a generator too) as a list."""
    if isinstance(parameters, Variable):
        return [parameters]
    if not isinstance(parameters, Iterable):
        raise OperandError(
            f"{function}: parameters must be a Variable or an iterable of Variables, "
            f"got {type(parameters).__name__}"
        )
    params = list(parameters)
    for index, param in enumerate(params):
        if not isinstance(param, Variable):
            raise OperandError(
                f"{function}: parameters[{index}] must be a Variable, got {type(param).__name__}"
            )
    return params


def _check_grads(function: str, params: list[Variable]) -> None:
    """Refuse a gradient not of its parameter's shape (``p.data`` given another shape after
    backward, say): clipping it would broadcast or fail inside NumPy."""
    for index, param in enumerate(params):
        problem = None if param._grad is None else grad_problem(param.shape, param._grad)
        if problem is not None:
            error, text = problem
            raise error(f"{function}: parameters[{index}] has {text}")


def _number(function: str, name: str, value: Any) -> float:
    """``value`` as a float (PyTorch calls ``float(value)``; a 0-d Variable counts)."""
    if isinstance(value, Variable) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise OperandError(f"{function}: {name} must be a number, got {type(value).__name__}")
    try:
        return float(value)
    except ValueError:
        raise ArgumentError(f"{function}: {name} must be a number, got {value!r}") from None


def _vector_norm(values: np.ndarray, p: float) -> np.ndarray:
    """``torch.linalg.vector_norm(values, p)`` in the dtype of ``values``."""
    magnitudes = np.abs(values.ravel())
    if p == math.inf:
        return magnitudes.max(initial=0).astype(values.dtype)
    if p == -math.inf:
        return magnitudes.min().astype(values.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(magnitudes), dtype=values.dtype)
    if p == 1:
        return magnitudes.sum(dtype=values.dtype)
    if p == 2:
        return np.sqrt(np.dot(magnitudes, magnitudes)).astype(values.dtype)
    return (magnitudes**p).sum(dtype=values.dtype) ** values.dtype.type(1 / p)


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Variable:
    """Scale the gradients of ``parameters`` in place so that their total norm (the norm of
    every gradient taken as one vector) is at most ``max_norm``; returns that total norm
    (before clipping) as a 0-d Variable.

    As PyTorch: the scale is ``max_norm / (total_norm + 1e-6)`` clamped to 1, applied to every
    gradient; parameters without a gradient are skipped; with no gradient at all the norm is 0.
    ``foreach`` is accepted for PyTorch's signature and has no effect here.
    """
    params = _parameter_list("clip_grad_norm_", parameters)
    _check_grads("clip_grad_norm_", params)
    max_norm = _number("clip_grad_norm_", "max_norm", max_norm)
    p = _number("clip_grad_norm_", "norm_type", norm_type)
    grads = [param._grad for param in params if param._grad is not None]
    if not grads:
        return Variable(np.asarray(0.0, dtype=get_default_dtype()))
    dtype = np.result_type(*grads)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # inf, nan pass on
        norms = np.stack([_vector_norm(grad, p) for grad in grads]).astype(dtype)
        total = np.asarray(_vector_norm(norms, p), dtype=dtype)
        if error_if_nonfinite and not np.isfinite(total):
            raise InputError(  # a RuntimeError, as PyTorch raises
                f"The total norm of order {p} for gradients from `parameters` is non-finite, so "
                "it cannot be clipped. To disable this error and scale the gradients by the "
                "non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        coef = dtype.type(max_norm) / (total + dtype.type(1e-6))
        coef = np.minimum(coef, dtype.type(1.0))
        for grad in grads:
            grad *= coef.astype(grad.dtype)
    if hooks.ACTIVE:
        for hook in hooks.ACTIVE:
            hook.grad_clipped(max_norm, float(total))
    return Variable(total)


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of ``parameters`` in place to ``[-clip_value, clip_value]``.

    ``foreach`` is accepted for PyTorch's signature and has no effect here.
    """
    params = _parameter_list("clip_grad_value_", parameters)
    _check_grads("clip_grad_value_", params)
    clip_value = _number("clip_grad_value_", "clip_value", clip_value)
    for param in params:
        if param._grad is not None:
            np.clip(param._grad, -clip_value, clip_value, out=param._grad)


def parameters_to_vector(parameters: Any) -> Variable:
    """Every parameter flattened and concatenated into one 1-d Variable (differentiable)."""
    from gradviz.autograd.ops import concatenate

    params = _parameter_list("parameters_to_vector", parameters)
    if not params:
        raise ArgumentError("parameters_to_vector: expected a non-empty list of parameters")
    return concatenate([param.reshape(-1) for param in params])


def vector_to_parameters(vec: Variable, parameters: Any) -> None:
    """Set the data of each parameter from consecutive slices of the 1-d ``vec``.

    As PyTorch (``param.data = ...``): each parameter's data becomes a view of ``vec``'s data.
    """
    if not isinstance(vec, Variable):
        raise OperandError(f"expected a Variable, but got: {type(vec).__name__}")
    params = _parameter_list("vector_to_parameters", parameters)
    needed = sum(param.size for param in params)
    if vec.ndim != 1 or vec.size < needed:
        raise ShapeError(
            f"vector_to_parameters: vec must be 1-d with at least {needed} elements "
            f"(the parameters' total), got shape {vec.shape}"
        )
    start = 0
    for param in params:
        param._data = vec._data[start : start + param.size].reshape(param.shape)
        start += param.size
