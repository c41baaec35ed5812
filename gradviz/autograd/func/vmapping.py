"""PyTorch's ``torch.func.vmap``, as a loop.

PyTorch runs the function once on batched tensors, through a batching rule per op. gradviz has
no batching rules: ``vmap(func)(x)`` calls ``func`` once per example (``x.select(in_dim, i)``)
and stacks the results with ``gradviz.stack``. Every slice and the stack are recorded ops, so
gradients flow through it and a trace draws one ``func`` per example. The values, shapes,
nesting and errors are PyTorch's; the speed is a Python loop's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, IndexRangeError
from gradviz.autograd.func import pytree
from gradviz.autograd.func.common import check_no_random, check_randomness, rng_state
from gradviz.autograd.ops import stack
from gradviz.autograd.variable import Variable

__all__ = ["vmap"]


def _name(func: Any) -> str:
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return getattr(func, "__name__", repr(func))


def _batched_inputs(
    func: Any, in_dims: Any, args: tuple[Any, ...]
) -> tuple[int, list[int | None], list[Any], pytree.Spec]:
    """The batch size, each leaf's mapped dim (None: passed whole), the leaves and their
    nesting, checked as PyTorch checks them."""
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, int | tuple):
        raise ArgumentError(
            f"{head}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
            f"structure of inputs, got: {type(in_dims)}."
        )
    if not args:
        raise ArgumentError(
            f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add inputs, or "
            "you are trying to vmap over a function with no inputs. The latter is unsupported."
        )
    flat, spec = pytree.flatten(args)
    dims = pytree.broadcast(in_dims, spec)
    if dims is None:
        raise ArgumentError(
            f"{head}: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"structure {pytree.flatten(in_dims)[1]} but inputs has structure {spec}."
        )
    for i, (arg, dim) in enumerate(zip(flat, dims, strict=True)):
        if dim is None:
            continue
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise ArgumentError(
                f"{head}: Got in_dim={dim} for an input but in_dim must be either an integer "
                "dimension or None."
            )
        if not isinstance(arg, Variable):
            raise ArgumentError(
                f"{head}: Got in_dim={dim} for an input but the input is of type {type(arg)}. "
                "We cannot vmap over non-Tensor arguments, please use None as the respective "
                "in_dim"
            )
        if not -arg.ndim <= dim < arg.ndim:
            raise ArgumentError(
                f"{head}: Got in_dim={dim} for some input, but that input is a Tensor of "
                f"dimensionality {arg.ndim} so expected in_dim to satisfy "
                f"-{arg.ndim} <= in_dim < {arg.ndim}."
            )
        dims[i] = dim % arg.ndim
    sizes = [arg.shape[dim] for arg, dim in zip(flat, dims, strict=True) if dim is not None]
    if not sizes:
        raise ArgumentError("vmap: Expected at least one Tensor to vmap over")
    if any(size != sizes[0] for size in sizes):
        raise ArgumentError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    return sizes[0], dims, flat, spec


def _out_dims(func: Any, out_dims: Any, output: Any) -> list[Any]:
    """``out_dims`` spread over the leaves of one call's ``output``."""
    flat, spec = pytree.flatten(output)
    for dim in pytree.flatten(out_dims)[0]:
        if dim is not None and not isinstance(dim, int):
            raise ArgumentError(
                f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                "None or a python collection of ints representing where in the outputs the "
                "vmapped dimension should appear."
            )
    if spec.kind is None:  # one Variable: out_dims may also be a 1-tuple
        dims = list(out_dims) if isinstance(out_dims, tuple) and len(out_dims) == 1 else None
        dims = [out_dims] if not isinstance(out_dims, tuple) else dims
    else:
        dims = pytree.broadcast(out_dims, spec)
    if dims is None:
        raise ArgumentError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{pytree.flatten(out_dims)[1]} but outputs has structure {spec}."
        )
    for leaf, dim in zip(flat, dims, strict=True):
        if dim is not None and leaf is not None and not isinstance(leaf, Variable):
            raise ArgumentError(
                f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                f"{type(leaf)}. Did you mean to set out_dims= to None for output?"
            )
    return dims


