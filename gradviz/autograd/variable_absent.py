"""The names of ``torch.Tensor`` that ``Variable`` has not, refused by name: each is a
descriptor on the class whose reading raises an ``AbsentError`` (an AttributeError, so
``hasattr(x, "to_sparse_csr")`` stays False) saying what to use instead, in the voice of
:mod:`gradviz.autograd.absent`. Descriptors rather than a ``__getattr__``: any other missing
attribute (NumPy probes every operand for ``__array_interface__`` ...) fails as fast, and as
plainly, as Python's own.
"""

from __future__ import annotations

from typing import Any

from gradviz.autograd.errors import AbsentError

_SPARSE = "sparse"  # the hint of PyTorch's sparse tensors (absent.DENSE)
_DEVICE = "gradviz runs on the CPU only: leave the Variable where it is (x.cpu() is x)"

#: (hint, names) of ``torch.Tensor``'s attributes gradviz has not, beyond the hints of
#: PyTorch's top-level names (``absent.hint``), which the other names take
TENSOR_GROUPS: tuple[tuple[str, str], ...] = (
    (
        _SPARSE,
        "to_sparse_coo to_sparse_csr to_sparse_csc to_sparse_bsr to_sparse_bsc "
        "ccol_indices col_indices crow_indices row_indices indices values coalesce "
        "is_coalesced dense_dim",
    ),
    (_DEVICE, "xpu ipu mtia"),
    (
        "gradviz has no streams (it runs every op at once on the CPU): leave the call out",
        "record_stream",
    ),
    (
        "a Variable's memory is a NumPy array: x.numpy() shares it and gradviz.from_numpy(a) "
        "wraps one; x.data = y.data makes x hold y's values",
        "untyped_storage storage_type set_",
    ),
    (
        "gradviz has no MKL-DNN nor nested tensors: every Variable is a dense NumPy array",
        "to_mkldnn to_padded_tensor",
    ),
    (
        "gradviz has no first-class dimensions (functorch.dim): index with x[...] and name "
        "dims with permute, reshape or gradviz.einsum",
        "index",
    ),
    (
        "compare Variables with gradviz.equal(a, b), or hash x.numpy().tobytes()",
        "hash_tensor",
    ),
    (
        "it is a kernel of torch.compile: use x.slice_scatter(src, dim, start, end, step)",
        "slice_inverse",
    ),
)

_TENSOR_HINTS = {name: hint for hint, names in TENSOR_GROUPS for name in names.split()}


def tensor_hint(name: str) -> str | None:
    """What to use instead of ``torch.Tensor.<name>``, if it is one of PyTorch's attributes
    gradviz has not (None otherwise)."""
    from gradviz.autograd import absent  # (it imports variable.py, which imports this)

    hint = _TENSOR_HINTS.get(name)
    return absent.DENSE if hint == _SPARSE else hint or absent.hint(name)


#: ``torch.Tensor``'s attributes gradviz refuses with the hints of PyTorch's top-level names
#: (``absent.hint``), beside ``TENSOR_GROUPS``'
_LIKE_TOP_LEVEL = (
    "as_strided as_strided_ as_strided_scatter cdouble cfloat chalf dequantize geqrf int_repr "
    "istft lu lu_solve orgqr ormqr q_per_channel_axis q_per_channel_scales "
    "q_per_channel_zero_points q_scale q_zero_point qscheme resize_as_sparse_ smm sparse_dim "
    "sparse_mask sparse_resize_ sparse_resize_and_clear_ sspaddmm stft storage"
)


class _Refused:
    """A ``torch.Tensor`` attribute gradviz has not: reading it raises an ``AbsentError`` (an
    AttributeError: ``hasattr`` is False) naming it and what to use instead. One descriptor per
    name, not a ``__getattr__``: every other failed lookup (NumPy's probes of an operand for
    ``__array_interface__`` ...) stays Python's own, at C speed."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, variable: Any, owner: type | None = None) -> Any:
        kind = type(variable).__name__ if variable is not None else owner.__name__
        instead = tensor_hint(self.name)
        error = AbsentError(
            f"'{kind}' object has no attribute '{self.name}': gradviz (NumPy) has no "
            f"Tensor.{self.name}; {instead}"
        )
        error.name, error.obj = self.name, variable
        raise error


def refuse_by_name(cls: type) -> None:
    """Put the descriptor of each refused name on ``cls`` (``Variable``'s mixin)."""
    for name in (*_TENSOR_HINTS, *_LIKE_TOP_LEVEL.split()):
        setattr(cls, name, _Refused(name))
