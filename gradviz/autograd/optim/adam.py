"""``Adam`` (with ``amsgrad``) and ``AdamW``, in the order of operations of PyTorch's
single-tensor code path."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd.inplace import bump
from gradviz.autograd.optim.optimizer import Optimizer, _check, _check_pair, lerp_


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
    ) -> None:
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(eps >= 0, f"Invalid epsilon value: {eps}")
        _check_pair(betas, "betas")
        _check(0 <= betas[0] < 1, f"Invalid beta parameter at index 0: {betas[0]}")
        _check(0 <= betas[1] < 1, f"Invalid beta parameter at index 1: {betas[1]}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(self, p, grad, group, state):
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if group.get("maximize"):
            grad = -grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group.get("amsgrad"):
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        if weight_decay:
            if self._decoupled:
                p.data *= 1 - lr * weight_decay
                bump(p, "optimizer.step")  # PyTorch's param.mul_ is a write of its own
            else:
                grad = grad + weight_decay * p.data
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        # One scratch array for every temporary, in PyTorch's order of operations.
        tmp = self._scratch(np.result_type(p.data, grad), p.data.shape)
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
        step_size = lr / (1 - beta1**step)
        # A Python float (math.sqrt would also do): an np.float64 scalar would promote float32.
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group.get("amsgrad"):
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        np.sqrt(exp_avg_sq, out=tmp)  # denom = sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
        tmp /= bias_correction2_sqrt
        tmp += group["eps"]
        np.divide(exp_avg, tmp, out=tmp)  # p += -step_size * exp_avg / denom
        tmp *= -step_size
        p.data += tmp
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
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


__all__ = ["Adam", "AdamW"]