def _check_unmapped(func: Any, column: list[Any]) -> None:
    """An output with out_dim None must be the same for every example (PyTorch refuses one
    that depends on the mapped inputs; here, one that differs between calls)."""
    first = column[0]
    if not isinstance(first, Variable):
        return
    if any(not np.array_equal(v._data, first._data) for v in column[1:]):
        raise ArgumentError(
            f"vmap({_name(func)}, ...): `{_name(func)}` can not return a BatchedTensor when "
            "out_dim is None (this output differs between examples)"
        )


def _stacked(func: Any, out_dims: Any, outputs: list[Any]) -> Any:
    """The calls' outputs joined leaf by leaf along each leaf's out_dim."""
    flat, spec = pytree.flatten(outputs[0])
    dims = _out_dims(func, out_dims, outputs[0])
    columns: list[list[Any]] = [[] for _ in flat]
    for output in outputs:
        leaves, other = pytree.flatten(output)
        if other != spec:
            raise ArgumentError(
                f"vmap({_name(func)}, ...): `{_name(func)}` returned outputs of different "
                f"structures for different examples ({spec} and {other}); every call must "
                "return the same structure"
            )
        for column, leaf in zip(columns, leaves, strict=True):
            column.append(leaf)
    joined = []
    for column, dim in zip(columns, dims, strict=True):
        if dim is None or column[0] is None:
            _check_unmapped(func, column)
            joined.append(column[0])
            continue
        ndim = column[0].ndim + 1
        if not -ndim <= dim < ndim:
            raise IndexRangeError(
                f"vmap: out_dim {dim} is out of range for an output with {ndim - 1} "
                f"dimensions (expected to be in range of [{-ndim}, {ndim - 1}])"
            )
        joined.append(stack(column, dim=dim))
    return pytree.unflatten(joined, spec)


def vmap(
    func: Callable[..., Any],
    in_dims: int | tuple[Any, ...] = 0,
    out_dims: int | tuple[Any, ...] = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """PyTorch's ``torch.func.vmap`` (also ``gradviz.vmap``): ``func`` mapped over a
    dimension of its inputs.

    ``in_dims`` gives, for each positional argument (nested as they are: a tuple, a dict), the
    dimension to map over, or None to pass it whole to every call; an int applies to all.
    ``out_dims`` says where the mapped dimension goes in each output. Outputs may be nested
    tuples, lists and dicts of Variables.

    This is a loop, not PyTorch's batching: ``func`` is called once per example (a batch of 64
    is 64 calls, each seeing one slice) and the results are stacked. The values and gradients
    are PyTorch's; the speed is not. ``randomness``: "error" (the default) refuses a ``func``
    that draws from the default generator (as PyTorch refuses any random op), "different"
    lets each call draw its own numbers, "same" gives each call the same numbers (the
    generator is reset before each). ``chunk_size`` is accepted and changes nothing.
    """
    check_randomness(randomness)
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ArgumentError(
            f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})"
        )

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        size, dims, flat, spec = _batched_inputs(func, in_dims, args)
        if size == 0:
            raise ArgumentError(
                f"vmap({_name(func)}): the mapped dimension has size 0; gradviz's vmap calls "
                "the function once per example, so it needs at least one"
            )
        outputs = []
        start = rng_state()
        for i in range(size):
            if randomness == "same":
                start[0].bit_generator.state = start[1]
            before = rng_state()
            sliced = [
                arg if d is None else arg.select(d, i) for arg, d in zip(flat, dims, strict=True)
            ]
            outputs.append(func(*pytree.unflatten(sliced, spec), **kwargs))
            if randomness == "error":
                check_no_random(before)
        return _stacked(func, out_dims, outputs)

    return wrapped
