"""``Adam`` (with ``amsgrad``) and ``AdamW``, in the order of operations of PyTorch's
single-tensor code path."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd.inplace import bump
from gradviz.autograd.optim.optimizer import (
    Optimizer,
    _check,
    _check_numbers,
    _check_pair,
    implementation_flags,
    lerp_,
)


def adam_defaults(owner: str, lr: Any, betas: Any, eps: Any, weight_decay: Any) -> dict[str, Any]:
    """The settings every Adam-like optimizer takes, checked as PyTorch checks them."""
    _check_numbers(owner, lr=lr, eps=eps, weight_decay=weight_decay)
    _check(lr >= 0, f"Invalid learning rate: {lr}")
    _check(eps >= 0, f"Invalid epsilon value: {eps}")
    _check_pair(betas, "betas")
    _check(0 <= betas[0] < 1, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0 <= betas[1] < 1, f"Invalid beta parameter at index 1: {betas[1]}")
    _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
    return {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}


class Adam(Optimizer):
    """Adam with PyTorch's bias corrections, L2 ``weight_decay`` and ``amsgrad``."""

    #: AdamW's decoupled weight decay (``p *= 1 - lr * weight_decay``) instead of L2.
    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        defaults = adam_defaults(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, {**defaults, "amsgrad": amsgrad, "maximize": maximize})

    def _is_decoupled(self, group: dict[str, Any]) -> bool:
        """AdamW's weight decay or Adam's: a group loaded from PyTorch says which (its Adam
        and AdamW both save ``decoupled_weight_decay``, and follow the loaded value)."""
        return bool(group.get("decoupled_weight_decay", self._decoupled))

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        keys = ("step", "exp_avg", "exp_avg_sq")
        return (*keys, "max_exp_avg_sq") if group.get("amsgrad") else keys

    def _update_group(self, group: dict[str, Any]) -> None:
        """All of ``group``'s parameters at once when they can share flat state arrays (one
        NumPy call per operation for the whole group, not one per parameter); else one by
        one. The arithmetic, and so every value, is the same either way."""
        params = [p for p in group["params"] if p._grad is not None]
        flat = self._flat(group, params) if len(params) > 1 else None
        if flat is None:
            super()._update_group(group)
            return
        states = [self.state[p._id] for p in params]
        for state in states:
            state["step"] += 1
        grad = np.concatenate([p._grad.reshape(-1) for p in params], out=flat.grad)
        lr, weight_decay = group["lr"], group["weight_decay"]
        decoupled = self._is_decoupled(group)
        if weight_decay and not decoupled:  # grad + weight_decay * p, as one by one
            grad += weight_decay * np.concatenate([p._data.reshape(-1) for p in params])
        tmp = self._scratch(grad.dtype, grad.shape)
        _moments(flat.exp_avg, flat.exp_avg_sq, grad, tmp, group, states[0]["step"])
        decay = 1 - lr * weight_decay if weight_decay and decoupled else None
        for p, update in zip(params, np.split(tmp, flat.offsets), strict=True):
            if decay is not None:
                p._data *= decay
                bump(p, "optimizer.step")  # PyTorch's param.mul_ is a write of its own
            p._data += update.reshape(p._data.shape)
            bump(p, "optimizer.step")

    def _flat(self, group: dict[str, Any], params: list[Any]) -> _FlatState | None:
        """The flat state of ``params`` (their ``exp_avg`` and ``exp_avg_sq`` are views into
        it), made or remade when needed; None when they cannot share it (mixed dtypes or steps,
        ``amsgrad``, ``maximize``)."""
        if group.get("amsgrad") or group.get("maximize"):
            return None
        ids = tuple(p._id for p in params)
        cache = self.__dict__.setdefault("_flat_states", {})
        flat = cache.get(ids)
        states = [self.state.setdefault(p._id, {}) for p in params]
        if flat is not None and all(
            state.get("exp_avg") is m and state.get("exp_avg_sq") is v
            for state, m, v in zip(states, flat.exp_avgs, flat.exp_avg_sqs, strict=True)
        ):
            return flat
        dtype = params[0]._data.dtype
        if dtype.kind != "f" or any(
            p._data.dtype != dtype or p._grad.dtype != dtype for p in params
        ):
            return None
        if len({state.get("step", 0) for state in states}) != 1 or (
            states[0] and not all("exp_avg" in s and "exp_avg_sq" in s for s in states)
        ):
            return None
        flat = cache[ids] = _FlatState([p._data.shape for p in params], dtype)
        for state, m, v in zip(states, flat.exp_avgs, flat.exp_avg_sqs, strict=True):
            if state:  # loaded or kept one by one until now: copied in
                np.copyto(m, state["exp_avg"])
                np.copyto(v, state["exp_avg_sq"])
            else:
                state["step"] = 0
            state["exp_avg"], state["exp_avg_sq"] = m, v
        for key in [k for k in cache if k != ids and set(k) & set(ids)]:
            del cache[key]  # parameters now in another flat state
        return flat

    def _update(self, p, grad, group, state):
        lr, weight_decay = group["lr"], group["weight_decay"]
        if group.get("maximize"):
            grad = -grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
            if group.get("amsgrad"):
                state["max_exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        if weight_decay:
            if self._is_decoupled(group):
                p._data *= 1 - lr * weight_decay
                bump(p, "optimizer.step")  # PyTorch's param.mul_ is a write of its own
            else:
                grad = grad + weight_decay * p._data
        tmp = self._scratch(np.result_type(p._data, grad), p._data.shape)
        _moments(
            state["exp_avg"],
            state["exp_avg_sq"],
            grad,
            tmp,
            group,
            state["step"],
            state.get("max_exp_avg_sq"),
        )
        p._data += tmp
        bump(p, "optimizer.step")

    def _scratch(self, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """A reused array of ``shape`` (the updates' temporaries: no fresh parameter-sized
        arrays each step), not part of the optimizer's state."""
        size = math.prod(shape)
        buffers = self.__dict__.setdefault("_buffers", {})
        buffer = buffers.get(dtype)
        if buffer is None or buffer.size < size:
            buffer = buffers[dtype] = np.empty(size, dtype)
        return buffer[:size].reshape(shape)


class _FlatState:
    """One group's ``exp_avg`` and ``exp_avg_sq`` as two flat arrays, each parameter's state a
    view into them, and the flat gradient buffer."""

    def __init__(self, shapes: list[tuple[int, ...]], dtype: np.dtype) -> None:
        sizes = [math.prod(shape) for shape in shapes]
        self.offsets = list(itertools.accumulate(sizes))[:-1]
        self.exp_avg = np.zeros(sum(sizes), dtype)
        self.exp_avg_sq = np.zeros(sum(sizes), dtype)
        self.grad = np.empty(sum(sizes), dtype)
        self.exp_avgs = self._views(self.exp_avg, shapes)
        self.exp_avg_sqs = self._views(self.exp_avg_sq, shapes)

    def _views(self, flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
        pieces = np.split(flat, self.offsets)
        return [piece.reshape(shape) for piece, shape in zip(pieces, shapes, strict=True)]


def _moments(exp_avg, exp_avg_sq, grad, tmp, group, step, max_exp_avg_sq=None) -> None:
    """Update the moments in place and leave the parameter's update, ``-step_size * exp_avg /
    denom``, in ``tmp``: PyTorch's order of operations, one scratch array for every temporary."""
    beta1, beta2 = group["betas"]
    if 1 - beta1 < 0.5:  # exp_avg.lerp_(grad, 1 - beta1), PyTorch's formula for weights < 0.5
        np.subtract(grad, exp_avg, out=tmp)
        tmp *= 1 - beta1
        exp_avg += tmp
    else:
        lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    np.multiply(grad, 1 - beta2, out=tmp)  # exp_avg_sq += (1 - beta2) * grad * grad
    tmp *= grad
    exp_avg_sq += tmp
    step_size = group["lr"] / (1 - beta1**step)
    # A Python float (math.sqrt would also do): an np.float64 scalar would promote float32.
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        exp_avg_sq = max_exp_avg_sq
    np.sqrt(exp_avg_sq, out=tmp)  # denom = sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
    tmp /= bias_correction2_sqrt
    tmp += group["eps"]
    np.divide(exp_avg, tmp, out=tmp)  # p += -step_size * exp_avg / denom
    tmp *= -step_size


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), PyTorch's default 1e-2."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        **flags: Any,
    ) -> None:
        implementation_flags(type(self).__name__, flags)
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


__all__ = ["Adam", "AdamW"]
