"""Rows of the op table (``test_ops.py``) for the tensor ops: indexing and layout, pointwise
sin/cos/maximum/minimum, logsumexp/var/std/norm and einsum.

``rows(Case, Uniform)`` builds them with the table's own classes, so this module does not
import ``test_ops`` (which imports it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import gradviz

MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
GATHER_INDEX = np.array([[0, 0, 2], [3, 1, 1], [2, 2, 0]])  # repeats: gradients add up


def _weighted(pieces: tuple[Any, ...], dim: int) -> Any:
    """Pieces joined again, each scaled differently, so every piece's gradient is checked."""
    return gradviz.cat([p * (i + 1) for i, p in enumerate(pieces)], dim=dim)


def _weighted_ref(x: np.ndarray, bounds: list[int], dim: int) -> np.ndarray:
    pieces = np.split(x, bounds, axis=dim)
    return np.concatenate([p * (i + 1) for i, p in enumerate(pieces)], axis=dim)


def _var_ref(x: np.ndarray, axis: Any = None, ddof: int = 1, keepdims: bool = False) -> Any:
    return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)


def _logsumexp_ref(x: np.ndarray, axis: Any, keepdims: bool = False) -> np.ndarray:
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


def _layout_rows(Case: Any, Uniform: Any) -> list[Any]:
    positive = Uniform(0.5, 2.0)
    return [
        Case(
            "Expand",
            "expand_new_axis",
            ((3, 1),),
            lambda x: x.expand(2, 3, 4),
            lambda x: np.broadcast_to(x, (2, 3, 4)),
        ),
        Case(
            "Expand",
            "expand_-1",
            ((3, 1),),
            lambda x: x.expand(-1, 5),
            lambda x: np.broadcast_to(x, (3, 5)),
        ),
        Case(
            "Repeat",
            "repeat",
            ((2, 3),),
            lambda x: x.repeat(2, 1, 2),
            lambda x: np.tile(x, (2, 1, 2)),
        ),
        Case(
            "Repeat",
            "repeat_tuple",
            ((3,),),
            lambda x: x.repeat((3, 2)),
            lambda x: np.tile(x, (3, 2)),
        ),
        Case(
            "Split",
            "split_size",
            ((5, 3),),
            lambda x: _weighted(x.split(2), 0),
            lambda x: _weighted_ref(x, [2, 4], 0),
        ),
        Case(
            "Split",
            "split_sections",
            ((2, 5),),
            lambda x: _weighted(x.split([1, 3, 1], dim=1), 1),
            lambda x: _weighted_ref(x, [1, 4], 1),
        ),
        Case(
            "Split",
            "chunk",
            ((2, 7),),
            lambda x: _weighted(x.chunk(3, dim=-1), 1),
            lambda x: _weighted_ref(x, [3, 6], 1),
        ),
        Case(
            "Gather",
            "gather_dim1",
            ((3, 4),),
            lambda x: x.gather(1, GATHER_INDEX),
            lambda x: np.take_along_axis(x, GATHER_INDEX, axis=1),
        ),
        Case(
            "Gather",
            "gather_dim0_smaller_index",
            ((4, 3),),
            lambda x: x.gather(0, GATHER_INDEX[:2, :2]),
            lambda x: np.take_along_axis(x[:, :2], GATHER_INDEX[:2, :2], axis=0),
        ),
        Case(
            "MaskedFill",
            "masked_fill",
            ((3, 4),),
            lambda x: x.masked_fill(MASK, -1.5),
            lambda x: np.where(MASK, -1.5, x),
        ),
        Case(
            "MaskedFill",
            "masked_fill_variable_value_broadcast_mask",
            ((3, 4), ()),
            lambda x, v: x.masked_fill(MASK[0], v),
            lambda x, v: np.where(MASK[0], v, x),
        ),
        Case(
            "Where",
            "where_broadcast",
            ((3, 4), (4,)),
            lambda a, b: gradviz.where(MASK, a, b),
            lambda a, b: np.where(MASK, a, b),
        ),
        Case(
            "Where",
            "where_scalar",
            ((3, 4),),
            lambda a: gradviz.where(MASK, a, 0.0),
            lambda a: np.where(MASK, a, 0.0),
        ),
        Case("Tril", "tril", ((2, 3, 4),), lambda x: x.tril(), np.tril),
        Case("Tril", "tril_-1", ((4, 3),), lambda x: gradviz.tril(x, -1), lambda x: np.tril(x, -1)),
        Case("Triu", "triu", ((3, 4),), lambda x: x.triu(), np.triu),
        Case("Triu", "triu_1", ((2, 4, 4),), lambda x: x.triu(diagonal=1), lambda x: np.triu(x, 1)),
        Case("Cumsum", "cumsum_dim1", ((3, 4),), lambda x: x.cumsum(1), lambda x: x.cumsum(1)),
        Case("Cumsum", "cumsum_dim0", ((3, 4),), lambda x: x.cumsum(dim=0), lambda x: x.cumsum(0)),
        Case(
            "Cumsum",
            "cumsum_function",
            ((2, 3, 2),),
            lambda x: gradviz.cumsum(x, -2),
            lambda x: x.cumsum(-2),
            ranges=positive,
        ),
    ]


