"""The optimizer base class: parameter groups, per-parameter state, ``state_dict``."""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import OperandError, OptimizerError
from gradviz.autograd.grad_mode import enable_grad
from gradviz.autograd.higher import reset_grad
from gradviz.autograd.inplace import bump
from gradviz.autograd.variable import Variable, from_op, grad_problem


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise OptimizerError(message)


#: PyTorch's choices of how to run the same update (per-parameter loops or one kernel, CUDA
#: graphs): gradviz has one way, so they are accepted and change nothing
IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")


def implementation_flags(owner: str, flags: Mapping[str, Any]) -> None:
    """Check the keyword arguments an optimizer took beyond its own: PyTorch's
    :data:`IMPLEMENTATION_FLAGS`, ``differentiable=True`` refused (no higher-order gradients)."""
    for name in flags:
        if name not in IMPLEMENTATION_FLAGS:
            raise TypeError(f"{owner}.__init__() got an unexpected keyword argument {name!r}")
    if flags.get("differentiable"):
        raise OptimizerError(
            f"{owner}(differentiable=True): gradviz cannot differentiate through an optimizer "
            "step (no higher-order gradients)"
        )


def _check_numbers(owner: str, **values: Any) -> None:
    """Raise ``OperandError`` for a setting that is not a number (``lr="0.1"`` straight from
    argparse; the range checks would fail on ``"0.1" >= 0`` with Python's TypeError)."""
    for name, value in values.items():
        if not isinstance(value, numbers.Real | np.ndarray | Variable):
            raise OperandError(
                f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}"
            )


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
    target = p._data
    if target.size <= _BLOCK or target.shape != x.shape or not target.flags.c_contiguous:
        target += alpha * x
    else:
        flat_target, flat_x = target.reshape(-1), x.reshape(-1)
        for start in range(0, flat_target.size, _BLOCK):
            flat_target[start : start + _BLOCK] += alpha * flat_x[start : start + _BLOCK]
    bump(p, "optimizer.step")  # the optimizer_step hook event already tells the tracer


def addcdiv(p: Variable, value: float, numerator: np.ndarray, denominator: np.ndarray) -> None:
    """``p.addcdiv_(numerator, denominator, value=value)`` in PyTorch's order of operations
    (``p + value * numerator / denominator``), counted as an in-place write of ``p``."""
    p._data += value * numerator / denominator
    bump(p, "optimizer.step")


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start.lerp_(end, weight)`` with PyTorch's formula (exact at both ends)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class StateDictKeyError(OptimizerError, KeyError):
    """An optimizer state dict without the keys ``state_dict()`` writes (a KeyError, as
    PyTorch's ``KeyError: 'param_groups'``)."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else ""


def _check_saved(state_dict: Any, owner: str) -> None:
    """A readable error for a state dict that is not an optimizer's (a whole checkpoint, a
    model's state dict): PyTorch's is a bare ``KeyError: 'param_groups'``."""
    if not isinstance(state_dict, Mapping):
        raise OperandError(f"{owner}: expected a state dict, got {type(state_dict).__name__}")
    for key in ("state", "param_groups"):
        if key not in state_dict:
            keys = ", ".join(repr(k) for k in list(state_dict)[:4])
            raise StateDictKeyError(
                f"{owner}: the state dict has no {key!r}; an optimizer's state_dict() holds "
                f"'state' and 'param_groups', this one holds {keys or 'nothing'} (a model's "
                "state dict goes to model.load_state_dict)"
            )
    groups = state_dict["param_groups"]
    for index, group in enumerate(groups if isinstance(groups, list | tuple) else [None]):
        if not isinstance(group, Mapping) or "params" not in group:
            raise StateDictKeyError(f"{owner}: param_groups[{index}] has no 'params'")
        if not isinstance(group["params"], list | tuple):
            raise OperandError(
                f"{owner}: param_groups[{index}]['params'] must be a list of parameter "
                f"numbers, got {type(group['params']).__name__}"
            )
    state = state_dict["state"]
    if not isinstance(state, Mapping):
        raise OperandError(
            f"{owner}: 'state' must map parameter numbers to dicts, got {type(state).__name__}"
        )
    for index, values in state.items():
        if not isinstance(values, Mapping):
            raise OperandError(
                f"{owner}: the state of parameter {index!r} must be a dict, got "
                f"{type(values).__name__}"
            )


def check_scheduler_state(scheduler: Any, state_dict: Any, needed: tuple[str, ...]) -> None:
    """``lr_scheduler``'s check of a state dict to load: a readable error for what is not the
    scheduler's (``None``, the optimizer's state dict, another scheduler's), which
    ``__dict__.update`` would take in silence or fail on with a bare TypeError or KeyError."""
    owner = f"{type(scheduler).__name__}.load_state_dict"
    if not isinstance(state_dict, Mapping):
        raise OperandError(f"{owner}: expected a state dict, got {type(state_dict).__name__}")
    for key in needed:
        if key not in state_dict:
            keys = ", ".join(repr(k) for k in list(state_dict)[:4])
            hint = (
                " (an optimizer's state dict goes to optimizer.load_state_dict)"
                if "param_groups" in state_dict
                else ""
            )
            raise StateDictKeyError(
                f"{owner}: the state dict has no {key!r}, which {type(scheduler).__name__}."
                f"state_dict() holds; this one holds {keys or 'nothing'}{hint}"
            )
    groups = len(scheduler.optimizer.param_groups)
    for key in ("base_lrs", "min_lrs"):  # one per param group
        saved = state_dict.get(key)
        _check(
            not isinstance(saved, list | tuple) or len(saved) == groups,
            f"{owner}: the state dict's {key} has {len(saved or ())} values, one per param group "
            f"when it was saved; the optimizer has {groups} param groups",
        )


class ParamState(dict):
    """``optimizer.state``: each parameter's state, found by the parameter as in PyTorch
    (``optimizer.state[p]["exp_avg"]``); stored under the parameter's id, so a step's lookups
    cost nothing more than a dict's."""

    def __missing__(self, key: Any) -> dict[str, Any]:
        if isinstance(key, Variable) and key._id in self:
            return self[key._id]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key._id if isinstance(key, Variable) else key)

    def get(self, key: Any, default: Any = None) -> Any:
        """The state of ``key`` (a parameter or its id), or ``default``."""
        return dict.get(self, key._id if isinstance(key, Variable) else key, default)


