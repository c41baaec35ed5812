"""``Module`` and ``Parameter``: PyTorch's way of grouping parameters and sub-layers."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain
from typing import Any, NamedTuple, TypeVar

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import (
    ArgumentError,
    GradvizError,
    OperandError,
    RegistrationError,
    StateDictError,
)
from gradviz.autograd.grad_mode import no_grad
from gradviz.autograd.higher import reset_grad
from gradviz.autograd.nn import forward_hooks
from gradviz.autograd.nn.backward_hooks import BackwardHookMethods
from gradviz.autograd.nn.casting import DtypeMethods
from gradviz.autograd.nn.forward_hooks import ForwardHookMethods
from gradviz.autograd.variable import Variable, as_array, from_op, get_default_dtype


class Parameter(Variable):
    """A Variable that requires grad and is registered by any Module it is assigned to.

    Plain Python floats and lists take the default dtype (float32); ndarrays keep theirs.
    Without data it is empty (shape ``(0,)``), as PyTorch's ``Parameter()``.
    """

    __slots__ = ()

    def __init__(
        self, data: Any = None, requires_grad: bool = True, name: str | None = None
    ) -> None:
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _is_parameter(value: Any) -> bool:
    """Parameters, and (friendlier than PyTorch) any leaf Variable that requires grad."""
    return isinstance(value, Parameter) or (
        isinstance(value, Variable) and value.requires_grad and value.is_leaf
    )


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys it expected but did not find, and the keys it
    found but did not expect (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )


M = TypeVar("M", bound="Module")


class LayerName:
    """A module as its errors name it, ``LayerNorm((64,), eps=1e-05, ...)``: the text is made
    only when a message is formatted, so a forward pays nothing for it."""

    __slots__ = ("module",)

    def __init__(self, module: Module) -> None:
        self.module = module

    def __str__(self) -> str:
        module = self.module
        return f"{type(module).__name__}({module.extra_repr()})"


class Module(DtypeMethods, ForwardHookMethods, BackwardHookMethods):
    """Base class of layers and models: assign Parameters and Modules as attributes.

    Registration happens on attribute assignment: ``Parameter``\\ s, sub-``Module``\\ s and any
    leaf Variable with ``requires_grad=True`` are found by ``parameters()``, ``named_modules()``,
    ``state_dict()`` and the rest, in assignment order. Buffers (state that is not trained, such
    as running statistics) are registered with ``register_buffer``.
    """

    training: bool
    #: Own entries a checkpoint may lack without being "missing": they keep their value
    #: (BatchNorm's ``num_batches_tracked``, which PyTorch fills in the same way).
    _optional_state: tuple[str, ...] = ()

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it and are called as ``module(x)``."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not hooks.ACTIVE and not forward_hooks.USED:
            return self.forward(*args, **kwargs)
        for hook in hooks.ACTIVE:
            hook.module_enter(self, args)
        output = None
        try:
            output = forward_hooks.run_forward(self, args, kwargs)
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
        if name in self._buffers and not isinstance(value, (Module, Parameter)):
            _check_buffer(name, value)  # a registered buffer name: the buffer is updated
            self._buffers[name] = value
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Module) and name not in self._parameters:
            registry: dict[str, Any] | None = self._modules
        elif _is_parameter(value):
            registry = self._parameters
        else:
            registry = _kept_slot(self, name, value)
        if registry is None or name not in registry:
            self._forget(name)  # a name of the same kind keeps its place, as in PyTorch
        if registry is not None:
            registry[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every registry (the attribute itself stays)."""
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        self._modules.pop(name, None)

    def register_parameter(self, name: str, param: Variable | None) -> None:
        """Register ``param`` under ``name`` (``None`` leaves an empty slot, as for no bias)."""
        self._check_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Variable):
            raise OperandError(
                f"cannot assign {type(param).__name__} object to parameter {name!r} "
                "(a Parameter, a Variable or None required)"
            )
        self._forget(name)
        object.__setattr__(self, name, param)
        self._parameters[name] = param  # None: a slot that takes only a Parameter, as PyTorch

    def register_buffer(self, name: str, tensor: Variable | None, persistent: bool = True) -> None:
        """Register ``tensor`` as a buffer: state saved by ``state_dict`` (unless ``persistent``
        is False) but not returned by ``parameters()``, such as running statistics.

        ``tensor`` is a Variable (usually not requiring grad) or None (an empty slot, left out
        of the state dict). Assigning to ``self.<name>`` later updates the buffer.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name("buffer", name, self._buffers)
        _check_buffer(name, tensor)
        if name not in self._buffers:  # a buffer registered again keeps its place, as PyTorch's
            self._forget(name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise OperandError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name, self._modules)
        if module is None:  # an empty slot, listed as ``(name): None``, as in PyTorch
            self._forget(name)
            self._modules[name] = None
        setattr(self, name, module)

    register_module = add_module

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
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant (each once unless ``remove_duplicate`` is False),
        depth first, with dotted paths (``""`` for self)."""
        seen: set[int] = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if remove_duplicate:
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
        """The direct sub-modules with their attribute names (each module once)."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def _named_members(
        self,
        members: Callable[[Module], Iterable[tuple[str, Any]]],
        prefix: str,
        recurse: bool,
        remove_duplicate: bool,
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for path, module in modules:
            for name, value in members(module):
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{path}.{name}" if path else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Variable]]:
        """Every parameter once (shared ones under their first path): ``fc1.weight``, ``0.bias``.
        With ``recurse=False`` only this module's own."""
        return self._named_members(
            lambda m: m._parameters.items(), prefix, recurse, remove_duplicate
        )

    def parameters(self, recurse: bool = True) -> Iterator[Variable]:
        """Every parameter once, in registration order (what optimizers take)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Variable]]:
        """Every buffer once (persistent or not), with dotted paths: ``bn.running_mean``."""
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Variable]:
        """Every buffer once (see ``named_buffers``)."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path ``target`` (``""`` is self)."""
        module: Module = self
        for part in target.split(".") if target else []:
            if not hasattr(module, part):
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
            module = getattr(module, part)
            if not isinstance(module, Module):
                raise AttributeError(f"`{part}` is not an nn.Module")
        return module

    def get_parameter(self, target: str) -> Variable:
        """The parameter at dotted path ``target`` (``"fc.weight"``)."""
        return self._get_member(target, "_parameters", "nn.Parameter")

    def get_buffer(self, target: str) -> Variable:
        """The buffer at dotted path ``target`` (``"bn.running_mean"``)."""
        return self._get_member(target, "_buffers", "buffer")

    def _get_member(self, target: str, table: str, kind: str) -> Variable:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if name not in getattr(module, table) or getattr(module, name) is None:
            raise AttributeError(f"`{name}` is not {'an' if kind[0] in 'n' else 'a'} {kind}")
        return getattr(module, name)

    def apply(self: M, fn: Callable[[Module], Any]) -> M:
        """Call ``fn`` on every sub-module (children first) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------------------ modes
    def train(self: M, mode: bool = True) -> M:
        """Training mode (dropout active) for this module and its descendants; returns self."""
        if not isinstance(mode, bool):
            raise ArgumentError(
                f"training mode is expected to be boolean, got {type(mode).__name__} {mode!r}"
            )
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self: M) -> M:
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Set ``requires_grad`` of every parameter (to freeze or unfreeze them); returns self."""
        if not isinstance(requires_grad, bool):
            raise OperandError(
                "requires_grad_(): argument 'requires_grad' must be bool, not "
                f"{type(requires_grad).__name__}"
            )
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (PyTorch's default) or to zeros."""
        for param in self.parameters():
            reset_grad(param, set_to_none)

    # ------------------------------------------------------------------------------ state
    def _local_state(self) -> dict[str, Variable]:
        """Own parameters, then own persistent buffers, without empty slots (``None``)."""
        buffers = (
            (n, b) for n, b in self._buffers.items() if n not in self._non_persistent_buffers_set
        )
        return {n: v for n, v in chain(self._parameters.items(), buffers) if v is not None}

    def state_dict(
        self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Any]:
        """Every parameter and persistent buffer by dotted name, in PyTorch's order (each
        module's own parameters, then its buffers, then its children's).

        Values are Variables sharing the data and needing no grad (as PyTorch's ``detach()``:
        training on changes them; ``copy.deepcopy`` keeps a snapshot), or the parameters and
        buffers themselves with ``keep_vars=True``.
        """
        if destination is None:
            destination = OrderedDict()
        for name, value in self._local_state().items():
            destination[prefix + name] = value if keep_vars else from_op(value._data, None)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(
                    destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
                )
        return destination

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers of the same names (in place, shapes
        checked); returns ``(missing_keys, unexpected_keys)``.

        Every entry is checked before any is copied, so a failed load leaves the model as it was.
        Raises ``StateDictError`` (a ``RuntimeError``, as in PyTorch) listing every problem: with
        ``strict`` missing and unexpected keys, always mismatched shapes. With ``assign`` the
        checkpoint's arrays become the parameters' and buffers' data (new Parameter objects
        keeping ``requires_grad``, as PyTorch) instead of being copied into them.
        """
        if not isinstance(state_dict, Mapping):
            raise OperandError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        updates: list[tuple[Module, str, Variable, np.ndarray]] = []
        for prefix, module in self.named_modules(remove_duplicate=False):
            prefix = f"{prefix}." if prefix else ""
            local = module._local_state()
            for name, target in local.items():
                key = prefix + name
                if key not in state_dict:
                    if name not in module._optional_state:
                        missing.append(key)
                    continue
                array, problem = _checkpoint_array(key, state_dict[key], target, assign)
                if problem:
                    errors.append(problem)
                else:
                    updates.append((module, name, target, array))
            unexpected.extend(_unexpected_keys(state_dict, prefix, local, module._modules))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + _quoted(unexpected))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + _quoted(missing))
            if missing and not updates:
                errors.extend(_hints(state_dict, missing))
        if errors:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for module, name, target, array in updates:
            if assign:
                module._assign(name, target, array)
            else:
                with no_grad():  # as PyTorch: param.copy_(array), which bumps its version
                    target.copy_(array)
        return IncompatibleKeys(missing, unexpected)

    def _assign(self, name: str, target: Variable, array: np.ndarray) -> None:
        """``load_state_dict(assign=True)``: ``array`` replaces the data of ``name``."""
        if name in self._parameters:
            kind = type(target) if isinstance(target, Parameter) else Parameter
            setattr(self, name, kind(array, requires_grad=target.requires_grad))
        else:
            setattr(self, name, Variable(array, requires_grad=target.requires_grad))

    # ------------------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """One line of settings shown inside this module's repr."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        """PyTorch's layout: settings and then ``(name): child`` lines, children indented."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self._modules.items()
        ]
        if not child_lines and len(extra_lines) <= 1:
            return f"{self._get_name()}({extra})"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{self._get_name()}(\n  {body}\n)"


