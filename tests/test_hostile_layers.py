"""Hostile but realistic use of the layers, side by side with PyTorch: each case ends in
PyTorch's values and gradients or in a GradvizError saying what PyTorch says."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz import Variable, nn
from gradviz import functional as F

torch = pytest.importorskip("torch")


def _random(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _same_as_torch(ours, theirs, arrays, atol: float = 1e-5) -> None:
    """``ours(*Variables)`` and ``theirs(*tensors)`` agree in value and in the gradients of
    every float input for one random upstream gradient."""
    tensors = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    variables = [Variable(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    expected, got = theirs(*tensors), ours(*variables)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), atol=atol, rtol=atol)
    assert got.dtype == expected.detach().numpy().dtype
    upstream = np.random.default_rng(1).standard_normal(got.shape).astype(got.dtype)
    expected.backward(torch.tensor(upstream))
    got.backward(Variable(upstream))
    for tensor, variable in zip(tensors, variables, strict=True):
        if tensor.requires_grad:
            np.testing.assert_allclose(
                variable.grad.numpy(), tensor.grad.numpy(), atol=10 * atol, rtol=10 * atol
            )


def _twins(name: str, *args, **kwargs):
    """The gradviz and the PyTorch module of one name and arguments, with equal parameters."""
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    state = {k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)
    return ours, theirs


# ---------------------------------------------------------------------------- F.pad modes
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("pad", "shape"),
    [
        ((2, 1), (2, 3, 6)),
        ((2, 1), (3, 6)),  # unbatched
        ((1, 2, 3, 0), (2, 3, 5, 6)),
        ((-1, -2, 1, 0), (2, 3, 5, 6)),  # negative amounts crop
        ((1, 0, 2, 1, 1, 1), (1, 2, 3, 4, 5)),
    ],
)
def test_pad_modes_match_pytorch(mode, pad, shape):
    _same_as_torch(  # was: "only mode='constant' is supported"
        lambda x: F.pad(x, pad, mode=mode),
        lambda x: torch.nn.functional.pad(x, pad, mode=mode),
        [_random(*shape)],
    )


def test_pad_modes_refuse_what_pytorch_refuses():
    x = Variable(_random(2, 3, 6))
    with pytest.raises(gradviz.GradvizError, match="Padding size should be less than"):
        F.pad(x, (6, 0), mode="reflect")
    with pytest.raises(gradviz.GradvizError, match="wrapping around more than once"):
        F.pad(x, (7, 0), mode="circular")
    with pytest.raises(gradviz.GradvizError, match="doesn't take in value argument"):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(gradviz.GradvizError, match="Padding size 2 is not supported for 4D"):
        F.pad(Variable(_random(2, 3, 4, 5)), (1, 1), mode="replicate")
    with pytest.raises(gradviz.GradvizError, match="Unrecognised padding mode 'bogus'"):
        F.pad(x, (1, 1), mode="bogus")
    assert F.pad(x, (9, 9), mode="replicate").shape == (2, 3, 24)  # no limit, as in PyTorch


# --------------------------------------------------------------------------- convolution
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "options", [{"padding": (2, 1)}, {"padding": "same", "dilation": 2}, {"padding": 1}]
)
def test_conv2d_padding_modes_match_pytorch(mode, options):
    ours, theirs = _twins("Conv2d", 4, 6, 3, padding_mode=mode, **options)
    _same_as_torch(ours, theirs, [_random(2, 4, 7, 9)])  # was: only padding_mode='zeros'
    _same_as_torch(ours, theirs, [_random(4, 7, 9)])  # unbatched
    assert repr(ours) == repr(theirs)


def test_conv1d_padding_mode_and_its_repr():
    ours, theirs = _twins("Conv1d", 4, 6, 3, padding=2, padding_mode="circular")
    _same_as_torch(ours, theirs, [_random(2, 4, 7)])
    assert repr(ours) == repr(theirs)


def test_conv_repr_prints_a_padding_string_as_pytorch():
    for padding in ("same", "valid"):
        ours, theirs = (
            nn.Conv2d(4, 6, 3, padding=padding),
            torch.nn.Conv2d(4, 6, 3, padding=padding),
        )
        assert repr(ours) == repr(theirs)  # was: padding='same'


def test_conv_settings_are_checked_in_pytorch_words():
    with pytest.raises(gradviz.GradvizError, match="padding_mode must be one of"):
        nn.Conv2d(4, 6, 3, padding_mode="bogus")
    with pytest.raises(gradviz.GradvizError, match="groups must be a positive integer"):
        nn.Conv2d(4, 6, 3, groups=0)  # was: "must both be divisible by groups (0)"
    with pytest.raises(gradviz.GradvizError, match="groups must be an integer"):
        nn.Conv2d(4, 6, 3, groups=2.0)


# ---------------------------------------------------------------------------- attention
def _sdpa(mask=None, **options):
    def ours(q, k, v):
        return F.scaled_dot_product_attention(
            q, k, v, None if mask is None else Variable(mask), **options
        )

    def theirs(q, k, v):
        return torch.nn.functional.scaled_dot_product_attention(
            q, k, v, None if mask is None else torch.tensor(mask), **options
        )

    return ours, theirs


def test_sdpa_row_of_minus_infinity_gives_zeros_and_finite_gradients():
    blocked = np.zeros((4, 6), np.float32)
    blocked[2] = -np.inf  # a float mask that leaves row 2 nothing to attend to
    qkv = [_random(2, 3, 4, 5), _random(2, 3, 6, 5, seed=1), _random(2, 3, 6, 7, seed=2)]
    _same_as_torch(*_sdpa(blocked), qkv)  # was: NaN gradients of key and value


@pytest.mark.parametrize(("heads", "kv_heads"), [(6, 2), (6, 1), (4, 4)])
def test_sdpa_grouped_query_attention(heads, kv_heads):
    qkv = [
        _random(2, heads, 4, 5),
        _random(2, kv_heads, 6, 5, seed=1),
        _random(2, kv_heads, 6, 7, seed=2),
    ]
    _same_as_torch(*_sdpa(enable_gqa=True, is_causal=True), qkv)  # was: no enable_gqa


def test_sdpa_grouped_query_attention_needs_heads_that_divide():
    query, key = Variable(_random(2, 6, 4, 5)), Variable(_random(2, 4, 6, 5))
    with pytest.raises(gradviz.GradvizError, match="must divide the number of heads in query"):
        F.scaled_dot_product_attention(query, key, key, enable_gqa=True)


@pytest.mark.parametrize("option", ["dropout_p", "scale"])
def test_sdpa_numbers_must_be_floats(option):
    q = Variable(_random(2, 4, 5))
    with pytest.raises(TypeError, match=f"argument '{option}' must be float, not str"):
        F.scaled_dot_product_attention(q, q, q, **{option: "0.1"})  # was: '<=' not supported


def _mha_call(ours, theirs, query, key, value, **options):
    """The outputs of both modules and the gradients of the inputs and of every parameter."""
    tensors = [torch.tensor(a, requires_grad=True) for a in (query, key, value)]
    variables = [Variable(a.copy(), requires_grad=True) for a in (query, key, value)]
    wrap = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    expected, expected_weights = theirs(*tensors, **wrap)
    got, got_weights = ours(*variables, **options)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), atol=1e-5)
    if expected_weights is None:
        assert got_weights is None
    else:
        np.testing.assert_allclose(
            got_weights.numpy(), expected_weights.detach().numpy(), atol=1e-5
        )
    upstream = _random(*got.shape, seed=3)
    expected.backward(torch.tensor(upstream))
    got.backward(Variable(upstream))
    for tensor, variable in zip(tensors, variables, strict=True):
        np.testing.assert_allclose(variable.grad.numpy(), tensor.grad.numpy(), atol=1e-4)
    params = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), params[name].grad.numpy(), atol=1e-4)
    return got


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # NumPy's, on the NaN rows
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["attn_mask", "float attn_mask", "key_padding_mask"])
def test_mha_fully_masked_rows_as_pytorch_with_and_without_weights(batch_first, kind):
    shape = (3, 4, 8) if batch_first else (4, 3, 8)
    query = _random(*shape)
    if kind == "key_padding_mask":
        mask = np.zeros((3, 4), bool)
        mask[0] = True  # the first sequence is all padding
    else:
        mask = np.zeros((4, 4), bool)
        mask[1] = True  # position 1 may attend to nothing
        if kind.startswith("float"):
            mask = np.where(mask, -np.inf, 0).astype(np.float32)
    name = "key_padding_mask" if kind == "key_padding_mask" else "attn_mask"
    for need_weights in (True, False):  # PyTorch: NaN with the weights, zeros without
        ours, theirs = _twins("MultiheadAttention", 8, 2, batch_first=batch_first)
        out = _mha_call(
            ours, theirs, query, query, query, need_weights=need_weights, **{name: mask}
        )
        assert np.isnan(out.numpy()).any() == need_weights  # was NaN both ways


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_kdim_and_vdim(batch_first):
    ours, theirs = _twins("MultiheadAttention", 8, 2, kdim=4, vdim=6, batch_first=batch_first)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ours.in_proj_weight is None
    assert ours.k_proj_weight.shape == (8, 4)

    def sized(features, seed):
        return _random(*((3, 5, features) if batch_first else (5, 3, features)), seed=seed)

    mask = np.random.default_rng(4).random((5, 5)) < 0.3
    _mha_call(ours, theirs, sized(8, 0), sized(4, 1), sized(6, 2), attn_mask=mask)
    with pytest.raises(gradviz.GradvizError, match="ending in kdim 4 and vdim 6 like the query"):
        ours(*(Variable(sized(8, 0)) for _ in range(3)))  # was: kdim/vdim not supported


def test_mha_sizes_are_checked_in_pytorch_words():
    with pytest.raises(gradviz.GradvizError, match="embed_dim must be an integer"):
        nn.MultiheadAttention(8.0, 2)  # was: TypeError from np.empty
    with pytest.raises(gradviz.GradvizError, match="must be greater than 0"):
        nn.MultiheadAttention(8, 0)
    with pytest.raises(gradviz.GradvizError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)


# ------------------------------------------------------------------------------- pooling
@pytest.mark.parametrize(
    "options",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": (2, 3), "dilation": (2, 1), "padding": (1, 1)},
    ],
)
@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (3, 7, 9)])
def test_max_pool_return_indices_as_pytorch(options, shape):
    x = _random(*shape)
    expected, expected_indices = torch.nn.functional.max_pool2d(
        torch.tensor(x), return_indices=True, **options
    )
    got, indices = F.max_pool2d(Variable(x), return_indices=True, **options)  # was TypeError
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == np.int64
    _, layer_indices = nn.MaxPool2d(return_indices=True, **options)(Variable(x))
    np.testing.assert_array_equal(layer_indices.numpy(), expected_indices.numpy())


def test_max_pool_padding_is_checked_against_the_kernel_not_its_dilated_span():
    x = Variable(_random(1, 2, 9, 9))
    with pytest.raises(
        gradviz.GradvizError, match="at most half of kernel size \\(not its dilated span"
    ):
        F.max_pool2d(x, 3, padding=2, dilation=2)  # was a result where PyTorch refuses


def test_avg_pool_divisor_override_must_be_an_int():
    with pytest.raises(TypeError, match="'divisor_override' must be int, not float"):
        F.avg_pool2d(Variable(_random(1, 2, 4, 4)), 2, divisor_override=2.5)


def test_adaptive_pool_to_zero_size_is_empty_as_in_pytorch():
    assert F.adaptive_avg_pool2d(Variable(_random(2, 3, 4, 4)), 0).shape == (2, 3, 0, 0)
    with pytest.raises(gradviz.GradvizError, match="output_size must be >= 0"):
        F.adaptive_avg_pool2d(Variable(_random(2, 3, 4, 4)), -1)


# ------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("momentum", [None, "0.1"])
def test_batch_norm_momentum_must_be_a_float(momentum):
    x, mean, var = Variable(_random(3, 5)), Variable(np.zeros(5)), Variable(np.ones(5))
    with pytest.raises(TypeError, match="argument 'momentum' must be float"):
        F.batch_norm(x, mean, var, training=True, momentum=momentum)  # was NumPy's TypeError


def test_batch_norm_layer_with_a_string_momentum_or_eps_is_refused():
    with pytest.raises(TypeError, match="argument 'momentum' must be float, not str"):
        nn.BatchNorm1d(5, momentum="0.1")(Variable(_random(3, 5)))
    with pytest.raises(TypeError, match="argument 'eps' must be float, not str"):
        nn.BatchNorm1d(5, eps="1e-5")(Variable(_random(3, 5)))


def test_layer_norm_of_an_empty_normalized_shape_says_so():
    with pytest.raises(gradviz.GradvizError, match="normalized_shape to be at least 1-dim"):
        nn.LayerNorm(())(Variable(_random(3, 5)))  # was "expected input with shape [*, ]"


# ----------------------------------------------------------------------------- embedding
@pytest.mark.parametrize(("max_norm", "norm_type"), [(1.0, 2.0), (0.5, 1.0), (1.0, float("inf"))])
@pytest.mark.parametrize("padding_idx", [None, -1])
def test_embedding_max_norm_renormalises_the_rows_picked_as_pytorch(
    max_norm, norm_type, padding_idx
):
    ours = nn.Embedding(10, 3, padding_idx, max_norm=max_norm, norm_type=norm_type)
    theirs = torch.nn.Embedding(10, 3, padding_idx, max_norm=max_norm, norm_type=norm_type)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
    indices = np.array([[1, 2, 2, 9], [0, 9, 3, 3]])  # repeated rows, the padding row
    expected, got = theirs(torch.tensor(indices)), ours(Variable(indices))  # was ArgumentError
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), atol=1e-6)
    upstream = _random(*got.shape)
    expected.backward(torch.tensor(upstream))
    got.backward(Variable(upstream))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-5)
    assert repr(ours) == repr(theirs)


def test_functional_embedding_takes_pytorch_arguments():
    weight = _random(10, 3) * 3
    ours, theirs = Variable(weight.copy()), torch.tensor(weight)
    got = F.embedding(Variable(np.array([1, 2, 1])), ours, max_norm=1.0)  # was TypeError
    expected = torch.nn.functional.embedding(torch.tensor([1, 2, 1]), theirs, max_norm=1.0)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    with pytest.raises(gradviz.GradvizError, match="sparse=True are not supported"):
        F.embedding(Variable(np.array([1])), ours, sparse=True)


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained(freeze):
    weight = _random(10, 3)
    ours = nn.Embedding.from_pretrained(Variable(weight), freeze=freeze, padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(weight), freeze, padding_idx=1)
    assert repr(ours) == repr(theirs)
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    np.testing.assert_array_equal(ours(Variable(np.array([1, 2]))).numpy(), weight[[1, 2]])
    with pytest.raises(gradviz.GradvizError, match="expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(Variable(weight[0]))


# --------------------------------------------------------------- dropout, repr of layers
def test_dropout_training_flag_must_be_a_bool():
    with pytest.raises(TypeError, match="argument 'training' must be bool, not str"):
        F.dropout(Variable(_random(3)), 0.5, training="no")  # was: a true string, dropout on


@pytest.mark.parametrize("dims", [(), (0, 2)])
def test_flatten_repr_as_pytorch(dims):
    assert repr(nn.Flatten(*dims)) == repr(torch.nn.Flatten(*dims))  # was: Flatten()


def test_conv_weight_and_bias_as_lists_or_of_the_wrong_rank():
    x, weight = _random(1, 2, 5, 5), _random(3, 2, 3, 3)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight)).numpy()
    got = F.conv2d(Variable(x), weight.tolist(), [0.0, 0.0, 0.0])  # was AttributeError
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)
    with pytest.raises(gradviz.GradvizError, match=r"expected a 4-d weight .* got weight of"):
        F.conv2d(Variable(x), Variable(np.float32(1)))  # was KeyError: -2
    with pytest.raises(gradviz.GradvizError, match="expected a 3-d weight"):
        F.conv1d(Variable(x[0]), Variable(weight))
    with pytest.raises(gradviz.GradvizError, match="expected weight to be at least 1 at dim"):
        F.conv2d(Variable(x), Variable(weight[:0]))  # was "cannot reshape array of size 0"


def test_max_pool_stride_given_empty_means_the_kernel():
    x = _random(1, 2, 5, 5)
    expected = torch.nn.functional.max_pool2d(torch.tensor(x), 2, stride=[]).numpy()
    np.testing.assert_array_equal(F.max_pool2d(Variable(x), 2, stride=[]).numpy(), expected)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize(("heads", "nan"), [(2, True), (3, False)])
def test_mha_fully_masked_rows_on_pytorch_inference_fast_path_are_nan(heads, nan):
    """Eval mode, no gradient, batch_first self-attention with an even number of heads:
    PyTorch's fused path gives NaN even without the weights; otherwise zeros."""
    ours, theirs = _twins("MultiheadAttention", 6, heads, batch_first=True)
    ours.eval()
    theirs.eval()
    x, mask = _random(3, 4, 6), np.zeros((3, 4), bool)
    mask[0] = True
    tensor = torch.tensor(x)
    query = Variable(x)
    with torch.no_grad(), gradviz.no_grad():
        expected, _ = theirs(
            tensor, tensor, tensor, key_padding_mask=torch.tensor(mask), need_weights=False
        )
        got, _ = ours(query, query, query, key_padding_mask=mask, need_weights=False)
    assert np.isnan(got.numpy()).any() == np.isnan(expected.numpy()).any() == nan
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_of_an_empty_batch_is_empty(batch_first):
    ours = nn.MultiheadAttention(4, 2, batch_first=batch_first)
    x = Variable(np.zeros((0, 3, 4) if batch_first else (3, 0, 4), np.float32), True)
    out, weights = ours(x, x, x)  # was: "cannot reshape array of size 0"
    out.sum().backward()
    assert (out.shape, weights.shape, x.grad.shape) == (x.shape, (0, 3, 3), x.shape)


