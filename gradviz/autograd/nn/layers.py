"""Layers and losses as Modules, each a thin wrapper over ``functional``."""

from __future__ import annotations

import math
import operator
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from gradviz.autograd import functional as F
from gradviz.autograd import rng
from gradviz.autograd.errors import ArgumentError, IndexRangeError, InputError, OperandError
from gradviz.autograd.functional_losses import weight_or_reduction
from gradviz.autograd.nn.casting import place
from gradviz.autograd.nn.module import Module, new_parameter
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable, as_array


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight ``(out_features, in_features)``.

    Initialised as PyTorch does: weight and bias uniform in ``±1/sqrt(in_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        in_features = layer_size("Linear", "in_features", in_features)
        out_features = layer_size("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        generator = rng.default_generator()
        self.weight = new_parameter((out_features, in_features), bound, generator)
        if bias:
            self.bias = new_parameter((out_features,), bound, generator)
        else:
            self.register_parameter("bias", None)
        place(self, device, dtype)

    def forward(self, x: Variable) -> Variable:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def layer_index(layer: str, name: str, value: Any) -> int:
    """An integer setting of a layer (``OperandError`` for a float, a bool, a string)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise OperandError(
            f"{layer}: {name} must be an integer, got {type(value).__name__} {value!r}"
        ) from None


def layer_size(layer: str, name: str, value: Any) -> int:
    """A layer size: an integer >= 0 (``OperandError`` for other types, ``InputError`` if < 0)."""
    size = layer_index(layer, name, value)
    if size < 0:
        raise InputError(
            f"{layer}: {name} must be >= 0, got {size} (Trying to create tensor with negative "
            "dimension)"
        )
    return size


class Sequential(Module):
    """Modules applied in order; parameters are named by position (``0.weight``), or by the
    keys of one ``OrderedDict`` argument. Indexed, sliced, edited (``append``, ``insert``,
    ``extend``, ``pop``, ``del``) and combined (``+``, ``*``) as PyTorch's."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):  # named, as PyTorch's
            for name, module in modules[0].items():
                self.add_module(name, module)
            return
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        """One module by position, or (for a slice) a Sequential keeping the original names."""
        if isinstance(index, slice):
            part = Sequential()
            for name, module in list(self._modules.items())[index]:
                part.add_module(name, module)
            return part
        return list(self._modules.values())[self._position(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace the module at position ``index``, keeping its name (as PyTorch)."""
        self.add_module(list(self._modules)[self._position(index)], module)

    def _position(self, index: Any) -> int:
        """``index`` checked against the length (PyTorch's IndexError, not the list's)."""
        try:
            index = operator.index(index)
        except TypeError:
            raise OperandError(
                f"Sequential indices must be integers or slices, not {type(index).__name__}"
            ) from None
        if not -len(self) <= index < len(self):
            raise IndexRangeError(f"index {index} is out of range")
        return index

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position) and return self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append every module of ``modules``; returns self."""
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Put ``module`` before position ``index``; modules are renumbered. Returns self."""
        if not isinstance(module, Module):
            raise OperandError(f"module should be of type: {Module.__name__}")
        index = operator.index(index)
        if not -len(self) <= index <= len(self):
            raise IndexRangeError(f"Index out of range: {index}")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def __delitem__(self, index: int | slice) -> None:
        """Remove one module or a slice of them; the rest are renumbered, as in PyTorch."""
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._renumber(modules)

    def pop(self, index: int | slice) -> Module:
        """Remove the module (or Sequential of modules) at ``index`` and return it."""
        module = self[index]
        del self[index]
        return module

    def _renumber(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def __add__(self, other: Sequential) -> Sequential:
        return Sequential(*self, *_sequential("add", other))

    def __iadd__(self, other: Sequential) -> Sequential:
        return self.extend(list(_sequential("add", other)))

    def __mul__(self, times: int) -> Sequential:
        if isinstance(times, bool) or not isinstance(times, int):
            raise OperandError(
                f"unsupported operand type(s) for *: Sequential and {type(times).__name__}"
            )
        if times <= 0:
            raise ArgumentError(f"Non-positive multiplication factor {times} for Sequential")
        return Sequential(*(list(self) * times))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> Sequential:
        self._renumber(list(self * times))
        return self


def _sequential(operation: str, other: Any) -> Sequential:
    if not isinstance(other, Sequential):
        raise ArgumentError(
            f"{operation} operator supports only objects of Sequential class, but "
            f"{type(other).__name__} is given."
        )
    return other


def inplace_repr(inplace: bool, first: bool = False) -> str:
    """The ``inplace`` part of an activation's repr: shown only when True (after a comma
    unless first), as PyTorch's."""
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class InplaceActivation(Module):
    """An activation with only an ``inplace`` option (``nn.ReLU(inplace=True)`` writes its
    result into its input, recorded as ``Relu_``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return inplace_repr(self.inplace, first=True)


class ReLU(InplaceActivation):
    def forward(self, x: Variable) -> Variable:
        return F.relu(x, self.inplace)


class Sigmoid(Module):
    def forward(self, x: Variable) -> Variable:
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x: Variable) -> Variable:
        return F.tanh(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Variable) -> Variable:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{inplace_repr(self.inplace)}"


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Variable) -> Variable:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Variable) -> Variable:
        return F.softmax(x, self.dim, 5)  # no dim: PyTorch's legacy choice and warning

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    """Zeroes elements with probability ``p`` in training mode; the identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        F.check_dropout_probability(p)  # at construction, as PyTorch checks it
        self.p = p
        self.inplace = inplace

    def forward(self, x: Variable) -> Variable:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zeroes whole channels of (N, C, L) or (C, L) in training mode."""

    def forward(self, x: Variable) -> Variable:
        return F.dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) in training mode."""

    def forward(self, x: Variable) -> Variable:
        return F.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) in training mode."""

    def forward(self, x: Variable) -> Variable:
        return F.dropout3d(x, self.p, self.training, self.inplace)


class Flatten(Module):
    """Merge the dims ``start_dim`` to ``end_dim`` (inclusive) into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Variable) -> Variable:
        return as_variable(x, "Flatten").flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """Returns its input; any constructor arguments are ignored, as PyTorch's (so that it can
    stand in for a layer built with arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class _Loss(Module):
    """The losses' base (PyTorch's ``nn.modules.loss._Loss``, which custom losses subclass):
    ``self.reduction``, from PyTorch's arguments or a reduction given first."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean"):
        super().__init__()
        if isinstance(size_average, str):  # the reduction, given first as gradviz's losses do
            size_average, reduction = None, size_average
        self.reduction = _legacy_reduction(size_average, reduce, reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    def forward(self, input: Variable, target: Any) -> Variable:
        return F.mse_loss(input, target, self.reduction)


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` and ``reduce``, turned into a ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction instead.",
        UserWarning,
        stacklevel=4,
    )
    if reduce is not None and not reduce:
        return "none"
    return "sum" if size_average is not None and not size_average else "mean"


class _WeightedLoss(_Loss):
    """A loss with an optional ``weight`` buffer, PyTorch's first argument (a string there is
    the ``reduction``, as gradviz's losses took it)."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        if isinstance(weight, str):  # the reduction, given first as gradviz's losses took it
            reduction, weight = weight_or_reduction(weight, None)
        super().__init__(_legacy_reduction(size_average, reduce, reduction))
        if weight is not None and not isinstance(weight, Variable):
            weight = Variable(as_array(weight))
        self.register_buffer("weight", weight)


class _ClassLoss(_WeightedLoss):
    """A loss of integer class targets; targets equal to ``ignore_index`` add nothing."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing


class CrossEntropyLoss(_ClassLoss):
    def forward(self, input: Variable, target: Any) -> Variable:
        return F.cross_entropy(
            input,
            target,
            self.reduction,
            self.ignore_index,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_ClassLoss):
    def forward(self, input: Variable, target: Any) -> Variable:
        return F.nll_loss(input, target, self.reduction, self.ignore_index, weight=self.weight)


class BCELoss(_WeightedLoss):
    def forward(self, input: Variable, target: Any) -> Variable:
        return F.binary_cross_entropy(input, target, self.reduction, weight=self.weight)


class BCEWithLogitsLoss(_WeightedLoss):
    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        pos_weight: Any = None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Variable):
            pos_weight = Variable(as_array(pos_weight))
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Variable, target: Any) -> Variable:
        return F.binary_cross_entropy_with_logits(
            input, target, self.reduction, weight=self.weight, pos_weight=self.pos_weight
        )