def _kept_slot(module: Module, name: str, value: Any) -> dict[str, Any] | None:
    """The registry of a parameter or sub-module ``name`` that ``value`` may only empty, as in
    PyTorch: ``None`` keeps the slot (and its place), anything else is refused."""
    for registry, kind, wanted in (
        (module._parameters, "parameter", "Parameter"),
        (module._modules, "child module", "Module"),
    ):
        if name in registry:
            if value is not None:
                raise OperandError(
                    f"cannot assign '{type(value).__name__}' as {kind} '{name}' "
                    f"({wanted} or None expected)"
                )
            return registry
    return None


def _check_buffer(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, Variable):
        raise OperandError(
            f"cannot assign '{type(value).__name__}' object to buffer '{name}' "
            "(a Variable or None required)"
        )


def _quoted(keys: list[str]) -> str:
    return ", ".join(f'"{k}"' for k in keys) + ". "


def _checkpoint_array(
    key: str, value: Any, target: Variable, assign: bool
) -> tuple[Any, str | None]:
    """The checkpoint's array for ``key`` (cast to ``target``'s dtype unless ``assign``) and
    None, or None and the problem (PyTorch's words). Everything that could fail in the copy
    fails here, before anything is copied."""
    copying = f'While copying the parameter named "{key}", '
    try:
        array = as_array(value)
    except (GradvizError, RuntimeError) as error:  # RuntimeError: a torch tensor needing grad
        reason = f" ({error})" if hasattr(value, "__array__") else ""  # a tensor numpy refused
        return None, (
            f"{copying}expected a Variable or an array from checkpoint but received "
            f"{type(value).__name__}{reason}"
        )
    if array.dtype.kind not in "biufc":
        return None, f"{copying}expected numbers from checkpoint but received dtype {array.dtype}"
    if target.ndim == 0 and array.shape == (1,):  # PyTorch accepts a 1-element 1-d for a 0-d
        array = array.reshape(())
    if array.shape != target.shape:
        return None, (
            f"size mismatch for {key}: copying a param with shape {array.shape} from "
            f"checkpoint, the shape in current model is {target.shape}."
        )
    if not assign:
        return np.asarray(array, dtype=target.dtype), None  # a plain array (no mask), cast now
    if target.requires_grad and array.dtype.kind != "f":
        return None, (
            f"{copying}assign=True needs a floating point array for a parameter that requires "
            f"grad, but the checkpoint's is {array.dtype}"
        )
    return array, None