@pytest.mark.parametrize(
    ("name", "shape", "kept"),
    [
        ("dropout1d", (4, 6, 5), 2),
        ("dropout1d", (6, 5), 1),  # unbatched
        ("dropout2d", (4, 6, 3, 3), 2),
        ("dropout3d", (2, 6, 2, 3, 3), 2),
        ("dropout3d", (6, 2, 3, 3), 1),
    ],
)
def test_channel_dropout_zeroes_whole_channels(name, shape, kept):
    gradviz.manual_seed(0)
    x = Variable(_random(*shape) + 5, requires_grad=True)
    out = getattr(F, name)(x, 0.5)  # was AttributeError: no dropout1d/2d/3d
    out.sum().backward()
    dropped = (out.numpy() == 0).reshape(*shape[:kept], -1)
    assert np.all(dropped.all(-1) | ~dropped.any(-1))  # a channel is dropped whole or kept
    assert dropped.any()
    assert not dropped.all()
    np.testing.assert_allclose(out.numpy(), np.where(out.numpy() == 0, 0, 2 * x.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), np.where(out.numpy() == 0, 0, 2.0))
    assert getattr(F, name)(x, 0.5, training=False) is x


def test_channel_dropout_layers_and_their_checks():
    for name in ("Dropout1d", "Dropout2d", "Dropout3d"):
        assert repr(getattr(nn, name)(0.2)) == repr(getattr(torch.nn, name)(0.2))
    layer = nn.Dropout2d(0.3).eval()
    x = Variable(_random(2, 3, 4, 4))
    assert layer(x) is x
    with pytest.warns(UserWarning, match="interpreted as shape \\(N, C, L\\)"):
        F.dropout2d(Variable(_random(2, 3, 4)), 0.5)  # PyTorch's reading of a 3-d input
    with pytest.raises(gradviz.GradvizError, match="Expected 2D or 3D input, but received a 4D"):
        F.dropout1d(x, 0.5)


