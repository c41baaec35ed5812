"""PyTorch as the oracle for the Transformer layers: with PyTorch's parameters loaded into
gradviz's, outputs and every gradient agree (eval mode with dropout, train mode with
``dropout=0.0``; float32 and float64; norm_first and batch_first either way; with and without
bool or float masks), and ``repr`` and the ``state_dict`` keys are PyTorch's."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gradviz  # noqa: E402
from gradviz import nn  # noqa: E402

E, HEADS, FF, N, S, T = 8, 2, 16, 2, 5, 4
KINDS = [
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerDecoder",
    "Transformer",
]
#: PyTorch's name of MultiheadAttention's output projection, a Linear subclass that only marks
#: it for quantization; gradviz's is a Linear
REPR = {"NonDynamicallyQuantizableLinear": "Linear"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """PyTorch on one thread: its thread pool on a busy 2-core machine is slower, not faster,
    for these small sizes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _make(lib: Any, kind: str, **options: Any) -> Any:
    """A ``kind`` of ``lib`` (gradviz or torch), its stacks of two layers with a final norm."""
    options = {"dim_feedforward": FF, **options}
    if kind == "Transformer":
        return lib.nn.Transformer(E, HEADS, 2, 2, **options)
    layer = getattr(lib.nn, kind.removesuffix("Layer") + "Layer")(E, HEADS, **options)
    if kind.endswith("Layer"):
        return layer
    return getattr(lib.nn, kind)(layer, 2, norm=lib.nn.LayerNorm(E))


def _pair(kind: str, dtype: str = "float32", **options: Any) -> tuple[Any, Any]:
    """The gradviz module and its PyTorch twin with PyTorch's parameters loaded."""
    torch.manual_seed(0)
    with warnings.catch_warnings():  # PyTorch's "enable_nested_tensor is True, but ..."
        warnings.simplefilter("ignore")
        theirs = _make(torch, kind, **options)
    ours = _make(gradviz, kind, **options)
    if dtype == "float64":
        theirs.double()
        ours.double()
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _torch_repr(module: Any) -> str:
    text = repr(module)
    for theirs, ours in REPR.items():
        text = text.replace(theirs, ours)
    return text


def _masks(variant: str, dtype: str) -> dict[str, np.ndarray]:
    """Causal self-attention masks, a padding mask per sequence and a memory mask, none of
    which leaves a query with nothing to attend to; ``variant`` "bool", "float" or "none"."""
    if variant == "none":
        return {}
    src_pad = np.zeros((N, S), bool)
    src_pad[1, -2:] = True
    tgt_pad = np.zeros((N, T), bool)
    tgt_pad[0, -1] = True
    memory = np.zeros((T, S), bool)
    memory[1, 0] = True
    masks = {
        "src_mask": np.triu(np.ones((S, S), bool), 1),
        "tgt_mask": np.triu(np.ones((T, T), bool), 1),
        "memory_mask": memory,
        "src_key_padding_mask": src_pad,
        "tgt_key_padding_mask": tgt_pad,
        "memory_key_padding_mask": src_pad,
    }
    if variant == "float":
        masks = {k: np.where(m, -np.inf, 0.0).astype(dtype) for k, m in masks.items()}
    return masks


#: the masks each kind takes, by its own argument names
_PADDING = "src_key_padding_mask"
_DECODER = {
    k: k for k in ("tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask")
}
MASK_NAMES = {
    "TransformerEncoderLayer": {"src_mask": "src_mask", _PADDING: _PADDING},
    "TransformerEncoder": {"src_mask": "mask", _PADDING: _PADDING},
    "TransformerDecoderLayer": _DECODER,
    "TransformerDecoder": _DECODER,
    "Transformer": {k: k for k in _masks("bool", "float32")},
}


def _inputs(kind: str, dtype: str, batch_first: bool) -> list[np.ndarray]:
    """src (S, N, E) for an encoder; tgt (T, N, E) and memory (S, N, E) for a decoder; src and
    tgt for a Transformer (batch first: N first)."""
    rng = np.random.default_rng(1)
    src, tgt = (rng.standard_normal((n, N, E)).astype(dtype) for n in (S, T))
    arrays = {"Encoder": [src], "Decoder": [tgt, src], "Transformer": [src, tgt]}
    chosen = next(v for k, v in arrays.items() if k in kind)
    return [a.transpose(1, 0, 2).copy() if batch_first else a for a in chosen]


