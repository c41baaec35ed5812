"""Methods of ``Variable`` that PyTorch also has under another name or as a composition of
others (``subtract``, ``greater``, ``byte``, ``fliplr``, ``diag_embed``, ``logaddexp`` ...),
a mixin of ``MoreMethods`` (``variable_more``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradviz.autograd.errors import ShapeError
from gradviz.autograd.variable_math import other_operand

if TYPE_CHECKING:
    from gradviz.autograd.variable import Variable


class AliasMethods:
    """PyTorch's other names (``subtract`` for ``sub`` ...), dtype converters, ``fliplr``,
    ``flipud``, ``diag_embed``, ``broadcast_to``, ``logaddexp`` and ``logaddexp2``."""

    __slots__ = ()

    def subtract(self, other: Any, *, alpha: Any = 1) -> Variable:
        """``self - alpha * other`` (``sub``)."""
        return self.sub(other, alpha=alpha)

    def absolute(self) -> Variable:
        """``|self|`` (``abs``)."""
        return self.abs()

    def greater(self, other: Any) -> Variable:
        """``self > other`` (``gt``)."""
        return self.gt(other)

    def greater_equal(self, other: Any) -> Variable:
        """``self >= other`` (``ge``)."""
        return self.ge(other)

    def less(self, other: Any) -> Variable:
        """``self < other`` (``lt``)."""
        return self.lt(other)

    def less_equal(self, other: Any) -> Variable:
        """``self <= other`` (``le``)."""
        return self.le(other)

    def not_equal(self, other: Any) -> Variable:
        """``self != other`` (``ne``)."""
        return self.ne(other)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(self)`` each time backward has added into this leaf's ``.grad`` (an
        optimizer step per parameter inside backward); ``.remove()`` on the handle."""
        from gradviz.autograd import engine  # (the engine imports Variable)

        return engine.register_post_accumulate_hook(self, hook)

    def byte(self) -> Variable:
        """As uint8 (``to(torch.uint8)``)."""
        return self.to(np.uint8)

    def char(self) -> Variable:
        """As int8."""
        return self.to(np.int8)

    def short(self) -> Variable:
        """As int16."""
        return self.to(np.int16)

    @property
    def is_cpu(self) -> bool:
        """True: gradviz computes on the CPU."""
        return True

    def broadcast_to(self, size: Any) -> Variable:
        """This Variable broadcast to ``size`` (a view, as ``expand``)."""
        from gradviz.autograd.ops.api_more import broadcast_to

        return broadcast_to(self, size)

    def fliplr(self) -> Variable:
        """The columns (dim 1) in reverse order (at least 2-d)."""
        if self.ndim < 2:
            raise ShapeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> Variable:
        """The rows (dim 0) in reverse order (at least 1-d)."""
        if self.ndim < 1:
            raise ShapeError("Input must be >= 1-d.")
        return self.flip(0)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Variable:
        """Each vector of the last dim as the ``offset``-th diagonal of a square matrix, whose
        dims are ``dim1`` and ``dim2`` of the result."""
        n = self.shape[-1] if self.ndim else 1
        size = n + abs(offset)
        rows = np.eye(n, size, max(-offset, 0), dtype=self.dtype)
        cols = np.eye(n, size, max(offset, 0), dtype=self.dtype)
        x = self if self.ndim else self.reshape(1)
        from gradviz.autograd.ops.linalg import einsum  # (ops import Variable)

        out = einsum("...i,ir,ic->...rc", x, rows, cols)
        return out.movedim((-2, -1), (dim1, dim2))

    def logaddexp(self, other: Any) -> Variable:
        """``log(exp(self) + exp(other))`` elementwise, without overflow."""
        from gradviz.autograd.ops.trig import Logaddexp  # (ops import Variable)

        return Logaddexp.apply(self, other_operand(self, other, "logaddexp", numbers=False))

    def logaddexp2(self, other: Any) -> Variable:
        """``log2(2**self + 2**other)`` elementwise, without overflow."""
        from gradviz.autograd.ops.trig import Logaddexp2

        return Logaddexp2.apply(self, other_operand(self, other, "logaddexp2", numbers=False))
