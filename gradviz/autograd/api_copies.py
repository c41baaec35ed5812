"""PyTorch's ``*_copy`` functions (``torch.transpose_copy``, ``torch.view_copy``,
``torch.split_copy`` ...): the view op of the name, then a copy (``clone``), so the result
shares no memory with the input and the gradient is the view's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradviz.autograd import variable_elementwise
from gradviz.autograd.ops.api import as_variable
from gradviz.autograd.variable import Variable


def _copied(out: Any) -> Any:
    if isinstance(out, list | tuple):
        return type(out)(o.clone() for o in out)
    return out.clone()


def _copy(view: Callable[..., Any], name: str, doc: str) -> Callable[..., Any]:
    def function(input: Any, *args: Any, **kwargs: Any) -> Any:
        return _copied(view(as_variable(input, name), *args, **kwargs))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{doc}, copied (no memory shared with input)."
    function.__module__ = "gradviz"
    return function


def _slice(x: Variable, dim: int = 0, start: Any = None, end: Any = None, step: int = 1) -> Any:
    return x[(slice(None),) * (dim % max(x.ndim, 1)) + (slice(start, end, step),)]


def _sizes(size: Any) -> tuple[Any, ...]:
    return tuple(size) if isinstance(size, list | tuple) else (size,)


_VIEWS: dict[str, tuple[Callable[..., Any], str]] = {
    "alias_copy": (lambda x: x, "input"),
    "detach_copy": (lambda x: x.detach(), "input cut from the graph"),
    "diagonal_copy": (lambda x, *a, **k: x.diagonal(*a, **k), "The diagonal"),
    "expand_copy": (lambda x, size, *, implicit=False: x.expand(*_sizes(size)), "input expanded"),
    "narrow_copy": (lambda x, *a: x.narrow(*a), "The narrowed slice"),
    "permute_copy": (lambda x, dims: x.permute(*_sizes(dims)), "The dims permuted"),
    "select_copy": (lambda x, *a: x.select(*a), "The slice at index along dim"),
    "slice_copy": (_slice, "input[start:end:step] along dim"),
    "split_copy": (lambda x, *a, **k: x.split(*a, **k), "The pieces of split"),
    "split_with_sizes_copy": (
        lambda x, sizes, dim=0: x.split(list(sizes), dim),
        "The pieces of split_with_sizes",
    ),
    "squeeze_copy": (lambda x, *a: x.squeeze(*a), "The dims of size 1 removed"),
    "t_copy": (lambda x: x.t(), "The transpose"),
    "transpose_copy": (lambda x, *a: x.transpose(*a), "Two dims swapped"),
    "unbind_copy": (lambda x, dim=0: x.unbind(dim), "The slices along dim"),
    "unfold_copy": (lambda x, *a: x.unfold(*a), "The windows along a dim"),
    "unsqueeze_copy": (lambda x, dim: x.unsqueeze(dim), "A dim of size 1 inserted"),
    "view_copy": (lambda x, size: x.view(*_sizes(size)), "input viewed in another shape"),
}

globals().update({name: _copy(view, name, doc) for name, (view, doc) in _VIEWS.items()})

#: the names this module adds to the top-level package
NAMES = list(_VIEWS)

# PyTorch's Tensor has this one as a method too (``x.narrow_copy(dim, start, length)``)
variable_elementwise.add_methods(globals(), ("narrow_copy",))
