"""PyTorch's ``torch.autograd.forward_ad`` (forward-mode AD with dual tensors), refused: gradviz
differentiates in reverse mode only. ``gradviz.func.jvp`` and ``jacfwd`` give the same values
(computed by reverse mode)."""

from __future__ import annotations

from typing import Any

from gradviz.autograd.errors import UnsupportedError

_MESSAGE = (
    "forward-mode AD (torch.autograd.forward_ad) is not supported: gradviz differentiates in "
    "reverse mode; gradviz.func.jvp(f, (x,), (v,)) gives the Jacobian-vector product, and "
    "gradviz.func.jacfwd the Jacobian"
)


def _refused(*args: Any, **kwargs: Any) -> Any:
    raise UnsupportedError(f"{_MESSAGE}")


dual_level = make_dual = unpack_dual = enter_dual_level = exit_dual_level = _refused
