"""``gradviz.autograd.grad``: the gradients of outputs with respect to chosen inputs, returned
rather than accumulated into ``.grad`` (PyTorch's ``torch.autograd.grad``); and
``gradviz.autograd.backward``, PyTorch's ``torch.autograd.backward`` of several outputs at once.

It runs the engine's backward with a hook on each input collecting its gradient, and leaves
every ``.grad`` of the graph as it found it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from gradviz.autograd import higher
from gradviz.autograd.engine import accumulate
from gradviz.autograd.errors import BackwardError, OperandError, ShapeError
from gradviz.autograd.variable import Variable, from_op

__all__ = ["backward", "grad"]


def _variables(value: Any, what: str, name: str = "grad") -> list[Variable]:
    """``value`` as a list of Variables: one Variable, or any iterable of them (a list, a
    tuple, ``model.parameters()``)."""
    iterable = isinstance(value, Iterable) and not isinstance(value, Variable | str)
    items = list(value) if iterable else [value]
    for item in items:
        if not isinstance(item, Variable):
            raise OperandError(f"{name}(): {what} must be Variables, got {type(item).__name__}")
    return items


def _leaves(outputs: list[Variable]) -> list[Variable]:
    """Every leaf that requires grad and that ``outputs`` were computed from."""
    seen: set[int] = set()
    leaves, stack = [], list(outputs)
    while stack:
        v = stack.pop()
        if v._id in seen:
            continue
        seen.add(v._id)
        if v._node is None:
            if v.requires_grad:
                leaves.append(v)
            continue
        stack.extend(a for a in v._node.inputs if isinstance(a, Variable) and a.requires_grad)
    return leaves


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Variable | None, ...]:
    """The gradient of (the sum of) ``outputs`` with respect to each of ``inputs``, one
    Variable each (None for an input the outputs do not depend on, with ``allow_unused``; zeros
    with ``materialize_grads``), without touching any ``.grad``. ``grad_outputs`` weighs
    non-scalar outputs, as ``backward(gradient)`` does. With ``create_graph`` the gradients
    are Variables with a graph (``retain_graph`` then defaults to True), to differentiate
    again: a gradient penalty, ``d2y/dx2``. With ``is_grads_batched`` the first dimension of
    each of ``grad_outputs`` is a batch: one gradient per entry, stacked (rows of a Jacobian)."""
    if is_grads_batched:
        return _batched(
            outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
            materialize_grads,
        )  # fmt: skip
    outs, ins = _variables(outputs, "outputs"), _variables(inputs, "inputs")
    weights = (
        [None] * len(outs)
        if grad_outputs is None
        else list(grad_outputs if isinstance(grad_outputs, Sequence) else [grad_outputs])
    )
    if len(weights) != len(outs):
        raise OperandError(
            f"grad(): grad_outputs has {len(weights)} entries for {len(outs)} outputs"
        )
    for x in ins:
        if not x.requires_grad:
            raise BackwardError(
                "One of the differentiated Tensors does not require grad (an input to grad())"
            )
    if create_graph:
        keep = True if retain_graph is None else bool(retain_graph)
        return _results(higher.grad(outs, weights, ins, keep), ins, allow_unused, materialize_grads)
    found: dict[int, np.ndarray] = {}

    def collector(index: int):
        def hook(g: Variable) -> None:
            found[index] = found[index] + g._data if index in found else g._data.copy()

        return hook

    leaves = _leaves(outs)
    kept = [(leaf, leaf._grad) for leaf in leaves]
    handles = [x.register_hook(collector(i)) for i, x in enumerate(ins)]
    try:
        for leaf in leaves:
            leaf._grad = None
        for k, (out, weight) in enumerate(zip(outs, weights, strict=True)):
            last = k == len(outs) - 1
            out.backward(weight, retain_graph=bool(retain_graph) or not last)
    finally:
        for handle in handles:
            handle.remove()
        for leaf, before in kept:
            leaf._grad = before
    grads = [from_op(found[i], None) if i in found else None for i in range(len(ins))]
    return _results(grads, ins, allow_unused, materialize_grads)


def _batched(
    outputs: Any, inputs: Any, grad_outputs: Any, retain_graph: Any, *flags: Any
) -> tuple[Variable | None, ...]:
    """``grad(..., is_grads_batched=True)``: ``grad`` once per entry of the first dimension of
    the ``grad_outputs``, each input's gradients stacked (None where every one is None)."""
    weights = list(grad_outputs if isinstance(grad_outputs, Sequence) else [grad_outputs])
    if not weights or not all(isinstance(w, Variable) and w.ndim > 0 for w in weights):
        raise OperandError(
            "grad(): is_grads_batched=True needs grad_outputs, Variables whose first "
            "dimension is the batch"
        )
    size = weights[0].shape[0]
    if any(w.shape[0] != size for w in weights):
        raise ShapeError(
            "grad(): with is_grads_batched=True every grad_outputs entry needs the same batch "
            f"size, got {[w.shape[0] for w in weights]}"
        )
    rows = [
        grad(outputs, inputs, [w[b] for w in weights], True if b < size - 1 else retain_graph,
             *flags[:2], False, flags[2])
        for b in range(size)
    ]  # fmt: skip
    from gradviz.autograd.ops.shape import stack

    return tuple(
        None if all(g is None for g in column) else stack(list(column))
        for column in zip(*rows, strict=True)
    )


def _results(
    grads: list[Variable | None], ins: list[Variable], allow_unused: Any, materialize: bool
) -> tuple[Variable | None, ...]:
    """What ``grad`` returns: each input's gradient; for an input the outputs do not reach,
    zeros (``materialize_grads``), None (``allow_unused``) or PyTorch's error."""
    result: list[Variable | None] = []
    for i, (g, x) in enumerate(zip(grads, ins, strict=True)):
        if g is not None:
            result.append(g)
        elif materialize:
            result.append(from_op(np.zeros_like(x._data), None))
        elif allow_unused:
            result.append(None)
        else:
            raise BackwardError(
                f"The differentiated Tensor at index {i} appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior."
            )
    return tuple(result)


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """Accumulate into ``.grad`` the gradients of the sum of ``tensors`` (each weighted by its
    entry of ``grad_tensors``, which may be None for a scalar), as ``t.backward(g)`` for each
    pair; with ``inputs``, into those Variables' ``.grad`` only (leaves or not), every other
    ``.grad`` left as it was. With ``create_graph`` each ``.grad`` is a Variable with a graph."""
    if grad_variables is not None:
        warnings.warn(
            "`grad_variables` is deprecated. Use `grad_tensors` instead.",
            FutureWarning,
            stacklevel=2,
        )
        if grad_tensors is not None:
            raise OperandError(
                "backward(): `grad_tensors` and `grad_variables` (deprecated) arguments both "
                "passed to `backward()`. Please only use `grad_tensors`."
            )
        grad_tensors = grad_variables
    outs = _variables(tensors, "tensors", "backward")
    if grad_tensors is None:
        weights: list[Any] = [None] * len(outs)
    elif isinstance(grad_tensors, Sequence) and not isinstance(grad_tensors, Variable):
        weights = list(grad_tensors)
    else:
        weights = [grad_tensors]
    if len(weights) != len(outs):
        raise BackwardError(f"got {len(outs)} tensors and {len(weights)} gradients")
    if inputs is not None or create_graph:
        backward_into(outs, weights, inputs, retain_graph, create_graph)
        return
    for k, (out, weight) in enumerate(zip(outs, weights, strict=True)):
        last = k == len(outs) - 1
        out.backward(weight, retain_graph=bool(retain_graph) or not last, create_graph=create_graph)


def backward_into(
    outputs: list[Variable],
    weights: list[Any],
    inputs: Any,
    retain_graph: bool | None,
    create_graph: bool = False,
) -> None:
    """PyTorch's ``backward(inputs=...)``: the gradients of ``outputs`` added into the ``.grad``
    of each of ``inputs`` (a non-leaf's too), and into no other ``.grad``; and
    ``backward(create_graph=True)``, with or without ``inputs`` (``gradviz.autograd.higher``)."""
    unique = None
    if inputs is not None:
        chosen = _variables(inputs, "inputs", "backward")
        if not chosen:
            raise BackwardError("`inputs` argument to `backward()` cannot be empty.")
        unique = list({x._id: x for x in chosen}.values())
    if create_graph:
        keep = True if retain_graph is None else bool(retain_graph)
        higher.backward(outputs, weights, unique, keep)
        return
    # The other leaves sit the pass out, as PyTorch runs no AccumulateGrad for them: no
    # gradient reaches them, so their hooks do not run and a trace draws none.
    kept = {x._id for x in (*unique, *outputs)}  # a leaf output still starts its pass
    left_out = [leaf for leaf in _leaves(outputs) if leaf._id not in kept]
    for leaf in left_out:
        leaf.requires_grad = False
    try:
        grads = grad(outputs, unique, weights, retain_graph=retain_graph, allow_unused=True)
    finally:
        for leaf in left_out:
            leaf.requires_grad = True
    for x, g in zip(unique, grads, strict=True):
        if g is not None:
            accumulate(x, g._data)
