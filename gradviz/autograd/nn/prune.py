"""``nn.utils.prune`` as PyTorch's: a pruned parameter ``name`` becomes ``name_orig`` (the
parameter trained) and a buffer ``name_mask``; a forward pre-hook (the pruning method itself,
in ``module._forward_pre_hooks``) sets ``module.name = name_orig * name_mask`` before each
forward, so the graph shows the product. Pruning a parameter again prunes what is left of it
(a ``PruningContainer``); ``remove`` makes the pruning permanent."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, OperandError, ShapeError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn.module import Module
from gradviz.autograd.variable import Variable

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "PruningContainer",
    "RandomStructured",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "random_structured",
    "random_unstructured",
    "remove",
]


class BasePruningMethod:
    """A pruning method: ``compute_mask(t, default_mask)`` says which entries stay (1) and
    which are pruned (0); the instance is the forward pre-hook of the module it pruned."""

    PRUNING_TYPE = "unstructured"
    _tensor_name: str

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        """The mask of ``t`` (1 kept, 0 pruned), within ``default_mask``."""
        raise NotImplementedError

    def apply_mask(self, module: Module) -> Variable:
        """``name_orig * name_mask`` of ``module``."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(orig.dtype) * orig

    @classmethod
    def apply(
        cls, module: Module, name: str, *args: Any, importance_scores: Any = None, **kwargs: Any
    ) -> BasePruningMethod:
        """Prune ``module.name`` with a new ``cls(*args, **kwargs)`` (combined with the method
        that pruned it before, if any) and return the method now in the pre-hook."""
        method, replaced = _composite(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise ShapeError(
                f"importance_scores should have the same shape as parameter {name} of {module}"
            )
        if replaced is None:
            default_mask = Variable(np.ones_like(orig._data))
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        with no_grad():  # before any change: a refused amount leaves the module as it was
            mask = method.compute_mask(scores.detach(), default_mask=default_mask)
        if replaced is None:
            delattr(module, name)
            module.register_parameter(name + "_orig", orig)
        else:
            del module._forward_pre_hooks[replaced]
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t: Variable, default_mask: Any = None, importance_scores: Any = None) -> Any:
        """``t`` times the mask this method computes for it (no module involved)."""
        scores = t if importance_scores is None else importance_scores
        mask = Variable(np.ones_like(t._data)) if default_mask is None else default_mask
        with no_grad():
            mask = self.compute_mask(scores, default_mask=mask)
        return t * mask.to(t.dtype)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``name`` a parameter again, holding the product."""
        with no_grad():
            weight = self.apply_mask(module)
        delattr(module, self._tensor_name)
        orig = module._parameters.pop(self._tensor_name + "_orig")
        delattr(module, self._tensor_name + "_orig")
        delattr(module, self._tensor_name + "_mask")
        orig.data = weight.detach()
        setattr(module, self._tensor_name, orig)


def _composite(cls: type, module: Module, name: str, *args: Any, **kwargs: Any) -> Any:
    """The new method (in a container with the one that pruned ``name`` before) and the key
    of that one's pre-hook, to be replaced (None if ``name`` is not pruned yet)."""
    hooks = module.__dict__.get("_forward_pre_hooks") or {}
    old = [
        k for k, h in hooks.items() if isinstance(h, BasePruningMethod) and h._tensor_name == name
    ]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if not old:
        return method, None
    previous = hooks[old[0]]
    container = PruningContainer(*previous) if isinstance(previous, PruningContainer) else None
    container = container or PruningContainer(previous)
    container.add_pruning_method(method)
    return container, old[0]