@pytest.mark.parametrize(
    ("pool", "options"),
    [
        ("max_pool2d", {"kernel_size": (3, 4), "padding": 1, "dilation": 2}),
        ("avg_pool2d", {"kernel_size": (4, 3), "stride": 3}),
    ],
)
def test_ceil_mode_window_past_the_end_is_a_window_as_in_pytorch(pool, options):
    """The input is shorter than the (dilated) kernel, but ceil_mode keeps one window."""
    shape = (2, 2, 5, 4) if pool == "max_pool2d" else (2, 2, 3, 6)
    _same_as_torch(  # was: "calculated output size ... is too small"
        lambda x: getattr(F, pool)(x, ceil_mode=True, **options),
        lambda x: getattr(torch.nn.functional, pool)(x, ceil_mode=True, **options),
        [_random(*shape)],
    )


def test_pad_sizes_left_after_cropping_as_pytorch():
    x = Variable(_random(2, 3, 4))
    with pytest.raises(gradviz.GradvizError, match="cropping a dim of 4 by 5 leaves -1"):
        F.pad(x, (-5, 3))  # PyTorch crops first (was: a result of 2 elements)
    for mode in ("reflect", "replicate"):  # one empty dim of two is fine; all empty is not
        assert F.pad(x, (0, 0, -2, -1), mode=mode).shape == (2, 0, 4)
        with pytest.raises(gradviz.GradvizError, match="is too small"):
            F.pad(x, (-2, -2, -2, -1), mode=mode)
    assert F.pad(x, (-2, 1), mode="replicate").shape == (2, 3, 3)  # no crop-first rule here
    with pytest.raises(gradviz.GradvizError, match="is too small"):
        F.pad(x, (-3, -2), mode="circular")  # a negative size


