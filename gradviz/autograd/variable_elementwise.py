"""Methods of ``Variable`` for PyTorch's common elementwise and comparison functions
(``x.erfc()``, ``x.fmax(y)``, ``x.heaviside(v)`` ...) and in-place forms (``x.tan_()``,
``x.subtract_(y)`` ...), a mixin.

Each out-of-place method is the top-level function of its name (``ops/api_elementwise.py``,
which sets ``_api`` here once it can be imported): the checks and the math live there. The
modules of more functions with a method twin (``api_extra``, ``api_misc``, ``api_real``,
``api_legacy``, ``api_copies``, ``inplace_unary_more``, ``variable_inplace_more``) add their
methods to this mixin with :func:`add_methods`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_api: Any = None  # gradviz.autograd.ops.api_elementwise, set by that module

#: methods that are the top-level function of their name
NAMES = (
    "erfc", "sinc", "i0", "xlogy", "fmax", "fmin", "heaviside", "float_power", "deg2rad",
    "rad2deg", "positive", "signbit", "isposinf", "isneginf", "isreal",
)  # fmt: skip

#: in-place aliases: ``x.subtract_(y)`` is ``x.sub_(y)``
ALIASES = {
    "absolute_": "abs_",
    "subtract_": "sub_",
    "multiply_": "mul_",
    "divide_": "div_",
    "negative_": "neg_",
}


def _method(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(_api, name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Same as ``gradviz.{name}(self, ...)``."
    return method


def add_methods(api: dict[str, Any], names: tuple[str, ...]) -> None:
    """Make each function of ``names`` in ``api`` (a module's globals) a method of
    ``Variable`` (self as its first argument)."""
    for name in names:
        setattr(ElementwiseMethods, name, api[name])


def _alias(name: str, target: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, target)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Same as ``{target}`` (PyTorch's alias)."
    return method


class ElementwiseMethods:
    """erfc, sinc, i0, xlogy, fmax, fmin, heaviside, float_power, deg2rad, rad2deg, positive,
    signbit, isposinf, isneginf, isreal, hardshrink, prelu; in place absolute_, subtract_,
    multiply_, divide_, negative_ (and the in-place forms of inplace_unary_more)."""

    __slots__ = ()


for _name in NAMES:
    setattr(ElementwiseMethods, _name, _method(_name))
for _name, _target in ALIASES.items():
    setattr(ElementwiseMethods, _name, _alias(_name, _target))


def _hardshrink(self: Any, lambd: float = 0.5) -> Any:
    """0 where ``|x| <= lambd``, x elsewhere (``F.hardshrink``)."""
    from gradviz.autograd import functional  # (it imports Variable)

    return functional.hardshrink(self, lambd)


def _prelu(self: Any, weight: Any) -> Any:
    """x where positive, ``weight * x`` elsewhere, a slope per channel (``F.prelu``)."""
    from gradviz.autograd import functional  # (it imports Variable)

    return functional.prelu(self, weight)


ElementwiseMethods.hardshrink = _hardshrink  # type: ignore[attr-defined]
ElementwiseMethods.prelu = _prelu  # type: ignore[attr-defined]