class PruningContainer(BasePruningMethod):
    """The methods that pruned one parameter in turn: each prunes what the ones before left."""

    def __init__(self, *methods: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if len(methods) == 1 and not isinstance(methods[0], BasePruningMethod):
            methods = tuple(methods[0])
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Add ``method`` after the others (of the same parameter)."""
        if not isinstance(method, BasePruningMethod):
            raise OperandError(f"{type(method).__name__} is not a BasePruningMethod subclass")
        if self._pruning_methods and method._tensor_name != self._tensor_name:
            raise ArgumentError(
                f"Can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}' to PruningContainer. Found '{method._tensor_name}'"
            )
        self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Any:
        return iter(self._pruning_methods)

    def __getitem__(self, index: int) -> BasePruningMethod:
        return self._pruning_methods[index]

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        """The last method's mask of the entries (or channels) the mask left."""
        method = self._pruning_methods[-1]
        mask = default_mask._data.astype(t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            where: Any = mask == 1
        elif method.PRUNING_TYPE == "structured":
            dim = method.dim % t.ndim  # type: ignore[attr-defined]
            others = tuple(d for d in range(t.ndim) if d != dim)
            where = [slice(None)] * t.ndim
            where[dim] = mask.sum(axis=others) != 0
            where = tuple(where)
        else:
            where = (slice(None),) * t.ndim
        part = method.compute_mask(Variable(t._data[where]), Variable(mask[where]))
        mask = mask.copy()
        mask[where] = part._data
        return Variable(mask)


class Identity(BasePruningMethod):
    """Prunes nothing (a mask of ones)."""

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> Identity:  # type: ignore[override]
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries (a count, or a fraction) drawn at random."""

    def __init__(self, amount: Any) -> None:
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        count = _count(self.amount, t.numel())
        mask = default_mask._data.copy()
        if count:
            scores = rng.pick(None).random(t._data.size)
            mask.reshape(-1)[np.argsort(-scores, kind="stable")[:count]] = 0
        return Variable(mask)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (a count, or a fraction) of smallest absolute value."""

    def __init__(self, amount: Any) -> None:
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        count = _count(self.amount, t.numel())
        mask = default_mask._data.copy()
        if count:
            mask.reshape(-1)[np.argsort(np.abs(t._data).reshape(-1), kind="stable")[:count]] = 0
        return Variable(mask)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` channels (slices along ``dim``) drawn at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        _check_structured(t)
        count = _count(self.amount, t.shape[self.dim])
        if not count:
            return default_mask
        order = np.argsort(-rng.pick(None).random(t.shape[self.dim]), kind="stable")
        return _channels(t, self.dim, order[count:], default_mask)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels (slices along ``dim``) of smallest ``n``-norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: Any, n: Any, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        _check_structured(t)
        count = _count(self.amount, t.shape[self.dim])
        if not count:
            return default_mask
        dim = self.dim % t.ndim
        flat = np.moveaxis(t._data, dim, 0).reshape(t.shape[dim], -1)
        norms = np.linalg.norm(flat, ord=self.n, axis=1) if self.n != "fro" else None
        norms = np.linalg.norm(flat, axis=1) if norms is None else norms
        keep = np.argsort(-norms, kind="stable")[: t.shape[dim] - count]
        return _channels(t, dim, keep, default_mask)


class CustomFromMask(BasePruningMethod):
    """Prunes where ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Any) -> None:
        self.mask = mask

    def compute_mask(self, t: Variable, default_mask: Variable) -> Variable:
        mask = self.mask._data if isinstance(self.mask, Variable) else np.asarray(self.mask)
        return Variable(default_mask._data * mask.astype(default_mask.dtype))

    @classmethod
    def apply(cls, module: Module, name: str, mask: Any) -> CustomFromMask:  # type: ignore[override]
        return super().apply(module, name, mask=mask)


def _check_amount(amount: Any) -> None:
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):
        raise OperandError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0
    ):
        raise ArgumentError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative "
            "integer"
        )


def _count(amount: Any, size: int) -> int:
    """How many of ``size`` to prune: ``amount`` itself, or its fraction, rounded."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ArgumentError(
                f"amount={amount} should be smaller than the number of parameters to prune={size}"
            )
        return int(amount)
    return round(float(amount) * size)


def _check_structured(t: Variable) -> None:
    if t.ndim <= 1:
        raise ShapeError(
            "Structured pruning can only be applied to multidimensional tensors. Found tensor "
            f"of shape {tuple(t.shape)} with {t.ndim} dims"
        )


def _channels(t: Variable, dim: int, keep: np.ndarray, default_mask: Variable) -> Variable:
    """Ones in the channels ``keep`` along ``dim``, zeros elsewhere, times ``default_mask``."""
    mask = np.zeros(t.shape, default_mask.dtype)
    where: list[Any] = [slice(None)] * t.ndim
    where[dim] = np.sort(keep)
    mask[tuple(where)] = 1
    return Variable(mask * default_mask._data)


def identity(module: Module, name: str) -> Module:
    """Prune nothing of ``module.name`` (its mask all ones), as the others do it."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: Any) -> Module:
    """Prune ``amount`` entries of ``module.name`` at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(
    module: Module, name: str, amount: Any, importance_scores: Any = None
) -> Module:
    """Prune the ``amount`` entries of ``module.name`` of smallest absolute value (of
    ``importance_scores`` when given)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: Any, dim: int) -> Module:
    """Prune ``amount`` channels along ``dim`` of ``module.name`` at random."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(
    module: Module, name: str, amount: Any, n: Any, dim: int, importance_scores: Any = None
) -> Module:
    """Prune the ``amount`` channels along ``dim`` of ``module.name`` of smallest ``n``-norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Any) -> Module:
    """Prune ``module.name`` where ``mask`` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: type,
    importance_scores: dict[tuple[Module, str], Any] | None = None,
    **kwargs: Any,
) -> None:
    """Prune the parameters ``(module, name)`` together: ``pruning_method(**kwargs)`` (an
    unstructured one) chooses among all their entries at once."""
    pairs = list(parameters)
    scores = importance_scores or {}
    values = [(scores.get((m, n)), getattr(m, n)) for m, n in pairs]
    flat = np.concatenate([np.ravel((s if s is not None else v)._data) for s, v in values])
    masks = [getattr(m, n + "_mask", None) for m, n in pairs]
    default = np.concatenate(
        [
            np.ones(v.numel()) if k is None else np.ravel(k._data)
            for k, (_, v) in zip(masks, values, strict=True)
        ]
    )
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise OperandError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {method.PRUNING_TYPE}"
        )
    method._tensor_name = "temp"
    container = PruningContainer(method)
    final = container.compute_mask(Variable(flat), Variable(default))._data
    start = 0
    for (module, name), (_, value) in zip(pairs, values, strict=True):
        size = value.numel()
        custom_from_mask(module, name, final[start : start + size].reshape(value.shape))
        start += size


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.name`` permanent: one parameter again, its pruned entries
    zeros, and no pre-hook."""
    hooks = module.__dict__.get("_forward_pre_hooks") or {}
    for key, hook in list(hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del hooks[key]
            return module
    raise ArgumentError(
        f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
    )


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or one of its submodules has a pruned parameter."""
    return any(
        isinstance(hook, BasePruningMethod)
        for m in module.modules()
        for hook in (m.__dict__.get("_forward_pre_hooks") or {}).values()
    )