def _hints(state_dict: Mapping[str, Any], missing: list[str]) -> Iterator[str]:
    """Why no key matched, when it is one of the usual reasons: a whole checkpoint passed
    (``{"model": ..., "epoch": 3}``), or every key under a prefix (DataParallel's
    ``module.``)."""
    for key, value in state_dict.items():
        if isinstance(value, Mapping) and missing[0] in value:
            yield f"No key matched: {key!r} holds the entries; pass state_dict[{key!r}]."
            return
    for key in state_dict:
        if isinstance(key, str) and key.endswith("." + missing[0]):
            prefix = key[: -len(missing[0])]
            yield f"No key matched: the keys start with {prefix!r}; remove that prefix."
            return


def _unexpected_keys(
    state_dict: Mapping[str, Any], prefix: str, local: dict[str, Any], children: dict[str, Any]
) -> Iterator[str]:
    """Keys under ``prefix`` naming neither an own entry nor a child (PyTorch's rule); at the
    top (no prefix) also keys that are not strings (``{0: ...}``: an optimizer's state)."""
    for key in state_dict:
        if not isinstance(key, str) and not prefix:
            yield key
        elif isinstance(key, str) and key.startswith(prefix):
            head = key[len(prefix) :].split(".", 1)
            if (head[0] not in children) if len(head) > 1 else (head[0] not in local):
                yield key


def new_parameter(
    shape: tuple[int, ...], bound: float, generator: np.random.Generator
) -> Parameter:
    """A float parameter (default dtype) drawn uniformly from ``[-bound, bound)``."""
    data = generator.uniform(-bound, bound, size=shape).astype(get_default_dtype())
    return Parameter(data)