@pytest.mark.parametrize(("bias_kv", "zero_attn"), [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_add_bias_kv_and_add_zero_attn(bias_kv, zero_attn, batch_first):
    options = {"add_bias_kv": bias_kv, "add_zero_attn": zero_attn, "batch_first": batch_first}
    ours, theirs = _twins("MultiheadAttention", 8, 2, **options)  # was ArgumentError
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    query, key = _random(3, 4, 8), _random(3, 5, 8, seed=1)
    if not batch_first:
        query, key = query.transpose(1, 0, 2).copy(), key.transpose(1, 0, 2).copy()
    padding = np.zeros((3, 5), bool)
    padding[0] = True  # masks cover the given keys only: the appended ones stay open
    mask = np.random.default_rng(2).random((4, 5)) < 0.3
    for need_weights in (True, False):
        ours.zero_grad()
        theirs.zero_grad()
        _mha_call(
            ours,
            theirs,
            query,
            key,
            key,
            key_padding_mask=padding,
            attn_mask=mask,
            need_weights=need_weights,
            average_attn_weights=False,
        )


def test_settings_that_are_not_numbers_are_refused_in_pytorch_words():
    x = Variable(_random(3, 4))
    with pytest.raises(TypeError, match="argument 'eps' must be float, not str"):
        nn.LayerNorm(4, eps="1e-5")(x)  # was NumPy's UFuncTypeError
    with pytest.raises(TypeError, match="argument 'eps' must be float, not NoneType"):
        F.layer_norm(x, (4,), eps=None)
    with pytest.raises(gradviz.GradvizError, match="dropout probability has to be between"):
        F.dropout(x, np.array([0.5, 0.2]))  # was "truth value of an array ... is ambiguous"
    assert F.dropout(x, np.array(0.0)) is x  # one number in an array is a number


def test_pad_value_may_be_a_zero_dim_tensor():
    expected = torch.nn.functional.pad(torch.ones(2, 2), (1, 1), value=torch.tensor(2.0))
    got = F.pad(Variable(np.ones((2, 2), np.float32)), (1, 1), value=Variable(np.array(2.0)))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())  # was OperandError


def test_sdpa_of_a_key_or_value_under_two_dims_says_so():
    q = Variable(_random(2, 3, 4))
    with pytest.raises(gradviz.GradvizError, match="all be at least 2 dimensional"):
        F.scaled_dot_product_attention(q, Variable(np.array(1.0)), q)  # was IndexError


@pytest.mark.parametrize("amounts", [1, None, 1.5])
def test_pad_amounts_must_be_a_tuple(amounts):
    with pytest.raises(TypeError, match="argument 'pad' must be a tuple of ints"):
        F.pad(Variable(_random(2, 3)), amounts)  # was "object of type 'int' has no len()"


def test_layers_take_nested_lists_like_the_other_layers():
    rows = _random(4, 3).tolist()
    out = nn.BatchNorm1d(3)(rows)  # was AttributeError: 'list' object has no attribute 'ndim'
    expected = torch.nn.BatchNorm1d(3)(torch.tensor(rows)).detach().numpy()
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    assert nn.Flatten()(np.ones((2, 3, 4)).tolist()).shape == (2, 12)  # was AttributeError


def test_mha_ragged_mask_is_refused_clearly():
    x = Variable(_random(3, 2, 4))
    with pytest.raises(gradviz.GradvizError, match="only bool and float attn_mask"):
        nn.MultiheadAttention(4, 2)(x, x, x, attn_mask=[[True], [True, False]])  # was ValueError


def test_sdpa_ragged_mask_is_refused_clearly():
    q = Variable(_random(2, 3, 4))
    with pytest.raises(gradviz.GradvizError, match="attn_mask must be bool or float"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=[[True], [True, False]])


def test_conv_and_pool_setting_errors_are_caught_as_pytorch_users_catch_them():
    x, weight = Variable(_random(1, 2, 5, 5)), Variable(_random(3, 2, 3, 3))
    with pytest.raises(RuntimeError, match="not supported for strided"):  # F: RuntimeError
        F.conv2d(x, weight, stride=2, padding="same")
    with pytest.raises(ValueError, match="not supported for strided"):  # the layer: ValueError
        nn.Conv2d(2, 3, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Invalid padding string"):
        F.conv2d(x, weight, padding="full")
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 2, padding=2)


def test_attention_and_pad_errors_pytorch_raises_as_runtime_errors():
    q = Variable(_random(2, 3, 4))
    mask = np.ones((3, 3), bool)
    with pytest.raises(RuntimeError, match="should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=mask, is_causal=True)
    with pytest.raises(RuntimeError, match="dropout_p must be in"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        nn.MultiheadAttention(4, 2)(q, q, q, is_causal=True)
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(q, (4, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        F.pad(q, (1, 0), mode="replicate", value=2.0)


def test_avg_pool_of_integers_truncates_as_pytorch():
    x = np.array([[[[-3, 0, 5, 2, 7, 7]]]])
    expected = torch.nn.functional.avg_pool2d(torch.tensor(x), (1, 2)).numpy()
    got = F.avg_pool2d(Variable(x), (1, 2))  # was float64 [-1.5, 3.5, 7.0]
    np.testing.assert_array_equal(got.numpy(), expected)
    assert got.dtype == np.int64
