"""PyTorch's ``torch.autograd.functional``: ``jacobian``, ``vjp`` and ``jvp`` of a function of
Variables, found by repeated backward passes (one per output element for a Jacobian), so every
value is exact.

gradviz's backward rules are NumPy code, not graphs, so nothing here can be differentiated
again: ``hessian``, ``vhp``, ``hvp`` and ``create_graph=True`` raise :class:`BackwardError`, as
``gradviz.autograd.grad(create_graph=True)`` does. Tuples nest as PyTorch nests them: a tuple of
inputs (or outputs) gives a tuple of results, one Variable otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradviz.autograd.errors import ArgumentError, BackwardError, OperandError, ShapeError
from gradviz.autograd.grad_mode import enable_grad
from gradviz.autograd.grads import grad
from gradviz.autograd.variable import Variable, from_op

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

_NO_SECOND = (
    "gradviz computes gradients as NumPy arrays, not as a graph, so it cannot differentiate "
    "them again (no higher-order gradients)"
)


def _no_graph(name: str, create_graph: bool) -> None:
    if create_graph:
        raise BackwardError(f"{name}(create_graph=True): {_NO_SECOND}")


def _as_tuple(value: Any, what: str, name: str) -> tuple[bool, tuple[Variable, ...]]:
    """Whether ``value`` is a tuple, and its Variables as one (PyTorch's ``_as_tuple``)."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Variable):
            where = f"the value at index {i}" if is_tuple else f"the given {what}"
            raise OperandError(
                f"The {what} given to {name} must be either a Tensor or a tuple of Tensors but "
                f"{where} has type {type(item)}."
            )
    return is_tuple, items


def _unpack(result: tuple[Any, ...], is_tuple: bool) -> Any:
    return result if is_tuple else result[0]


def _call(
    func: Callable[..., Any], inputs: Any, name: str, strict: bool
) -> tuple[bool, tuple[Variable, ...], bool, tuple[Variable, ...]]:
    """Run ``func`` on fresh leaves holding the inputs' values (PyTorch detaches them), with
    gradients on; the inputs and the outputs, each with whether it was a tuple."""
    is_inputs_tuple, given = _as_tuple(inputs, "inputs", name)
    leaves = tuple(x.detach().requires_grad_(True) for x in given)
    with enable_grad():
        outputs = func(*leaves)
    is_outputs_tuple, outs = _as_tuple(outputs, "outputs of the user-provided function", name)
    if strict:
        for i, out in enumerate(outs):
            if not out.requires_grad:
                raise BackwardError(
                    f"Output {i} of the user-provided function does not require gradients. The "
                    "outputs must be computed in a differentiable manner from the input when "
                    "running in strict mode."
                )
    return is_inputs_tuple, leaves, is_outputs_tuple, outs


def _pullback(
    outs: tuple[Variable, ...], leaves: tuple[Variable, ...], weights: tuple[Any, ...]
) -> list[np.ndarray | None]:
    """sum_i weights[i] . d outs[i] / d leaves, per leaf (None for a leaf nothing reaches)."""
    pairs = [(o, w) for o, w in zip(outs, weights, strict=True) if o.requires_grad]
    if not pairs:
        return [None] * len(leaves)
    found = grad(
        [o for o, _ in pairs],
        list(leaves),
        [w for _, w in pairs],
        retain_graph=True,
        allow_unused=True,
    )
    return [None if g is None else g._data for g in found]


def _filled(grads: list[np.ndarray | None], leaves: tuple[Variable, ...], strict: bool) -> list:
    """Zeros for the leaves no output reaches (refused under ``strict``)."""
    filled = []
    for i, (g, leaf) in enumerate(zip(grads, leaves, strict=True)):
        if g is None:
            if strict:
                raise BackwardError(
                    "The output of the user-provided function is independent of input "
                    f"{i}. This is not allowed in strict mode."
                )
            g = np.zeros_like(leaf._data)
        filled.append(g)
    return filled


def _rows(
    out: Variable, index: int, leaves: tuple[Variable, ...], strict: bool
) -> list[np.ndarray]:
    """d out / d leaf for each leaf, of shape ``out.shape + leaf.shape``: one backward pass per
    element of ``out`` with a one-hot weight (a row of the Jacobian each)."""
    blocks = [np.zeros((out._data.size, *leaf.shape), dtype=leaf._data.dtype) for leaf in leaves]
    if out.requires_grad:
        one_hot = np.zeros_like(out._data)
        flat = one_hot.reshape(-1)
        for j in range(out._data.size):
            flat[j] = 1
            grads = _pullback((out,), leaves, (from_op(one_hot.copy(), None),))
            flat[j] = 0
            for k, (block, g) in enumerate(zip(blocks, grads, strict=True)):
                if g is None and strict:
                    raise BackwardError(
                        f"Output {index} of the user-provided function is independent of input "
                        f"{k}. This is not allowed in strict mode."
                    )
                if g is not None:
                    block[j] = g
    return [
        block.reshape(out.shape + leaf.shape) for block, leaf in zip(blocks, leaves, strict=True)
    ]


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``: for one output and one input a Variable of
    shape ``output.shape + input.shape``; ``jac[i][j]`` (output i, input j) when both are
    tuples, one level of tuple when one is. ``vectorize`` and ``strategy`` choose how PyTorch
    computes it; here every choice computes the same rows, one backward pass each."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ArgumentError(
            f'jacobian(): expected strategy to be either "forward-mode" or "reverse-mode", got '
            f"{strategy!r}"
        )
    if strategy == "forward-mode" and not vectorize:
        raise ArgumentError(
            'torch.autograd.functional.jacobian: `strategy="forward-mode"` requires '
            "`vectorize=True`"
        )
    if strict and vectorize:
        raise BackwardError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`."
        )
    _no_graph("jacobian", create_graph)
    is_inputs_tuple, leaves, is_outputs_tuple, outs = _call(func, inputs, "jacobian", strict)
    result = tuple(
        _unpack(tuple(from_op(b, None) for b in _rows(out, i, leaves, strict)), is_inputs_tuple)
        for i, out in enumerate(outs)
    )
    return _unpack(result, is_outputs_tuple)


#: What ``v=None`` needs, by function: one element in the outputs (vjp) or the inputs (jvp).
_ONE_ELEMENT = {
    "vjp": "the user-provided function returns a single Tensor with a single element.",
    "jvp": "the input to the user-provided function is a single Tensor with a single element.",
}


def _vectors(v: Any, refs: tuple[Variable, ...], is_tuple: bool, name: str) -> tuple:
    """``v`` as a tuple of arrays of the shapes of ``refs`` (PyTorch's ``_validate_v``); None
    is a 1 for a single one-element ``refs``."""
    if v is None:
        if len(refs) != 1 or refs[0]._data.size != 1:
            raise BackwardError(f"The vector v can only be None if {_ONE_ELEMENT[name]}")
        return (np.ones_like(refs[0]._data),)
    _, vs = _as_tuple(v, "v", name)
    if len(vs) != len(refs):
        raise ShapeError(
            f"v is a tuple of invalid length: should be {len(refs)} but got {len(vs)}."
            if is_tuple
            else "The given v should contain a single Tensor."
        )
    for i, (a, ref) in enumerate(zip(vs, refs, strict=True)):
        if a.shape != ref.shape:
            where = f"Entry {i} in " if is_tuple else ""
            raise ShapeError(
                f"{where}v has invalid size: should be {tuple(ref.shape)} but got {tuple(a.shape)}."
            )
    return tuple(a._data for a in vs)


def _detached(outs: tuple[Variable, ...], is_tuple: bool) -> Any:
    return _unpack(tuple(o.detach() for o in outs), is_tuple)


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the outputs (detached) and the vector-Jacobian product, one
    backward pass weighted by ``v`` (which may be None only for a one-element output)."""
    _no_graph("vjp", create_graph)
    is_inputs_tuple, leaves, is_outputs_tuple, outs = _call(func, inputs, "vjp", strict)
    weights = _vectors(v, outs, is_outputs_tuple, "vjp")
    found = _pullback(outs, leaves, tuple(from_op(w, None) for w in weights))
    products = tuple(from_op(g, None) for g in _filled(found, leaves, strict))
    return _detached(outs, is_outputs_tuple), _unpack(products, is_inputs_tuple)


def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the outputs (detached) and the Jacobian-vector product, each
    output's rows found by backward and contracted with ``v`` (which may be None only for a
    one-element input)."""
    _no_graph("jvp", create_graph)
    is_inputs_tuple, given = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, given, is_inputs_tuple, "jvp")
    _, leaves, is_outputs_tuple, outs = _call(func, inputs, "jvp", strict)
    products = []
    for i, out in enumerate(outs):
        total = np.zeros(out.shape, dtype=out._data.dtype)
        for block, a in zip(_rows(out, i, leaves, strict), vs, strict=True):
            total += np.tensordot(block, a, axes=a.ndim).astype(total.dtype, copy=False)
        products.append(from_op(total, None))
    return _detached(outs, is_outputs_tuple), _unpack(tuple(products), is_outputs_tuple)


def _second(name: str) -> Callable[..., Any]:
    def refuse(func: Callable[..., Any], inputs: Any, *args: Any, **kwargs: Any) -> Any:
        raise BackwardError(f"{name}() needs second derivatives: {_NO_SECOND}")

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"PyTorch's ``{name}``: refused, as gradviz has no second derivatives."
    return refuse


hessian = _second("hessian")
vhp = _second("vhp")
hvp = _second("hvp")
