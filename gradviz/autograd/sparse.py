"""PyTorch's ``torch.sparse`` as far as dense matrices go: every gradviz tensor is dense
(PyTorch's ``strided`` layout), so ``gradviz.sparse.mm`` and ``gradviz.spmm`` are the matrix
product of two dense matrices, as PyTorch's are when given dense ones. Making a sparse tensor
(``to_sparse``, ``sparse_coo_tensor``, the legacy ``sparse.FloatTensor``) is refused with the
dense way to write it: a graph's adjacency of a few thousand nodes fits in memory."""

from __future__ import annotations

from typing import Any, NoReturn

from gradviz.autograd.errors import OperandError
from gradviz.autograd.ops import api
from gradviz.autograd.variable import Variable

#: the dense way to write what a sparse tensor is for
DENSE = (
    "gradviz has no sparse tensors: keep the matrix dense (a 0/1 or weighted adjacency "
    "matrix: adj = torch.zeros(n, n).index_put((row, col), values, accumulate=True) sums "
    "repeated edges as coalesce() does) and multiply with adj @ x "
    "(torch.sparse.mm and torch.spmm take dense matrices too)"
)


def mm(mat1: Any, mat2: Any) -> Variable:
    """``mat1 @ mat2`` for two dense 2-D matrices (PyTorch's ``torch.sparse.mm`` given dense
    ones)."""
    return api.mm(mat1, mat2)


def refuse(what: str) -> NoReturn:
    """Refuse to make a sparse tensor, saying how to write it densely."""
    raise OperandError(f"{what}: {DENSE}")


def sparse_coo_tensor(*args: Any, **kwargs: Any) -> NoReturn:
    """PyTorch's ``torch.sparse_coo_tensor``: refused (gradviz keeps every tensor dense)."""
    refuse("sparse_coo_tensor")


def _legacy(name: str) -> type:
    def __new__(cls: type, *args: Any, **kwargs: Any) -> NoReturn:
        refuse(f"torch.sparse.{name}")

    return type(name, (), {"__new__": __new__, "__doc__": f"``torch.sparse.{name}``: refused."})


FloatTensor, DoubleTensor, LongTensor = (
    _legacy(n) for n in ("FloatTensor", "DoubleTensor", "LongTensor")
)
