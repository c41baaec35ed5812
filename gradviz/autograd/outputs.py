"""Functions with several outputs, as PyTorch's: ``forward`` returns a tuple of arrays,
``apply`` a tuple of Variables, ``backward`` gets one gradient per output.

The engine runs one rule per node with one output array, so a call is drawn and run as:

* the user's op node (its own class, shown once in graphs), whose one output is the
  differentiable outputs packed into one flat array (the *pack*);
* one :class:`Output` node per output (``MyOp[0]``, ``MyOp[1]``): the pack's slice, reshaped
  and copied; its backward is a :class:`~gradviz.autograd.scattered.Scattered` gradient into the
  pack, which the engine adds in place.

When the op's node runs backward, :class:`Outputs` (the call's layout, standing in for the op's
``backward`` on that node) cuts the pack's gradient into one gradient per output and calls the
user's ``backward`` with them: zeros for an output that took no part in the loss, an integer
output or one marked non-differentiable (``None`` for those after
``ctx.set_materialize_grads(False)``), as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.errors import OperandError
from gradviz.autograd.function import Function, new_context
from gradviz.autograd.scattered import Scattered
from gradviz.autograd.variable import Variable, from_op

__all__ = ["Output", "Outputs", "Slot", "pack", "several"]


class Slot:
    """Where output ``index`` of a call lives: ``pack[start:stop]`` reshaped to ``shape``
    (cast to ``dtype`` when ``cast``), or nowhere when it is not differentiable; ``shape`` is
    None for a result that is not an array (None, a Python number), handed back as it is."""

    __slots__ = ("cast", "differentiable", "dtype", "index", "layout", "shape", "start", "stop")

    def __init__(
        self,
        layout: Outputs,
        index: int,
        array: np.ndarray | None,
        start: int | None,
        pack_dtype: Any,
    ) -> None:
        self.layout, self.index = layout, index
        self.shape = None if array is None else array.shape
        self.dtype = None if array is None else array.dtype
        self.differentiable = start is not None
        self.start = start
        self.stop = None if array is None or start is None else start + array.size
        self.cast = self.differentiable and self.dtype != pack_dtype

    def __repr__(self) -> str:  # the option shown with an output's node
        return f"{self.start}:{self.stop}" if self.differentiable else "not differentiable"


class Outputs:
    """The outputs of one call of op ``op``, and the op's backward as the engine calls it on
    the op's node (``node.backward(node, grad_of_pack)``): the user's rule, one gradient per
    output. ``received`` holds the indices whose :class:`Output` node gave a gradient in this
    pass (None: all did, as in the per-op check)."""

    __slots__ = ("op", "received", "rule", "slots")

    def __init__(
        self, cls: type, arrays: list[np.ndarray | None], non_differentiable: set[int]
    ) -> None:
        self.op, self.rule = cls.__name__, cls.backward
        self.received: set[int] | None = set()
        wanted = [
            a is not None and a.dtype.kind == "f" and id(a) not in non_differentiable
            for a in arrays
        ]
        floats = [a.dtype for a, w in zip(arrays, wanted, strict=True) if w]
        dtype = np.result_type(*floats) if floats else None
        self.slots: list[Slot] = []
        start = 0
        for i, (a, differentiable) in enumerate(zip(arrays, wanted, strict=True)):
            self.slots.append(Slot(self, i, a, start if differentiable else None, dtype))
            start += a.size if differentiable else 0

    def __call__(self, ctx: Any, grad: np.ndarray) -> Any:
        materialize = ctx.__dict__.get("_materialize", True)
        received, grads = self.received, []
        for slot in self.slots:
            if slot.shape is None or (
                not materialize
                and (
                    not slot.differentiable or (received is not None and slot.index not in received)
                )
            ):
                grads.append(None)
            elif slot.differentiable:
                g = grad[slot.start : slot.stop].reshape(slot.shape)
                grads.append(g.astype(slot.dtype) if slot.cast else g)
            else:  # PyTorch hands zeros of the output's own dtype (integer zeros for indices)
                grads.append(np.zeros(slot.shape, dtype=slot.dtype))
        if received is not None:
            received.clear()  # the next pass (retain_graph) starts afresh
        return self.rule(ctx, *grads)


class Output(Function):
    """Output ``slot.index`` of a several-output call: the pack's slice, reshaped and copied
    (so writing into one output in place touches no other); drawn as ``MyOp[0]``."""

    @staticmethod
    def forward(ctx: Any, packed: np.ndarray, elements: Slot) -> np.ndarray:
        ctx.slot, ctx.size, ctx.dtype = elements, packed.size, packed.dtype
        out = packed[elements.start : elements.stop].reshape(elements.shape)
        return out.astype(elements.dtype) if elements.cast else out.copy()

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple[Scattered, None]:
        received = ctx.slot.layout.received
        if received is not None:
            received.add(ctx.slot.index)
        values = grad.reshape(-1)
        if values.dtype != ctx.dtype:
            values = values.astype(ctx.dtype)
        return Scattered((ctx.size,), slice(ctx.slot.start, ctx.slot.stop), values), None

    def name(self) -> str:
        """``MyOp[1]``: the op that made the output, and which output it is."""
        slot = self.inputs[1]
        return f"{slot.layout.op}[{slot.index}]"

    def __repr__(self) -> str:
        return f"<{self.name()} node>"


Output._may_alias = False  # its rule returns a Scattered of grad
Output._own_check = False


def pack(cls: type, ctx: Any, results: tuple[Any, ...] | list[Any]) -> tuple[np.ndarray, Outputs]:
    """Forward's several results as one flat array of the differentiable ones (the pack) and
    their layout, which becomes ``ctx``'s backward (the engine calls ``node.backward``)."""
    if not isinstance(results, tuple):
        raise OperandError(
            f"{cls.__name__}.forward returned a {type(results).__name__} of {len(results)} "
            "items; return several outputs as a tuple (PyTorch hands a list back as it is, "
            "untracked)"
        )
    arrays = [_array(cls, i, r) for i, r in enumerate(results)]
    if all(a is None for a in arrays):
        raise OperandError(f"{cls.__name__}.forward returned no array in its tuple of outputs")
    layout = Outputs(cls, arrays, ctx.__dict__.get("_non_differentiable", set()))
    parts = [a.reshape(-1) for a, s in zip(arrays, layout.slots, strict=True) if s.differentiable]
    if parts:
        dtype = np.result_type(*parts)
        flat = np.concatenate(parts, dtype=dtype) if len(parts) > 1 else parts[0].astype(dtype)
    else:
        flat = np.zeros(0, dtype=np.float32)
    ctx.__dict__["backward"] = layout  # the node's backward: node.backward(node, grad)
    return flat, layout


def _array(cls: type, index: int, result: Any) -> np.ndarray | None:
    """One result of forward as an ndarray of numbers (a NumPy scalar too: ``x.sum()``),
    None for one handed back as it is (None, a Python number: as PyTorch), or a refusal."""
    if not isinstance(result, np.ndarray | np.generic):
        return None
    array = np.asarray(result)
    if array.dtype.kind not in "fiub":
        raise OperandError(
            f"{cls.__name__}.forward returned an array of dtype {array.dtype} as output "
            f"{index}; each output must be a NumPy array of numbers (or None, a Python number)"
        )
    return array


def several(
    cls: type, ctx: Any, args: tuple[Any, ...], parents: tuple[Variable, ...], results: Any
) -> tuple[Variable, ...]:
    """``cls.apply``'s result when forward returned a tuple: one Variable per output, each
    from its :class:`Output` node when anything is recorded or watched."""
    flat, layout = pack(cls, ctx, results)
    active = hooks.ACTIVE
    record = True in ctx.needs_input_grad and any(s.differentiable for s in layout.slots)
    if not (record or active):
        return tuple(
            r if s.shape is None else from_op(np.asarray(r), None)
            for s, r in zip(layout.slots, results, strict=True)
        )
    ctx.inputs, ctx.parents = args, parents
    packed = from_op(flat, ctx if record else None)
    for hook in active:
        hook.op(ctx, args, packed)
    outs = []
    for slot, result in zip(layout.slots, results, strict=True):
        node = new_context(Output, (record and slot.differentiable, False))
        node.inputs, node.parents = (packed, slot), (packed,)
        if slot.shape is None:
            outs.append(result)
            continue
        if slot.differentiable:
            out = from_op(Output.forward(node, flat, slot), node if record else None)
        else:
            out = from_op(np.asarray(result), None)
        for hook in active:
            hook.op(node, node.inputs, out)
        outs.append(out)
    return tuple(outs)
