"""Unrecorded in-place writes of a Variable by another, shown to the hooks as an op.

``next_state_values[mask] = target_net(s).max(1).values`` under ``no_grad`` records no graph
(nothing requires grad), yet the picture should show where the values came from: the hooks
get the write as an op (``IndexPut_``) on the value before it, so the tracer can draw the
target network feeding it. The engine's state is left as the unrecorded write left it: no node, the
same id, leaf status and ``requires_grad`` unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd import hooks
from gradviz.autograd.function import Function, new_context
from gradviz.autograd.variable import Variable


def shown(target: Variable, args: tuple[Any, ...]) -> tuple[np.ndarray, list[Any]] | None:
    """Before the write: a copy of ``target``'s value and the hooks that are to see the write,
    when ``target`` takes no gradient (a parameter's update is no data flow to draw), a
    Variable is written into it (not a constant fill) and a hook asks for it. The caller has
    checked that hooks are installed (one test on the path of every unrecorded write)."""
    if target.requires_grad:
        return None
    if not any(isinstance(a, Variable) and a is not target for a in args):
        return None
    seeing = [hook for hook in hooks.ACTIVE if hook.sees_write(target, args)]
    return (target._data.copy(), seeing) if seeing else None


def show(
    target: Variable, op: type[Function], args: tuple[Any, ...], seen: tuple[np.ndarray, list[Any]]
) -> None:
    """Tell the hooks ``seen`` names that ``op`` wrote ``args`` into ``target`` (whose value
    was the array ``seen`` holds)."""
    from gradviz.autograd.inplace import _stand_in  # (it imports this module)

    before, seeing = seen
    inputs = (_stand_in(target, before), *args)
    ctx = new_context(op, (False,) * len(inputs))
    ctx.inputs = ctx.parents = inputs
    for hook in seeing:
        hook.inplace_from(ctx, inputs, target)