def _math_rows(Case: Any, Uniform: Any) -> list[Any]:
    away = Uniform(avoid=(0.0,))
    return [
        Case("Sin", "sin", ((2, 3),), lambda x: x.sin(), np.sin, ranges=Uniform(-4, 4)),
        Case("Cos", "cos", ((2, 3),), lambda x: gradviz.cos(x), np.cos, ranges=Uniform(-4, 4)),
        Case("Pow", "square", ((2, 3),), lambda x: x.square(), np.square),
        Case("Maximum", "maximum", ((3, 4), (4,)), lambda a, b: a.maximum(b), np.maximum),
        Case("Minimum", "minimum", ((3, 1), (4,)), lambda a, b: gradviz.minimum(a, b), np.minimum),
        Case(
            "Logsumexp",
            "logsumexp_dim1",
            ((3, 4),),
            lambda x: x.logsumexp(1),
            lambda x: _logsumexp_ref(x, 1),
        ),
        Case(
            "Logsumexp",
            "logsumexp_dims_keepdim",
            ((2, 3, 4),),
            lambda x: gradviz.logsumexp(x, (0, 2), keepdim=True),
            lambda x: _logsumexp_ref(x, (0, 2), keepdims=True),
        ),
        Case("Var", "var_all", ((3, 4),), lambda x: x.var(), _var_ref),
        Case(
            "Var",
            "var_dim_keepdim_biased",
            ((3, 4),),
            lambda x: x.var(1, keepdim=True, correction=0),
            lambda x: _var_ref(x, 1, 0, True),
        ),
        Case("Var", "var_unbiased_false", ((5,),), lambda x: x.var(0, False), _var_ref_biased),
        Case("Std", "std_all", ((3, 4),), lambda x: x.std(), lambda x: np.std(x, ddof=1)),
        Case(
            "Std",
            "std_dim0",
            ((3, 4),),
            lambda x: gradviz.std(x, dim=0),
            lambda x: np.std(x, axis=0, ddof=1),
        ),
        Case("Norm", "norm_2", ((3, 4),), lambda x: x.norm(), np.linalg.norm),
        Case(
            "Norm",
            "norm_1_dim1",
            ((3, 4),),
            lambda x: x.norm(p=1, dim=1),
            lambda x: np.abs(x).sum(1),
            ranges=away,
        ),
        Case(
            "Norm",
            "norm_inf_dim0_keepdim",
            ((3, 4),),
            lambda x: x.norm(float("inf"), 0, True),
            lambda x: np.abs(x).max(0, keepdims=True),
            ranges=away,
        ),
        Case(
            "Norm",
            "norm_3",
            ((2, 3),),
            lambda x: gradviz.norm(x, 3, dim=-1),
            lambda x: (np.abs(x) ** 3).sum(-1) ** (1 / 3),
            ranges=away,
        ),
    ]


def _var_ref_biased(x: np.ndarray) -> Any:
    return np.var(x, ddof=0)


def _einsum_rows(Case: Any) -> list[Any]:
    def row(id: str, equation: str, *shapes: tuple[int, ...]) -> Any:
        return Case(
            "Einsum",
            id,
            shapes,
            lambda *xs: gradviz.einsum(equation, *xs),
            lambda *xs: np.einsum(equation, *xs),
        )

    return [
        row("einsum_mm", "ij,jk->ik", (3, 4), (4, 2)),
        row("einsum_attention_scores", "bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
        row("einsum_attention_values", "bhqk,bhkd->bqhd", (2, 2, 3, 5), (2, 2, 5, 4)),
        row("einsum_bilinear", "bi,oij,bj->bo", (3, 4), (2, 4, 5), (3, 5)),
        row("einsum_sum_axis", "ij->j", (3, 4)),
        row("einsum_implicit", "ij,jk", (2, 3), (3, 4)),
        row("einsum_outer", "i,j->ij", (3,), (4,)),
        row("einsum_trace_free_total", "ijk->", (2, 3, 2)),
        row("einsum_batch_dot_unused_axis", "bi,bj->b", (3, 4), (3, 2)),
        row("einsum_ellipsis_batch_mm", "...ij,...jk->...ik", (2, 3, 4), (2, 4, 5)),
        row("einsum_ellipsis_implicit", "...ij,...jk", (2, 3, 4), (2, 4, 5)),
        row("einsum_ellipsis_middle", "b...j,b...j->b...", (2, 3, 4), (2, 3, 4)),
        row("einsum_ellipsis_shorter_operand", "...ij,jk->...ik", (2, 2, 3), (3, 4)),
    ]


def rows(Case: Any, Uniform: Any) -> list[Any]:
    """Every row of this module, for ``test_ops.CASES``."""
    return [*_layout_rows(Case, Uniform), *_math_rows(Case, Uniform), *_einsum_rows(Case)]
