"""PyTorch's ``torch.func.functional_call`` and ``stack_module_state``: a module run with other
tensors standing in for its parameters and buffers, and the parameters of several models
stacked for :func:`vmap` (the ensembling tutorial).

The stand-ins take the place of the module's own tensors (in ``_parameters``/``_buffers`` and
as attributes) for the call only, and the originals come back afterwards, also when the call
raises. A trace is told (``hooks.Hook.reparametrized``), so it draws the stand-ins under their
module names (``fc1.weight``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gradviz.autograd import hooks
from gradviz.autograd.errors import ArgumentError, InputError
from gradviz.autograd.ops import stack
from gradviz.autograd.variable import Variable

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def _merged(dicts: Any) -> dict[str, Any]:
    """One dict of the stand-ins: ``dicts`` is a dict, or a tuple or list of dicts whose
    keys do not repeat."""
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, Sequence) or isinstance(dicts, str):
        raise ArgumentError(
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but "
            f"got {type(dicts)}"
        )
    if not all(isinstance(d, dict) for d in dicts):
        raise ArgumentError(
            "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
        )
    counts: dict[str, int] = {}
    for d in dicts:
        for key in d:
            counts[key] = counts.get(key, 0) + 1
    repeated = [key for key, n in counts.items() if n > 1]
    if repeated:
        raise ArgumentError(
            f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
            "ambiguous"
        )
    return {k: v for d in dicts for k, v in d.items()}


def _named_tensors(module: Any) -> dict[str, Any]:
    """Every parameter and buffer of ``module`` by dotted name, shared ones under each name."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untied(module: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with a value for every name tied to a given name (PyTorch's tie_weights):
    ``{"foo": v}`` also sets ``tied_foo`` when the module shares one tensor under both."""
    groups: dict[int, set[str]] = {}
    for name, tensor in _named_tensors(module).items():
        groups.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in groups.values() if len(names) > 1 for name in names}
    out = dict(given)
    for name in [n for n in given if n in tied]:
        names = tied[name]
        values = {id(given[n]) for n in names if n in given}
        if len(values) > 1:
            raise ArgumentError(
                f"functional_call got multiple values for keys {sorted(names)}, which are "
                "tied. Consider using tie_weights=False"
            )
        for other in names:
            out[other] = given[name]
    return out


def _check_keys(module: Any, given: dict[str, Any]) -> None:
    """``strict``: the names are exactly the module's parameters and buffers."""
    names = _named_tensors(module)
    missing = [n for n in names if n not in given]
    unexpected = [n for n in given if n not in names]
    errors = []
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise InputError(
            f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(errors)
        )


def _swap(module: Any, dotted: str, value: Any) -> tuple[Any, str, Any, Any, Any]:
    """Put ``value`` in place of ``dotted``; what is needed to put the original back."""
    path, _, name = dotted.rpartition(".")
    owner = module.get_submodule(path) if path else module
    table = None
    if name in owner._parameters:
        table = owner._parameters
    elif name in owner._buffers:
        table = owner._buffers
    before = owner.__dict__.get(name, _MISSING)
    held = table[name] if table is not None else _MISSING
    if table is not None:
        table[name] = value
    object.__setattr__(owner, name, value)
    return owner, name, table, held, before


@contextmanager
def _reparametrized(module: Any, tensors: dict[str, Any]) -> Iterator[None]:
    """``module`` with ``tensors`` in place of its own inside the block; its own afterwards."""
    for hook in hooks.ACTIVE:  # (before the swap: a trace meeting the model sees its own)
        hook.reparametrized(module, tensors)
    undo = []
    try:
        for dotted, value in tensors.items():
            undo.append(_swap(module, dotted, value))
        yield
    finally:
        for owner, name, table, held, before in reversed(undo):
            if table is not None:
                table[name] = held
            if before is _MISSING:
                owner.__dict__.pop(name, None)
            else:
                object.__setattr__(owner, name, before)


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """PyTorch's ``torch.func.functional_call``: ``module(*args, **kwargs)`` with the tensors
    of ``parameter_and_buffer_dicts`` (a dict by dotted name, ``"fc1.weight"``, or a tuple of
    dicts: ``(params, buffers)``) standing in for its parameters and buffers. Gradients flow
    to those tensors, not to the module's own, which are back in place afterwards (also if the
    call raises). Names not given keep the module's own (unless ``strict``); with
    ``tie_weights`` a value given for a shared tensor is used under all of its names. ``args``
    that is not a tuple is the one positional argument."""
    tensors = _merged(parameter_and_buffer_dicts)
    if tie_weights:
        tensors = _untied(module, tensors)
    if strict:
        _check_keys(module, tensors)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrized(module, tensors):
        return module(*args, **(kwargs or {}))


def _stacked_leaf(tensors: list[Variable], name: str) -> Variable:
    wants = [t.requires_grad for t in tensors]
    if any(wants) and not all(wants):
        raise InputError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack([t.detach() for t in tensors])
    return result.requires_grad_() if all(wants) else result


def stack_module_state(models: Any) -> tuple[dict[str, Variable], dict[str, Variable]]:
    """PyTorch's ``torch.func.stack_module_state``: ``(params, buffers)``, dicts by dotted
    name of the models' parameters and buffers stacked along a new first dimension (one entry
    per model), for ``vmap(lambda p, b, x: functional_call(base, (p, b), (x,)))``. The stacked
    parameters are new leaves (an optimizer can take them), unconnected to the models'."""
    models = list(models)
    if not models:
        raise InputError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise InputError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if any(type(m) is not type(models[0]) for m in models):
        raise InputError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers
