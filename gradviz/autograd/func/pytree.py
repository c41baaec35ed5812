"""Nested arguments and results as PyTorch's ``torch.utils._pytree`` sees them: tuples
(named ones too), lists and dicts are containers, anything else (a Variable, a number, None)
is a leaf. :func:`flatten` gives the leaves in order and a :class:`Spec` of the nesting, which
:func:`unflatten` fills with new leaves; :func:`broadcast` spreads a prefix such as vmap's
``in_dims=(None, 0)`` over the leaves of the arguments it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spec:
    """The shape of a nested value: a leaf (``kind`` None), or a container of ``kind`` with
    ``keys`` (a dict's, in order; None for a sequence) and one Spec per child."""

    kind: type | None = None
    keys: tuple[Any, ...] | None = None
    children: tuple[Spec, ...] = ()

    @property
    def leaves(self) -> int:
        """How many leaves the value has."""
        return 1 if self.kind is None else sum(child.leaves for child in self.children)

    def __str__(self) -> str:
        if self.kind is None:
            return "*"
        keys = self.keys if self.keys is not None else (None,) * len(self.children)
        inner = ", ".join(
            str(child) if self.keys is None else f"{key!r}: {child}"
            for key, child in zip(keys, self.children, strict=True)
        )
        if self.keys is not None:
            return f"{{{inner}}}"
        return f"[{inner}]" if issubclass(self.kind, list) else f"({inner})"


LEAF = Spec()


def is_container(value: Any) -> bool:
    """Whether ``value`` is a tuple, a list or a dict (a node, not a leaf)."""
    return isinstance(value, tuple | list | dict)


def _children(value: Any) -> tuple[tuple[Any, ...] | None, list[Any]]:
    if isinstance(value, dict):
        return tuple(value), list(value.values())
    return None, list(value)


def flatten(value: Any) -> tuple[list[Any], Spec]:
    """The leaves of ``value`` in order (a dict's in its keys' order), and its Spec."""
    if not is_container(value):
        return [value], LEAF
    keys, children = _children(value)
    leaves: list[Any] = []
    specs = []
    for child in children:
        found, spec = flatten(child)
        leaves.extend(found)
        specs.append(spec)
    return leaves, Spec(type(value), keys, tuple(specs))


def unflatten(leaves: list[Any], spec: Spec) -> Any:
    """A value nested as ``spec`` holding ``leaves`` (the inverse of :func:`flatten`)."""
    it = iter(leaves)
    return _build(it, spec)


def _build(it: Any, spec: Spec) -> Any:
    if spec.kind is None:
        return next(it)
    children = [_build(it, child) for child in spec.children]
    if spec.keys is not None:
        return spec.kind(zip(spec.keys, children, strict=True))
    if spec.kind is tuple or spec.kind is list:
        return spec.kind(children)
    if hasattr(spec.kind, "_fields"):  # a namedtuple
        return spec.kind(*children)
    return spec.kind(children)


def broadcast(prefix: Any, spec: Spec) -> list[Any] | None:
    """``prefix`` spread over the leaves of a value of ``spec``: a leaf of ``prefix`` (an int,
    None) stands for everything below it. None when ``prefix`` does not match ``spec``."""
    if not is_container(prefix):
        return [prefix] * spec.leaves
    if spec.kind is None or type(prefix) is not spec.kind:
        return None
    keys, children = _children(prefix)
    if keys != spec.keys or len(children) != len(spec.children):
        return None
    out: list[Any] = []
    for child, child_spec in zip(children, spec.children, strict=True):
        found = broadcast(child, child_spec)
        if found is None:
            return None
        out.extend(found)
    return out
