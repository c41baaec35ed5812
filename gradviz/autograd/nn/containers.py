"""``ModuleList`` and ``ModuleDict``: sub-modules held in a list or a dict, registered so that
``named_parameters()`` names them by position or key (``blocks.1.weight``), as in PyTorch."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from gradviz.autograd.errors import ArgumentError, IndexRangeError, OperandError
from gradviz.autograd.nn.module import Module


class ModuleList(Module):
    """Sub-modules in a list: indexed (negative indices too), sliced (a new ModuleList),
    appended, extended, inserted; named ``0``, ``1`` ... by position."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, index: Any) -> int:
        """``index`` as a position in range (PyTorch's IndexError otherwise)."""
        try:
            index = operator.index(index)
        except TypeError:
            raise OperandError(
                f"ModuleList indices must be integers or slices, not {type(index).__name__}"
            ) from None
        if not -len(self) <= index < len(self):
            raise IndexRangeError(f"index {index} is out of range")
        return index % len(self)

    def _renumber(self, modules: list[Module]) -> None:
        """Hold exactly ``modules``, named by position."""
        for name in list(self._modules):
            delattr(self, name)
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(self._index(index))]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(self._index(index)), module)

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._index(index)]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add every module of ``modules`` at the end; returns self."""
        if not isinstance(modules, Iterable) or isinstance(modules, Module | str):
            raise OperandError(
                "ModuleList.extend should be called with an iterable, but got "
                f"{type(modules).__name__}"
            )
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        if not isinstance(module, Module):
            raise OperandError(f"{type(module).__name__} is not a Module subclass")
        modules = list(self._modules.values())
        modules.insert(operator.index(index), module)
        self._renumber(modules)

    def pop(self, index: int = -1) -> Module:
        """Remove the module at ``index`` and return it."""
        module = self[index]
        del self[index]
        return module

    def __repr__(self) -> str:
        """PyTorch's layout, with runs of identical modules folded: ``(0-2): 3 x ReLU()``."""
        reprs = [repr(module) for module in self]
        if not reprs:
            return f"{self._get_name()}()"
        runs: list[list[Any]] = []  # [first, last, text]
        for index, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = index
            else:
                runs.append([index, index, text])
        lines = []
        for first, last, text in runs:
            line = f"({first}): {text}"
            if first != last:
                line = f"({first}-{last}): {last - first + 1} x {text}"
            lines.append(line.replace("\n", "\n  "))
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Sub-modules in an ordered dict, with the dict API; named by their keys."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[Any] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            delattr(self, key)

    def pop(self, key: str) -> Module:
        """Remove the module under ``key`` and return it."""
        module = self[key]
        del self[key]
        return module

    def keys(self) -> list[str]:
        return list(self._modules.keys())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def update(self, modules: Mapping[str, Module] | Iterable[Any]) -> None:
        """Add or replace modules from a mapping or from ``(key, module)`` pairs."""
        if isinstance(modules, Mapping | ModuleDict):
            for key, module in modules.items():
                self[key] = module
            return
        if not isinstance(modules, Iterable) or isinstance(modules, Module | str):
            raise OperandError(
                "ModuleDict.update should be called with an iterable of key/value pairs, "
                f"but got {type(modules).__name__}"
            )
        for number, pair in enumerate(modules):
            if not isinstance(pair, Iterable) or isinstance(pair, str):
                raise OperandError(
                    f"ModuleDict update sequence element #{number} should be Iterable; "
                    f"is {type(pair).__name__}"
                )
            pair = tuple(pair)
            if len(pair) != 2:
                raise ArgumentError(
                    f"ModuleDict update sequence element #{number} has length {len(pair)}; "
                    "2 is required"
                )
            self[pair[0]] = pair[1]
