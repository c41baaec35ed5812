"""``Module`` and ``Parameter``: PyTorch's way of grouping parameters and sub-layers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import OperandError, RegistrationError, StateDictError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.variable import Variable, as_array, get_default_dtype


class Parameter(Variable):
    """A Variable that requires grad and is registered by any Module it is assigned to.

    Plain Python floats and lists take the default dtype (float32); ndarrays keep theirs.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _is_parameter(value: Any) -> bool:
    """Parameters, and (friendlier than PyTorch) any leaf Variable that requires grad."""
    return isinstance(value, Parameter) or (
        isinstance(value, Variable) and value.requires_grad and value.is_leaf
    )


class Module:
    """Base class of layers and models: assign Parameters and Modules as attributes.

    Registration happens on attribute assignment: ``Parameter``\\ s, sub-``Module``\\ s and any
    leaf Variable with ``requires_grad=True`` are found by ``parameters()``, ``named_modules()``,
    ``state_dict()`` and the rest, in assignment order.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it and are called as ``module(x)``."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not hooks.ACTIVE:
            return self.forward(*args, **kwargs)
        for hook in hooks.ACTIVE:
            hook.module_enter(self, args)
        output = None
        try:
            output = self.forward(*args, **kwargs)
        finally:
            for hook in hooks.ACTIVE:
                hook.module_exit(self, output)
        return output

    # --------------------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Module):
            self._modules[name] = value
        elif _is_parameter(value):
            self._parameters[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Variable | None) -> None:
        """Register ``param`` under ``name`` (``None`` leaves an empty slot, as for no bias)."""
        self._check_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Variable):
            raise OperandError(
                f"cannot assign {type(param).__name__} object to parameter {name!r} "
                "(a Parameter, a Variable or None required)"
            )
        object.__setattr__(self, name, param)
        self._parameters.pop(name, None)  # None empties a slot that held a parameter
        if param is not None:
            self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise OperandError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name, self._modules)
        setattr(self, name, module)

    def _check_name(self, kind: str, name: Any, registered: dict[str, Any]) -> None:
        """PyTorch's rules for a registered name: a string, not empty, without a dot, and not
        an attribute of another kind (an empty slot, ``None``, may be filled)."""
        if not isinstance(name, str):
            raise OperandError(f"{kind} name should be a string. Got {type(name).__name__}")
        if not name:
            raise RegistrationError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise RegistrationError(f'{kind} name can\'t contain ".", got: {name}')
        if getattr(self, name, None) is not None and name not in registered:
            raise RegistrationError(f"attribute {name!r} already exists")

    # ------------------------------------------------------------------------------ iteration
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, each once, with dotted paths (``""`` for self)."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = [
                (f"{path}.{name}" if path else name, child)
                for name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, each once (see ``named_modules``)."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names."""
        yield from ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Variable]]:
        """Every parameter once (shared ones under their first path): ``fc1.weight``, ``0.bias``."""
        seen: set[int] = set()
        for path, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{path}.{name}" if path else name), param

    def parameters(self) -> Iterator[Variable]:
        """Every parameter once, in registration order (what optimizers take)."""
        for _, param in self.named_parameters():
            yield param

    # ------------------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and its descendants."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (PyTorch's default) or to zeros."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad.fill(0)  # in place, as PyTorch's grad.zero_()

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter's data by name."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters of the same names (in place, shapes checked).

        Every entry is checked before any is copied, so a failed load leaves the model as it was.
        Raises ``StateDictError`` (a ``RuntimeError``, as in PyTorch) listing every problem.
        """
        params = dict(self.named_parameters())
        problems = []
        if strict:
            missing = [n for n in params if n not in state_dict]
            unexpected = [n for n in state_dict if n not in params]
            if missing:
                problems.append("Missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
            if unexpected:
                problems.append(
                    "Unexpected key(s) in state_dict: " + ", ".join(map(repr, unexpected))
                )
        updates = []
        for name, value in state_dict.items():
            if name not in params:
                continue
            array, param = as_array(value), params[name]
            if array.shape != param.shape:
                problems.append(
                    f"size mismatch for {name}: copying a param with shape {array.shape} from "
                    f"checkpoint, the shape in current model is {param.shape}"
                )
            updates.append((param, array))
        if problems:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(problems)
            )
        with no_grad():  # as PyTorch: param.copy_(array), which bumps its version
            for param, array in updates:
                param.copy_(array)

    # ------------------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """One line of settings shown inside this module's repr."""
        return ""

    def __repr__(self) -> str:
        """PyTorch's layout: settings and then ``(name): child`` lines, children indented."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self._modules.items()
        ]
        if not child_lines and len(extra_lines) <= 1:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{type(self).__name__}(\n  {body}\n)"


def new_parameter(
    shape: tuple[int, ...], bound: float, generator: np.random.Generator
) -> Parameter:
    """A float parameter (default dtype) drawn uniformly from ``[-bound, bound)``."""
    data = generator.uniform(-bound, bound, size=shape).astype(get_default_dtype())
    return Parameter(data)