class Optimizer:
    """Holds parameter groups (``param_groups``) and per-parameter ``state``."""

    defaults: dict[str, Any]
    #: State keys whose arrays cover every parameter at once (LBFGS's flat vectors), not one
    #: parameter's shape.
    _flat_state: frozenset[str] = frozenset()

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[int, dict[str, Any]] = ParamState()
        if isinstance(params, Variable) or not isinstance(params, Iterable):
            raise OperandError(
                "params argument given to the optimizer should be an iterable of Variables or "
                f"dicts, but got {type(params).__name__} (pass [p] or model.parameters())"
            )
        params = list(params)
        if not params:
            raise OptimizerError(f"{type(self).__name__} got an empty parameter list")
        self.param_groups: list[dict[str, Any]] = []
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with settings of its own; unset settings take the
        optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise OperandError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group.get("params")
        if isinstance(params, Variable):
            params = [params]
        elif isinstance(params, set):
            raise OperandError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of Variables in sets will change between runs. Please use a list instead."
            )
        elif params is None or not isinstance(params, Iterable):
            raise OperandError(f"param_group['params'] must be an iterable, got {params!r}")
        group = {**self.defaults, **param_group, "params": list(params)}
        seen = {p._id for g in self.param_groups for p in g["params"]}
        for p in group["params"]:
            if not isinstance(p, Variable):
                raise OperandError(
                    f"{type(self).__name__} can only optimize Variables, got a {type(p).__name__}"
                )
            if not p.is_leaf:
                raise OptimizerError(
                    f"{type(self).__name__} can't optimize a non-leaf Variable (output of {p.op})"
                )
            _check(p._id not in seen, "a parameter appears more than once in param_groups")
            seen.add(p._id)
        self.param_groups.append(group)

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``{"state": {index: {...}}, "param_groups": [{..., "params":
        [index, ...]}]}``, parameters numbered in group order. The state's arrays are Variables
        sharing the optimizer's own arrays (not copies), as PyTorch's tensors do."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(p._id, len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[p._id] for p in group["params"]]
            groups.append(packed)
        state = {
            index[key]: {k: _shared(v) for k, v in values.items()}
            for key, values in self.state.items()
            if key in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore settings and state saved by ``state_dict`` (copied, and cast to each
        parameter's dtype) onto this optimizer's parameters, matched by position."""
        _check_saved(state_dict, f"{type(self).__name__}.load_state_dict")
        state_dict = copy.deepcopy(state_dict)
        saved_groups = state_dict["param_groups"]
        _check(
            len(saved_groups) == len(self.param_groups),
            "loaded state dict has a different number of parameter groups "
            f"({len(saved_groups)}, expected {len(self.param_groups)})",
        )
        for ours, saved in zip(self.param_groups, saved_groups, strict=True):
            _check(
                len(ours["params"]) == len(saved["params"]),
                "loaded state dict contains a parameter group that doesn't match the size of "
                f"optimizer's group ({len(saved['params'])} parameters, expected "
                f"{len(ours['params'])})",
            )
        groups = [
            {**saved, "params": ours["params"]}
            for ours, saved in zip(self.param_groups, saved_groups, strict=True)
        ]
        for index, group in enumerate(groups):
            for key, value in _LATER_SETTINGS.items():
                if key in self.defaults:
                    group.setdefault(key, value)
            missing = [key for key in self.defaults if key not in group]
            _check(
                not missing,
                f"loaded state dict: param_groups[{index}] has no {_listed(missing)}, settings "
                f"of {type(self).__name__} (was it saved by another optimizer?)",
            )
        by_index = {
            index: (p, group)
            for group, saved in zip(groups, saved_groups, strict=True)
            for index, p in zip(saved["params"], group["params"], strict=True)
        }
        state = ParamState()  # complete before anything changes: a refused load changes nothing
        for index, values in state_dict["state"].items():
            _check(
                index in by_index,
                f"loaded state dict: 'state' has an entry for parameter {index!r}, which no "
                f"param group lists (they list {_listed(list(by_index)) or 'none'})",
            )
            p, group = by_index[index]
            missing = [key for key in self._state_keys(group) if values and key not in values]
            _check(
                not missing,
                f"loaded state dict: the state of parameter {index} has no {_listed(missing)} "
                f"(the {type(self).__name__} state of a parameter it has stepped holds "
                f"{_listed(self._state_keys(group))})",
            )
            state[p._id] = {
                k: _cast(k, v, p, index, k in self._flat_state) for k, v in values.items()
            }
        self.state, self.param_groups = state, groups

    def _state_keys(self, group: dict[str, Any]) -> tuple[str, ...]:
        """The keys of the state of a parameter stepped with ``group``'s settings (an empty
        state is also fine: it starts afresh)."""
        return ()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: to None (PyTorch's default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                reset_grad(p, set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` (PyTorch's: it zeroes the
        gradients, computes the loss, calls backward and returns the loss) runs first, with
        gradients on, and its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._step()
        return loss

    def _step(self) -> None:
        self._check_grads()
        self._opt_called = True  # an lr scheduler stepped before this warns, as PyTorch's
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
        """Raise for a gradient not of its parameter's shape (``p.data`` given another shape
        after backward, say): NumPy would broadcast it into the update silently."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad  # an array (assigning .grad checks the rest): ~0.1 us each
                if grad is not None and grad.shape != p._data.shape:
                    every = (q for g in self.param_groups for q in g["params"])
                    index = next(i for i, q in enumerate(every) if q is p)
                    error, text = grad_problem(p._data.shape, grad)
                    raise error(f"{type(self).__name__}.step(): parameter {index} has {text}")

    def _update_group(self, group: dict[str, Any]) -> None:
        """Update the parameters of ``group`` that have a gradient, one ``_update`` each."""
        for p in group["params"]:
            if p._grad is not None:
                self._update(p, p._grad, group, self.state.setdefault(p._id, {}))

    def _update(
        self, p: Variable, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        """The settings the parameter groups have now (a scheduler or a hand-set lr moves
        them): ``lr=0.1``, or ``weight_decay=[0.1, 0.0]`` when the groups differ."""
        settings = []
        for key, default in self.defaults.items():
            values = [group.get(key, default) for group in self.param_groups] or [default]
            shown = values[0] if all(v == values[0] for v in values) else values
            settings.append(f"{key}={shown}")
        return f"{type(self).__name__}({', '.join(settings)})"


def _cast(key: str, value: Any, p: Variable, index: Any, flat: bool = False) -> Any:
    """A loaded state value for ``p`` (parameter ``index`` of the saved state): arrays take a
    floating parameter's dtype, except ``step`` (as PyTorch's ``load_state_dict``); an array
    of another shape than the parameter's is refused now, not at the next ``step`` (unless
    ``flat``: a vector over every parameter, as LBFGS keeps)."""
    if isinstance(value, Variable):
        value = value._data
    if key == "step":
        return _step_count(value, index)
    if not isinstance(value, np.ndarray):
        return value
    if value.ndim == 0 and p.ndim:  # a one-number state (NAdam's mu_product, ASGD's eta)
        return value[()]
    _check(
        flat or value.shape == p.shape,
        f"loaded state dict: {key!r} of parameter {index} has shape {value.shape}, but the "
        f"parameter has shape {p.shape}",
    )
    if np.issubdtype(p.dtype, np.floating):
        return value.astype(p._data.dtype, copy=False)
    return value


#: Settings that PyTorch added later, with the value older state dicts mean (PyTorch's
#: ``Optimizer.__setstate__`` fills them the same way).
_LATER_SETTINGS = {"maximize": False}


def _listed(keys: list[Any]) -> str:
    return ", ".join(repr(key) for key in keys)


def _shared(value: Any) -> Any:
    """A state value as ``state_dict`` gives it: an array as a Variable sharing it."""
    return from_op(value, None) if isinstance(value, np.ndarray) else value


def _step_count(value: Any, index: Any) -> Any:
    """A loaded ``step`` as a Python number: PyTorch keeps it in a one-element float32 tensor,
    which arrives here as an array (``tensor.numpy()``); counting on in float32 would round
    the bias corrections."""
    if isinstance(value, np.ndarray | np.generic):
        _check(
            np.size(value) == 1 and np.issubdtype(value.dtype, np.number),
            f"loaded state dict: 'step' of parameter {index} must be a number, got an array of "
            f"shape {np.shape(value)} and dtype {value.dtype}",
        )
        value = value.item()
    _check(
        isinstance(value, int | float) and not isinstance(value, bool),
        f"loaded state dict: 'step' of parameter {index} must be a number, got "
        f"{type(value).__name__} {value!r}",
    )
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
