"""PyTorch as the oracle for embedding, scaled_dot_product_attention and MultiheadAttention
(skipped unless torch is installed): values and gradients in float64."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def _pair(shape: tuple[int, ...]) -> tuple[Variable, object]:
    array = RNG.normal(size=shape)
    return Variable(array.copy(), requires_grad=True), torch.tensor(array, requires_grad=True)


def _close(ours: np.ndarray, theirs: object) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-9, atol=1e-11)


def test_embedding_with_padding_idx_matches_torch():
    w, tw = _pair((6, 3))
    idx = np.array([[1, 4, 4], [0, 5, 1]])
    up = RNG.normal(size=(2, 3, 3))
    out = F.embedding(idx, w, padding_idx=4)
    tout = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=4)
    _close(out.numpy(), tout)
    (out * up).sum().backward()
    (tout * torch.tensor(up)).sum().backward()
    _close(w.grad, tw.grad)


def test_embedding_rows_picked_many_times_get_every_gradient_as_torch():
    w, tw = _pair((7, 4))
    idx = RNG.integers(0, 5, (6, 9))  # every picked row many times, rows 5 and 6 never
    up = RNG.normal(size=(6, 9, 4))
    out = F.embedding(idx, w)
    tout = torch.nn.functional.embedding(torch.tensor(idx), tw)
    _close(out.numpy(), tout)
    (out * up).sum().backward()
    (tout * torch.tensor(up)).sum().backward()
    _close(w.grad, tw.grad)


CAUSAL = np.tril(np.ones((4, 5), dtype=bool))
BOOL = RNG.random((2, 1, 4, 5)) > 0.3
BOOL[..., 0] = True  # every row keeps a position
FLOAT = RNG.normal(size=(4, 5))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"attn_mask": BOOL}, {"attn_mask": FLOAT}, {"is_causal": True}, {"scale": 0.3}],
    ids=["plain", "bool_mask", "float_mask", "causal", "scale"],
)
def test_sdpa_matches_torch(kwargs):
    (q, tq), (k, tk), (v, tv) = _pair((2, 3, 4, 6)), _pair((2, 3, 5, 6)), _pair((2, 3, 5, 2))
    up = RNG.normal(size=(2, 3, 4, 2))
    theirs = {
        key: torch.tensor(val) if isinstance(val, np.ndarray) else val
        for key, val in kwargs.items()
    }
    out = F.scaled_dot_product_attention(q, k, v, **kwargs)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **theirs)
    _close(out.numpy(), tout)
    (out * up).sum().backward()
    (tout * torch.tensor(up)).sum().backward()
    for ours, them in ((q, tq), (k, tk), (v, tv)):
        _close(ours.grad, them.grad)


@pytest.fixture(autouse=True)
def _float64():
    saved = gradviz.get_default_dtype()
    gradviz.set_default_dtype(np.float64)
    yield
    gradviz.set_default_dtype(saved)


def _mha_pair(batch_first: bool, bias: bool = True):
    ours = nn.MultiheadAttention(8, 2, bias=bias, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, bias=bias, batch_first=batch_first).double()
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            param.copy_(torch.tensor(dict(ours.named_parameters())[name].numpy()))
    return ours, theirs


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("masks", ["none", "key_padding", "attn_bool", "attn_float", "causal"])
def test_mha_matches_torch(batch_first, average, masks):
    ours, theirs = _mha_pair(batch_first)
    shape_q, shape_kv = ((3, 4, 8), (3, 5, 8)) if batch_first else ((4, 3, 8), (5, 3, 8))
    (q, tq), (k, tk), (v, tv) = _pair(shape_q), _pair(shape_kv), _pair(shape_kv)
    kwargs = {}
    if masks == "key_padding":
        pad = np.zeros((3, 5), dtype=bool)
        pad[0, 3:], pad[2, 1] = True, True
        kwargs["key_padding_mask"] = pad
    elif masks == "attn_bool":
        kwargs["attn_mask"] = ~np.tril(np.ones((4, 5), dtype=bool))
    elif masks == "attn_float":
        kwargs["attn_mask"] = RNG.normal(size=(6, 4, 5))
    elif masks == "causal":
        kwargs.update(attn_mask=~np.tril(np.ones((4, 5), dtype=bool)), is_causal=True)
    theirs_kwargs = {
        key: torch.tensor(val) if isinstance(val, np.ndarray) else val
        for key, val in kwargs.items()
    }
    out, weights = ours(q, k, v, average_attn_weights=average, **kwargs)
    tout, tweights = theirs(tq, tk, tv, average_attn_weights=average, **theirs_kwargs)
    _close(out.numpy(), tout)
    _close(weights.numpy(), tweights)
    up = RNG.normal(size=out.shape)
    (out * up).sum().backward()
    (tout * torch.tensor(up)).sum().backward()
    for ours_t, them in ((q, tq), (k, tk), (v, tv)):
        _close(ours_t.grad, them.grad)
    params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        _close(param.grad, params[name].grad)


def test_mha_unbatched_matches_torch():
    ours, theirs = _mha_pair(False, bias=False)
    (q, tq), (k, tk) = _pair((4, 8)), _pair((5, 8))
    out, weights = ours(q, k, k)
    tout, tweights = theirs(tq, tk, tk)
    _close(out.numpy(), tout)
    _close(weights.numpy(), tweights)


def test_sdpa_row_with_nothing_to_attend_is_zero_as_in_torch():
    (q, tq), (v, tv) = _pair((1, 3, 4)), _pair((1, 3, 2))
    mask = np.array([[True, False, True], [False, False, False], [True, True, True]])
    out = F.scaled_dot_product_attention(q, q, v, attn_mask=mask)
    tout = torch.nn.functional.scaled_dot_product_attention(
        tq, tq, tv, attn_mask=torch.tensor(mask)
    )
    _close(out.numpy(), tout)
    out.sum().backward()
    tout.sum().backward()
    for ours, them in ((q, tq), (v, tv)):
        _close(ours.grad, them.grad)