def _run(ours: Any, theirs: Any, arrays: list[np.ndarray], masks: dict[str, Any]) -> None:
    """Both forwards and one weighted sum of the outputs backward: outputs, input gradients
    and every parameter's gradient agree."""
    mine = [gradviz.tensor(a, requires_grad=True) for a in arrays]
    yours = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_g = ours(*mine, **masks)
    out_t = theirs(*yours, **{k: torch.from_numpy(v) for k, v in masks.items()})
    tol = (
        {"rtol": 1e-4, "atol": 2e-5}
        if arrays[0].dtype == np.float32
        else {"rtol": 1e-9, "atol": 1e-12}
    )
    assert out_g.dtype == arrays[0].dtype
    np.testing.assert_allclose(out_g.numpy(), out_t.detach().numpy(), **tol)
    weight = np.linspace(-1, 1, out_g.size).reshape(out_g.shape).astype(arrays[0].dtype)
    (out_g * gradviz.tensor(weight)).sum().backward()
    (out_t * torch.from_numpy(weight)).sum().backward()
    for i, (x, y) in enumerate(zip(mine, yours, strict=True)):
        np.testing.assert_allclose(x.grad, y.grad.numpy(), err_msg=f"input {i}", **tol)
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert params[name].grad is not None, name
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), err_msg=name, **tol)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_outputs_and_gradients_match_torch(kind, norm_first, batch_first, mode):
    """Train mode with dropout 0.0 and eval mode with PyTorch's default dropout 0.1."""
    dropout = 0.0 if mode == "train" else 0.1
    options = {"dropout": dropout, "norm_first": norm_first, "batch_first": batch_first}
    for dtype in ("float32", "float64"):
        ours, theirs = _pair(kind, dtype, **options)
        assert repr(ours) == _torch_repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        if mode == "eval":
            ours.eval()
            theirs.eval()
        for variant in ("none", "bool", "float"):
            masks = _masks(variant, dtype)
            named = {MASK_NAMES[kind][k]: m for k, m in masks.items() if k in MASK_NAMES[kind]}
            _run(ours, theirs, _inputs(kind, dtype, batch_first), named)
            ours.zero_grad()
            theirs.zero_grad()


def test_repr_and_state_dict_keys_of_options_match_torch():
    """bias=False, another eps, gelu by name, GELU as a module (a sub-module in PyTorch)."""
    for options in (
        {"bias": False, "layer_norm_eps": 1e-6},
        {"activation": "gelu"},
    ):
        for kind in KINDS:
            ours, theirs = _pair(kind, **options)
            assert repr(ours) == _torch_repr(theirs)
            assert list(ours.state_dict()) == list(theirs.state_dict())
    ours = nn.TransformerEncoderLayer(E, HEADS, FF, activation=nn.GELU())
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS, FF, activation=torch.nn.GELU())
    assert repr(ours) == _torch_repr(theirs)


@pytest.mark.parametrize(
    "activation",
    ["gelu", "module", "callable"],
)
def test_activations_match_torch(activation):
    """ "gelu", an ``nn.GELU()`` module and any callable (here tanh)."""
    choices = {
        "gelu": ("gelu", "gelu"),
        "module": (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
        "callable": (gradviz.tanh, torch.tanh),
    }
    mine, yours = choices[activation]
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS, FF, 0.0, yours)
    ours = nn.TransformerEncoderLayer(E, HEADS, FF, 0.0, mine)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert ours.activation_relu_or_gelu == theirs.activation_relu_or_gelu
    _run(ours, theirs, _inputs("TransformerEncoderLayer", "float32", False), {})


def test_unbatched_inputs_match_torch():
    """(S, E) and (T, E): no batch dim."""
    for kind in KINDS:
        ours, theirs = _pair(kind, "float64", dropout=0.0)
        _run(ours, theirs, [a[:, 0] for a in _inputs(kind, "float64", False)], {})


