"""``ParameterList`` and ``ParameterDict``: parameters held in a list or a dict, registered so
that ``named_parameters()`` names them by position or key (``params.0``), as in PyTorch.
A Variable put in one becomes a Parameter (sharing its data), as PyTorch makes it."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from gradviz.autograd.errors import IndexRangeError, OperandError
from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.variable import Variable


def _parameter(value: Any, container: str) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Variable):
        return Parameter(value._data)
    raise OperandError(f"{container} holds Parameters or Variables, got {type(value).__name__}")


def _line(key: str, p: Parameter) -> str:
    size = "x".join(str(n) for n in p.shape)
    return f"  ({key}): Parameter containing: [{p.dtype} of size {size}]"


class ParameterList(Module):
    """Parameters in a list: indexed (negative indices too), appended, extended; named
    ``0``, ``1`` ... by position."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, index: Any) -> int:
        try:
            index = operator.index(index)
        except TypeError:
            raise OperandError(
                f"ParameterList indices must be integers, not {type(index).__name__}"
            ) from None
        if not -len(self) <= index < len(self):
            raise IndexRangeError(f"index {index} is out of range")
        return index % len(self)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return type(self)(list(self)[index])
        return self._parameters[str(self._index(index))]

    def __setitem__(self, index: int, value: Any) -> None:
        self.register_parameter(str(self._index(index)), _parameter(value, "ParameterList"))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end; returns self."""
        self.register_parameter(str(len(self)), _parameter(value, "ParameterList"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add every value of ``values`` at the end; returns self."""
        if not isinstance(values, Iterable) or isinstance(values, Variable | str):
            raise OperandError(
                "ParameterList.extend should be called with an iterable, but got "
                f"{type(values).__name__}"
            )
        for value in list(values):
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_line(k, p) for k, p in self._parameters.items())

    def __repr__(self) -> str:
        body = self.extra_repr()
        return f"{self._get_name()}(\n{body}\n)" if body else f"{self._get_name()}()"


class ParameterDict(Module):
    """Parameters in an ordered dict, with the dict API; named by their keys."""

    def __init__(self, parameters: Mapping[str, Any] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.register_parameter(key, _parameter(value, "ParameterDict"))

    def __delitem__(self, key: str) -> None:
        if key not in self._parameters:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> list[str]:
        return list(self._parameters.keys())

    def values(self) -> list[Parameter]:
        return list(self._parameters.values())

    def items(self) -> list[tuple[str, Parameter]]:
        return list(self._parameters.items())

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default``."""
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter:
        """Remove the parameter under ``key`` and return it."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every parameter."""
        for key in list(self._parameters):
            delattr(self, key)

    def update(self, parameters: Mapping[str, Any] | Iterable[Any]) -> None:
        """Add or replace parameters from a mapping or from ``(key, value)`` pairs."""
        pairs = (
            parameters.items() if isinstance(parameters, Mapping | ParameterDict) else parameters
        )
        if not isinstance(pairs, Iterable) or isinstance(pairs, Variable | str):
            raise OperandError(
                "ParameterDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(parameters).__name__}"
            )
        for pair in pairs:
            key, value = pair
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(_line(k, p) for k, p in self._parameters.items())

    def __repr__(self) -> str:
        body = self.extra_repr()
        return f"{self._get_name()}(\n{body}\n)" if body else f"{self._get_name()}()"
