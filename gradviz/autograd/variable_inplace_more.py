"""More in-place methods with PyTorch's names, each the out-of-place method's result written
into the Variable with ``copy_`` (``x.atan2_(y)``, ``x.cumsum_(0)``, ``x.eq_(y)``,
``x.tril_()`` ...), so a write follows the rules of ``copy_`` (a leaf that requires grad
refuses; the version counter counts it) and the gradient is the out-of-place op's. As in
PyTorch, a result of a higher kind (a float into integers) is refused, and comparisons write
0 and 1 in the Variable's dtype. Also the properties ``mH`` and ``H``, ``sum_to_size``, and
the random fills ``cauchy_``, ``geometric_``, ``log_normal_`` (drawn from gradviz's generator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd import variable_elementwise
from gradviz.autograd.errors import InputError, ShapeError

#: the in-place methods: each is ``copy_`` of the method of its name without the underscore
#: (``arctan2_`` of ``atan2``, the comparisons' aliases of ``eq`` ...)
INPLACE = {
    **{name: name for name in (
        "atan2", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
        "bitwise_left_shift", "bitwise_right_shift", "copysign", "cumprod", "cumsum",
        "digamma", "lgamma", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
        "less", "less_equal", "not_equal", "float_power", "floor_divide", "fmod", "remainder",
        "heaviside", "hypot", "igamma", "igammac", "logical_and", "logical_or", "logical_xor",
        "logical_not", "mvlgamma", "polygamma", "nextafter", "sgn", "sign", "tril", "triu",
        "true_divide", "round", "addmm", "baddbmm",
    )},
    "arctan2": "atan2",
}  # fmt: skip

_KIND = {"b": 0, "u": 1, "i": 1, "f": 2}


def _inplace(name: str, method: str) -> Callable[..., Any]:
    def apply(self: Any, *args: Any, **kwargs: Any) -> Any:
        # (on a copy: the op may save its input, which the write then replaces)
        out = getattr(self.clone(), method)(*args, **kwargs)
        if name == "float_power_" and self.dtype != np.float64:
            raise InputError(
                f"the base given to float_power_ has dtype {self.dtype} but the operation's "
                "result requires dtype float64"
            )
        kind, target = _KIND.get(out.dtype.kind, 2), _KIND.get(self.dtype.kind, 2)
        if out.dtype.kind != "b" and kind > target:
            raise InputError(
                f"{name}: result type {out.dtype} can't be cast to the desired output type "
                f"{self.dtype}"
            )
        if tuple(out.shape) != tuple(self.shape):
            raise ShapeError(
                f"{name}: output with shape {tuple(self.shape)} doesn't match the broadcast "
                f"shape {tuple(out.shape)}"
            )
        return self.copy_(out)

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"``{method}``, written into this Variable (``copy_``)."
    return apply


def sum_to_size(self: Any, *size: Any) -> Any:
    """Summed down to ``size``, a shape this Variable broadcasts from (the reverse of
    ``expand``)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], list | tuple) else size
    lead = self.ndim - len(shape)
    if lead < 0 or any(s not in (1, n) for s, n in zip(shape, self.shape[lead:], strict=True)):
        raise ShapeError(f"size {list(shape)} is not expandable to size {list(self.shape)}.")
    dims = (
        *range(lead),
        *(lead + i for i, s in enumerate(shape) if s == 1 != self.shape[lead + i]),
    )
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(shape)


def _adjoint(self: Any) -> Any:
    """The transpose of the last two dims (the conjugate of real values is themselves)."""
    from gradviz.autograd.api_misc import adjoint  # (it imports this module's package)

    return adjoint(self)


def _h(self: Any) -> Any:
    """The transpose of a matrix (conjugate of real values: themselves); 2-d only."""
    if self.ndim not in (0, 2):
        raise InputError(
            f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor."
        )
    return self.t() if self.ndim else self


def _draws(self: Any, name: str, draw: Callable[[np.random.Generator], Any], generator: Any):
    """Fill with ``draw(rng)`` (a zero derivative for the values replaced, by ``copy_``)."""
    from gradviz.autograd import rng  # (it imports the engine's Variable)
    from gradviz.autograd.variable import Variable

    if self.dtype.kind != "f":
        raise InputError(f"\"{name}_cpu\" not implemented for '{self.dtype}'")
    values = np.asarray(draw(rng.pick(generator))).astype(self.dtype)
    return self.copy_(Variable(values))


def cauchy_(self: Any, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None):
    """Fill with draws of the Cauchy distribution; returns self."""
    if not sigma > 0:
        raise InputError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _draws(
        self, "cauchy", lambda g: median + sigma * g.standard_cauchy(self.shape), generator
    )


def geometric_(self: Any, p: float, *, generator: Any = None) -> Any:
    """Fill with the number of Bernoulli(p) trials up to the first success; returns self."""
    if not 0 < p < 1:
        raise InputError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _draws(self, "geometric", lambda g: g.geometric(p, self.shape), generator)


def log_normal_(self: Any, mean: float = 1.0, std: float = 2.0, *, generator: Any = None):
    """Fill with ``exp`` of normal draws of ``mean`` and ``std``; returns self."""
    if not std > 0:
        raise InputError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _draws(self, "log_normal", lambda g: g.lognormal(mean, std, self.shape), generator)


_NAMED = {f"{name}_": _inplace(f"{name}_", method) for name, method in INPLACE.items()}
variable_elementwise.add_methods(_NAMED, tuple(_NAMED))
variable_elementwise.add_methods(
    globals(),
    (
        "sum_to_size",
        "cauchy_",
        "geometric_",
        "log_normal_",
    ),
)
variable_elementwise.ElementwiseMethods.mH = property(_adjoint)  # type: ignore[attr-defined]
variable_elementwise.ElementwiseMethods.H = property(_h)  # type: ignore[attr-defined]