def test_causal_hints_match_torch():
    """is_causal with the causal mask (PyTorch then runs its causal kernel)."""
    ours, theirs = _pair("Transformer", "float64", dropout=0.0)
    src_mask = nn.Transformer.generate_square_subsequent_mask(S, dtype=np.float64).numpy()
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=np.float64).numpy()
    masks = {"src_mask": src_mask, "tgt_mask": tgt_mask}
    ours_out = ours(*(gradviz.tensor(a) for a in _inputs("Transformer", "float64", False)), **masks)
    _run(ours, theirs, _inputs("Transformer", "float64", False), masks)
    hinted = ours(
        *(gradviz.tensor(a) for a in _inputs("Transformer", "float64", False)),
        **masks,
        src_is_causal=True,
        tgt_is_causal=True,
    )
    np.testing.assert_allclose(hinted.numpy(), ours_out.numpy())


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_generate_square_subsequent_mask_matches_torch(dtype):
    ours = nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(
        4, dtype=None if dtype is None else torch.float64
    )
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_dtype_argument_makes_parameters_of_that_dtype_as_torch():
    ours = nn.TransformerDecoderLayer(E, HEADS, FF, dtype=gradviz.float64)
    theirs = torch.nn.TransformerDecoderLayer(E, HEADS, FF, dtype=torch.float64)
    assert {str(p.dtype) for p in ours.parameters()} == {"float64"}
    assert {p.dtype for p in theirs.parameters()} == {torch.float64}


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("left_aligned", [True, False])
@pytest.mark.parametrize("norm", [None, "LayerNorm"])
def test_eval_without_gradient_matches_torchs_nested_tensor_path(left_aligned, norm):
    """PyTorch runs a batch_first post-norm stack on nested tensors in eval mode without
    gradients, given a left-aligned padding mask: the padded positions come out 0 (before the
    final norm), and the rest as the slow path gives them."""
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True),
        2,
        norm=torch.nn.LayerNorm(E) if norm else None,
    )
    layer = nn.TransformerEncoderLayer(E, HEADS, FF, batch_first=True)
    ours = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E) if norm else None)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert ours.use_nested_tensor is theirs.use_nested_tensor is True
    ours.eval()
    theirs.eval()
    x = _inputs("TransformerEncoder", "float32", True)[0]
    pad = np.zeros((N, S), bool)
    pad[1, -2:] = True
    if not left_aligned:
        pad[1] = pad[1, ::-1]
    with torch.no_grad(), gradviz.no_grad():
        expected = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).numpy()
        got = ours(x, src_key_padding_mask=pad).numpy()
    if left_aligned and norm is None:
        assert (expected[1, -2:] == 0).all()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    with_grad = ours(x, src_key_padding_mask=pad).numpy()  # the slow path: no zeros
    assert (with_grad[1, -2:] != 0).all()


def test_use_nested_tensor_is_set_as_in_torch():
    for options in (
        {},
        {"batch_first": True},
        {"batch_first": True, "norm_first": True},
        {"batch_first": True, "activation": "gelu"},
        {"batch_first": True, "bias": False},
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch.nn.TransformerEncoder(
                torch.nn.TransformerEncoderLayer(E, HEADS, FF, **options), 1
            )
        ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF, **options), 1)
        assert ours.use_nested_tensor == theirs.use_nested_tensor, options
        assert ours.enable_nested_tensor is theirs.enable_nested_tensor is True


def test_mismatched_mask_types_warn_as_torch():
    """A bool padding mask with a float attention mask: PyTorch's deprecation warning."""
    ours, theirs = _pair("TransformerEncoderLayer", dropout=0.0)
    masks = _masks("bool", "float32")
    src_mask = np.where(masks["src_mask"], -np.inf, 0.0).astype(np.float32)
    pad = masks["src_key_padding_mask"]
    x = _inputs("TransformerEncoderLayer", "float32", False)[0]
    texts = []
    for module, make in ((theirs, torch.tensor), (ours, np.asarray)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module(make(x), src_mask=make(src_mask), src_key_padding_mask=make(pad))
        texts.append([str(w.message) for w in caught])
    assert texts[0] == texts[1]
    assert "mismatched src_key_padding_mask and src_mask" in texts[1][0]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # NumPy's, on the NaN rows
@pytest.mark.parametrize("need_weights", [True, False])
def test_attention_masks_that_together_block_a_row_give_torchs_nan_or_zeros(need_weights):
    """An attn_mask and a key_padding_mask that leave a query nothing to attend to only
    together: NaN (with the weights) or zeros (without) in the output and gradients where
    PyTorch has them."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS)
    ours = nn.MultiheadAttention(E, HEADS)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((4, N, E)).astype(np.float32)
    attn_mask = np.zeros((4, 4), bool)
    attn_mask[0, :2] = True
    padding = np.zeros((N, 4), bool)
    padding[0, 2:] = True
    mine, yours = gradviz.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    masks = {"attn_mask": attn_mask, "key_padding_mask": padding, "need_weights": need_weights}
    out_g = ours(mine, mine, mine, **masks)[0]
    torch_masks = {k: torch.tensor(v) if k != "need_weights" else v for k, v in masks.items()}
    out_t = theirs(yours, yours, yours, **torch_masks)[0]
    np.testing.assert_allclose(out_g.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    out_g.sum().backward()
    out_t.sum().backward()
    assert np.isnan(mine.grad).any() == need_weights
    np.testing.assert_allclose(mine.grad, yours.grad.numpy(), rtol=1e-4, atol=1e-5)
    grads = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(grads[name].grad, p.grad.numpy(), 1e-4, 1e-5, err_msg=name)
