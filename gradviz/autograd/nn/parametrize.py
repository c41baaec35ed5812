"""``nn.utils.parametrize``: a parameter or buffer computed from others on every access.

``register_parametrization(module, "weight", p)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (or ``original0``, ``original1`` ... when ``p`` has
a ``right_inverse`` returning several tensors) and makes ``weight`` a property that runs the
parametrizations each time it is read. The computation is ordinary ops, so graphs show where
the weight comes from, inside the ``parametrizations.weight`` module. As PyTorch, the module's
class becomes ``Parametrized<Class>``, a subclass, and state dict keys are PyTorch's.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from typing import Any

from gradviz.autograd.errors import ArgumentError, OperandError, StateDictError
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.nn.containers import ModuleDict, ModuleList
from gradviz.autograd.nn.module import Module, Parameter
from gradviz.autograd.variable import Variable

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "type_before_parametrizations",
]


def _register(module: Module, name: str, value: Variable) -> None:
    """``value`` as a parameter of ``module`` if it is one, else as a buffer."""
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def check_unchanged(value: Any, shape: tuple[int, ...], dtype: Any) -> None:
    """PyTorch's checks that a parametrization keeps the tensor's shape and dtype (unless
    registered with ``unsafe=True``)."""
    if not isinstance(value, Variable):
        raise OperandError(f"A parametrization must return a tensor. Got {type(value).__name__}.")
    for what, before, after in (("dtype", dtype, value.dtype), ("shape", shape, value.shape)):
        if before != after:
            raise ArgumentError(
                f"Registering a parametrization may not change the {what} of the tensor, unless "
                f"`unsafe` flag is enabled.\nunparametrized {what}: {before}\nparametrized "
                f"{what}: {after}"
            )


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in order, and the tensors they start from
    (``original``, or ``original0`` ... for a first parametrization taking several)."""

    def __init__(self, modules: Sequence[Module], original: Variable, unsafe: bool = False):
        super().__init__(modules)
        self.unsafe = unsafe
        new: Any = original
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        if not isinstance(new, Variable | Sequence):
            raise OperandError(
                "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...)."
                f" Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Variable)
        self.ntensors = 1 if self.is_tensor else len(new)
        shape, dtype = original.shape, original.dtype
        self._keep_originals(original, new)
        if not unsafe:
            with no_grad():
                check_unchanged(self(), shape, dtype)

    def _keep_originals(self, original: Variable, new: Any) -> None:
        """Register what the parametrizations start from: ``original`` (holding ``new``) or
        the tensors ``new`` as ``original0``, ``original1`` ..."""
        if self.is_tensor:
            if new is not original:
                with no_grad():
                    original.copy_(new)
            _register(self, "original", original)
            return
        for i, part in enumerate(new):
            if not isinstance(part, Variable):
                raise OperandError(
                    f"'right_inverse' must return a Tensor or a Sequence of tensors. Got element "
                    f"{i} of type {type(part).__name__}"
                )
            part = part.detach()
            if isinstance(original, Parameter):
                part = Parameter(part.numpy(), requires_grad=original.requires_grad)
            _register(self, f"original{i}", part)

    def right_inverse(self, value: Variable) -> None:
        """Set the originals so that the parametrized tensor becomes ``value``."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
            if self.is_tensor:
                self.original.copy_(value)
                return
            for i, part in enumerate(value):
                getattr(self, f"original{i}").copy_(part)

    def forward(self) -> Variable:
        """The parametrized tensor: the first parametrization on the originals, then each
        next one on the result."""
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


_CACHE: dict[tuple[int, str], Variable] | None = None


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Within this context each parametrized tensor is computed once, at its first read."""
    global _CACHE
    outer = _CACHE
    _CACHE = {} if outer is None else outer
    try:
        yield
    finally:
        _CACHE = outer


def _parametrized_class(module: Module) -> type:
    """``Parametrized<Class>``: the module's class with properties for the parametrized names
    (made once per module, as PyTorch injects it)."""
    cls = type(module)
    if getattr(cls, "_parametrized_base", None) is not None:
        return cls

    def __setattr__(self: Module, name: str, value: Any) -> None:
        if is_parametrized(self, name):  # the originals take the value (right_inverse)
            self.parametrizations[name].right_inverse(value)
        else:
            cls.__setattr__(self, name, value)

    members = {"_parametrized_base": cls, "__setattr__": __setattr__, "__getstate__": _getstate}
    if not hasattr(cls, "__deepcopy__"):  # a class's own deep copy is kept, as in PyTorch
        members["__deepcopy__"] = _deepcopy
    return type(f"Parametrized{cls.__name__}", (cls,), members)


def _getstate(self: Module) -> Any:
    """Pickling is refused, as PyTorch refuses it: the class is made at run time."""
    raise StateDictError(
        "Serialization of parametrized modules is only supported through state_dict(): save "
        "model.state_dict() and load it into a model parametrized the same way"
    )


def _deepcopy(self: Module, memo: dict[int, Any]) -> Module:
    """A deep copy with a ``Parametrized<Class>`` of its own, so that registering or removing a
    parametrization on the copy (whose class properties are the parametrized names) leaves the
    original's class alone."""
    cls = type(self)
    replica = cls.__new__(cls)
    memo[id(self)] = replica
    state = copy.deepcopy(self.__dict__, memo)
    if hasattr(replica, "__setstate__"):
        replica.__setstate__(state)
    else:
        replica.__dict__.update(state)
    base = cls._parametrized_base
    object.__setattr__(replica, "__class__", base)
    own = _parametrized_class(replica)
    for name in replica.parametrizations:
        setattr(own, name, _read(name))
    object.__setattr__(replica, "__class__", own)
    return replica


def _read(name: str) -> Any:
    def get(self: Module) -> Variable:
        if _CACHE is None:
            return self.parametrizations[name]()
        key = (id(self), name)
        if key not in _CACHE:
            _CACHE[key] = self.parametrizations[name]()
        return _CACHE[key]

    return property(get)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization (of ``tensor_name``, when given)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return tensor_name is None or tensor_name in parametrizations


def type_before_parametrizations(module: Module) -> type:
    """The module's class before any parametrization made it ``Parametrized<Class>``."""
    return getattr(type(module), "_parametrized_base", None) or type(module)


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` on the original
    parameter (or buffer); a second registration on the same name applies after the first."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        if not unsafe:
            with no_grad():
                before = getattr(module, tensor_name)
                check_unchanged(parametrization(before), before.shape, before.dtype)
        chain.append(parametrization)
        chain.unsafe = chain.unsafe or unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ArgumentError(
            f"Module '{type(module).__name__}' does not have a parameter, a buffer, or a "
            f"parametrized element with name '{tensor_name}'"
        )
    original = getattr(module, tensor_name)
    parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        object.__setattr__(module, "__class__", _parametrized_class(module))
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = parametrizations
    setattr(type(module), tensor_name, _read(tensor_name))
    return module


def remove_parametrizations(
    module: Module, tensor_name: str, leave_parametrized: bool = True
) -> Module:
    """Undo ``register_parametrization``: ``tensor_name`` becomes a plain parameter again,
    holding the parametrized value (or the original, with ``leave_parametrized=False``)."""
    if not is_parametrized(module, tensor_name):
        raise ArgumentError(
            f"Module {type(module).__name__} does not have a parametrization on {tensor_name}"
        )
    chain = module.parametrizations[tensor_name]
    if not (leave_parametrized or chain.is_tensor):
        raise ArgumentError(
            "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
            "parametrized in terms of a sequence of tensors."
        )
    with no_grad():
        value = getattr(module, tensor_name) if leave_parametrized else None
        if chain.is_tensor:  # the original Parameter stays, holding the value
            original = chain.original
            if value is not None:
                original.copy_(value)
        else:
            original = Parameter(value.numpy().copy())
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not module.parametrizations._modules:
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", type(module)._parametrized_base)
    return module
