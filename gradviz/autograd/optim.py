"""Optimizers with PyTorch's exact update rules: ``SGD`` and ``Adam``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import OperandError, OptimizerError, ShapeError
from gradviz.autograd.inplace import bump
from gradviz.autograd.variable import Variable


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise OptimizerError(message)


def _check_pair(value: Any, name: str) -> None:
    """Raise ``OperandError`` unless ``value`` is a pair of real numbers (Adam's ``betas``)."""
    try:
        first, second = value
        float(first), float(second)
    except (TypeError, ValueError):
        raise OperandError(
            f"Invalid {name}: expected a pair of floats (beta1, beta2), got {value!r}"
        ) from None


#: Elements per block in ``add_scaled``: big enough to amortise the loop, small enough to stay
#: in cache.
_BLOCK = 1 << 16


def add_scaled(p: Variable, alpha: float, x: np.ndarray) -> None:
    """``p.add_(x, alpha=alpha)`` under ``no_grad``: the update writes ``p``'s array in place and
    counts as an in-place write (its ``_version`` goes up, as in PyTorch).

    Big arrays go block by block: a parameter-sized temporary every step costs more than the
    arithmetic (glibc's malloc returns it to the OS, so each step page-faults it back in).
    """
    target = p.data
    if target.size <= _BLOCK or target.shape != x.shape or not target.flags.c_contiguous:
        target += alpha * x
    else:
        flat_target, flat_x = target.reshape(-1), x.reshape(-1)
        for start in range(0, flat_target.size, _BLOCK):
            flat_target[start : start + _BLOCK] += alpha * flat_x[start : start + _BLOCK]
    bump(p, "optimizer.step")  # the optimizer_step hook event already tells the tracer


class Optimizer:
    """Holds parameter groups (``param_groups``) and per-parameter ``state``."""

    defaults: dict[str, Any]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[int, dict[str, Any]] = {}
        if isinstance(params, Variable) or not isinstance(params, Iterable):
            raise OperandError(
                "params argument given to the optimizer should be an iterable of Variables or "
                f"dicts, but got {type(params).__name__} (pass [p] or model.parameters())"
            )
        params = list(params)
        if not params:
            raise OptimizerError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict[str, Any]] = []
        seen: set[int] = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            for p in group["params"]:
                if not isinstance(p, Variable):
                    raise OperandError(
                        f"{type(self).__name__} can only optimize Variables, got a "
                        f"{type(p).__name__}"
                    )
                if not p.is_leaf:
                    raise OptimizerError(
                        f"{type(self).__name__} can't optimize a non-leaf Variable "
                        f"(output of {p.op})"
                    )
                _check(p._id not in seen, "a parameter appears more than once in param_groups")
                seen.add(p._id)
            self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: to None (PyTorch's default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.fill(0)  # in place, as PyTorch's grad.zero_()

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self._check_grads()
        active = hooks.ACTIVE
        if active:
            for hook in active:
                hook.optimizer_step(self, "begin")
        for group in self.param_groups:
            self._update_group(group)
        if active:
            for hook in active:
                hook.optimizer_step(self, "end")

    def _check_grads(self) -> None:
        """Raise ``ShapeError`` for a gradient not of its parameter's shape (NumPy would
        broadcast it into the update silently)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is not None and grad.shape != p.data.shape:  # ~0.1 us per parameter
                    every = (q for g in self.param_groups for q in g["params"])
                    index = next(i for i, q in enumerate(every) if q is p)
                    raise ShapeError(
                        f"{type(self).__name__}.step(): parameter {index} has shape {p.shape} "
                        f"but its gradient has shape {grad.shape}; expected a gradient of the "
                        "parameter's shape"
                    )

    def _update_group(self, group: dict[str, Any]) -> None:
        """Update the parameters of ``group`` that have a gradient, one ``_update`` each."""
        for p in group["params"]:
            if p.grad is not None:
                self._update(p, p.grad, group, self.state.setdefault(p._id, {}))

    def _update(
        self, p: Variable, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's momentum, dampening and Nesterov rules."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ) -> None:
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(momentum >= 0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            "Nesterov momentum requires a momentum and zero dampening",
        )
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
            },
        )

    def _update_group(self, group):
        if group["momentum"] or group["weight_decay"]:
            super()._update_group(group)
            return
        # Plain SGD keeps no state: one loop, no call per parameter (~0.3 us per parameter).
        lr = group["lr"]
        for p in group["params"]:
            if p.grad is not None:
                add_scaled(p, -lr, p.grad)

    def _update(self, p, grad, group, state):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        add_scaled(p, -group["lr"], grad)


class Adam(Optimizer):
    """Adam with PyTorch's bias corrections and L2 ``weight_decay``."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
    ) -> None:
        _check(lr >= 0, f"Invalid learning rate: {lr}")
        _check(eps >= 0, f"Invalid epsilon value: {eps}")
        _check_pair(betas, "betas")
        _check(0 <= betas[0] < 1, f"Invalid beta parameter at index 0: {betas[0]}")
        _check(0 <= betas[1] < 1, f"Invalid beta parameter at index 1: {betas[1]}")
        _check(weight_decay >= 0, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(
            params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )

    def _update(self, p, grad, group, state):
        beta1, beta2 = group["betas"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = group["lr"] / (1 - beta1**step)
        # math.sqrt keeps a Python float: an np.float64 scalar would promote float32 to float64.
        denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2**step) + group["eps"]
        add_scaled(p, -step_size, exp_avg / denom)
