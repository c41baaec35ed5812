"""Second derivatives (``create_graph=True``) through the layers' ops: convolutions (their
gradients recorded convolutions), pooling, softmax, the activations, the class losses,
normalisation, embedding and gathers, max/min, attention, logsumexp, var and std; each case by
finite differences at float64 (always) and against PyTorch (when installed), with the helpers
and the core ops' cases of test_second_derivatives; a third derivative through a convolution;
dropout's mask; refusals that name the op.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_second_derivatives import (
    CASES as CORE,
)
from test_second_derivatives import (
    A,
    B,
    Op,
    check_against_pytorch,
    check_by_finite_differences,
    first,
    variables,
    weighted,
)
from test_second_derivatives_elementwise import CASES as ELEMENTWISE
from test_second_derivatives_inplace import CASES as INPLACE
from test_second_derivatives_more import CASES as MORE
from test_second_derivatives_sampling import BEYOND_PYTORCH
from test_second_derivatives_sampling import CASES as SAMPLING

import gradviz
from gradviz.autograd import grad
from gradviz.autograd.errors import BackwardError
from gradviz.autograd.higher import supported_ops

F = gradviz.nn.functional
U = ((3, 4), 0.0, 1.0)  # probabilities (binary targets)
RM, RV = np.array([0.1, -0.2, 0.3]), np.array([0.5, 1.5, 2.0])  # running mean and variance
W4 = np.array([1.0, 2.0, 0.5, 3.0])  # class weights
MASK = np.array([[True, False, True, True, False]] * 2 + [[False] * 5])  # the last row empty


def r(*shape: int) -> tuple[tuple[int, ...], float, float]:
    return shape, -1.0, 1.0


CONVOLUTIONS = [
    Op(
        "conv2d_strided_padded",
        lambda lib, F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1).tanh(),
        (r(2, 3, 5, 5), r(4, 3, 3, 3), r(4)),
    ),
    Op(
        "conv1d_same_dilated_groups",
        lambda lib, F, x, w, b: F.conv1d(x, w, b, padding="same", dilation=2, groups=2).tanh(),
        (r(2, 4, 7), r(4, 2, 4), r(4)),
    ),
    Op(
        "conv2d_one_sample_depthwise",
        lambda lib, F, x, w: F.conv2d(x, w, padding=(1, 0), stride=(1, 2), groups=3).tanh(),
        (r(3, 5, 6), r(6, 1, 2, 3)),
    ),
    Op(
        "conv3d",
        lambda lib, F, x, w: F.conv3d(x, w, padding=1).tanh(),
        (r(1, 2, 3, 3, 3), r(2, 2, 2, 2, 2)),
    ),
    Op(
        "conv_transpose2d",
        lambda lib, F, x, w, b: F.conv_transpose2d(
            x, w, b, stride=2, padding=1, output_padding=1
        ).tanh(),
        (r(2, 4, 3, 3), r(4, 3, 3, 3), r(3)),
    ),
    Op(
        "conv_transpose1d_groups_dilated",
        lambda lib, F, x, w: F.conv_transpose1d(
            x, w, stride=2, groups=2, dilation=2, output_padding=1
        ).tanh(),
        (r(2, 4, 3), r(4, 1, 3)),
    ),
    Op(
        "conv_transpose1d_one_sample",
        lambda lib, F, x, w: F.conv_transpose1d(x, w, stride=3, padding=2, output_padding=2).tanh(),
        (r(4, 5), r(4, 2, 3)),
    ),
    Op(
        "conv_transpose3d",
        lambda lib, F, x, w: F.conv_transpose3d(x, w, stride=2).tanh(),
        (r(1, 2, 2, 2, 2), r(2, 1, 2, 2, 2)),
    ),
    Op("pad_and_crop", lambda lib, F, x: F.pad(x, (1, 2, -1, 0)) ** 3, (r(2, 3, 4),)),
]

POOLING = [
    Op(
        "max_pool2d_overlapping",
        lambda lib, F, x: F.max_pool2d(x, 3, stride=2, padding=1) ** 3,
        (r(2, 3, 6, 5),),
    ),
    Op(
        "max_pool1d_one_sample_dilated_ceil",
        lambda lib, F, x: F.max_pool1d(x, 2, dilation=2, ceil_mode=True) ** 3,
        (r(3, 7),),
    ),
    Op("max_pool3d", lambda lib, F, x: F.max_pool3d(x, 2) ** 3, (r(1, 2, 4, 4, 4),)),
    Op(
        "avg_pool2d_ceil_padding_not_counted",
        lambda lib, F, x: (
            F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False, ceil_mode=True) ** 3
        ),
        (r(2, 3, 6, 5),),
    ),
    Op(
        "avg_pool2d_one_sample_divisor",
        lambda lib, F, x: F.avg_pool2d(x, 2, divisor_override=3) ** 3,
        (r(3, 6, 5),),
    ),
    Op(
        "avg_pool1d_padded",
        lambda lib, F, x: F.avg_pool1d(x, 3, stride=2, padding=1) ** 3,
        (r(2, 3, 8),),
    ),
    Op("avg_pool3d", lambda lib, F, x: F.avg_pool3d(x, 2, stride=1) ** 3, (r(1, 2, 3, 3, 3),)),
    Op(
        "adaptive_avg_pool2d",
        lambda lib, F, x: F.adaptive_avg_pool2d(x, (2, 3)) ** 3,
        (r(2, 3, 5, 5),),
    ),
    Op("adaptive_avg_pool1d", lambda lib, F, x: F.adaptive_avg_pool1d(x, 3) ** 3, (r(3, 7),)),
    Op(
        "adaptive_avg_pool3d",
        lambda lib, F, x: F.adaptive_avg_pool3d(x, 2) ** 3,
        (r(1, 1, 3, 4, 5),),
    ),
]

ACTIVATIONS = [
    Op("softmax", lambda lib, F, x: F.softmax(x, 1) * x + F.softmax(x, 0) ** 2, (A,)),
    Op("log_softmax", lambda lib, F, x: F.log_softmax(x, 1) * x + F.log_softmax(x, 0) ** 2, (A,)),
    Op("gelu", lambda lib, F, x: F.gelu(x * 2) * x, (A,)),
    Op("gelu_tanh", lambda lib, F, x: F.gelu(x * 2, approximate="tanh") * x, (A,)),
    Op("erf_erfc", lambda lib, F, x: lib.erf(x) * x + lib.special.erfc(x) ** 2, (A,)),
    Op("silu", lambda lib, F, x: F.silu(x) * x, (A,)),
    Op("elu", lambda lib, F, x: F.elu(x * 2, alpha=0.7) * x, (A,)),
    Op("logsigmoid", lambda lib, F, x: F.logsigmoid(x * 2) * x, (A,)),
    Op("hardtanh_relu6", lambda lib, F, x: F.hardtanh(x, -0.5, 1.0) * x + F.relu6(x * 4) * x, (A,)),
    Op("clamp_clip", lambda lib, F, x: x.clamp(-0.5, 0.7) * x + lib.clip(x, min=-0.2) ** 3, (A,)),
    Op("clamp_tensor_bounds", lambda lib, F, x, lo, hi: x.clamp(lo, hi) ** 3, (A, B, r(3, 1))),
    # piecewise linear: the first gradient is a mask, which keeps the input (a zero
    # derivative) as PyTorch's threshold_backward does: a graph, and zeros after it
    Op("relu_alone", lambda lib, F, x: F.relu(x), (A,)),
    Op("abs_alone", lambda lib, F, x: x.abs(), (A,)),
    Op("leaky_relu_alone", lambda lib, F, x: F.leaky_relu(x, 0.2), (A,)),
    Op("hardtanh_alone", lambda lib, F, x: F.hardtanh(x, -0.5, 1.0) + F.relu6(x * 4), (A,)),
    Op("threshold", lambda lib, F, x: F.threshold(x, 0.3, -1.0) ** 2 + F.threshold(x, 0, 2), (A,)),
    Op("shrinks", lambda lib, F, x: F.hardshrink(x) ** 2 + F.softshrink(x, 0.3) ** 3, (A,)),
    Op("shrinks_alone", lambda lib, F, x: F.hardshrink(x) + F.softshrink(x, 0.3), (A,)),
    Op("max_pool2d_alone", lambda lib, F, x: F.max_pool2d(x, 2), (r(1, 2, 4, 4),)),
    Op(
        "adaptive_max_pool2d",
        lambda lib, F, x: F.adaptive_max_pool2d(x, (2, 3)) ** 3,
        (r(2, 5, 7),),
    ),
    Op("adaptive_max_pool1d", lambda lib, F, x: F.adaptive_max_pool1d(x, 3) ** 3, (r(1, 2, 7),)),
    Op("adaptive_max_pool1d_alone", lambda lib, F, x: F.adaptive_max_pool1d(x, 3), (r(1, 2, 7),)),
    Op("adaptive_max_pool3d", lambda lib, F, x: F.adaptive_max_pool3d(x, 2) ** 3, (r(1, 3, 3, 3),)),
    Op("prelu_channels", lambda lib, F, x, w: F.prelu(x, w) ** 2, (A, B)),
    Op("prelu_one_weight", lambda lib, F, x, w: F.prelu(x, w) * x, (A, r(1))),
    Op("selu_celu", lambda lib, F, x: F.selu(x * 2) * x + F.celu(x * 2, 0.5) ** 2, (A,)),
    Op("mish", lambda lib, F, x: F.mish(x * 2) * x, (A,)),
    Op("hardswish", lambda lib, F, x: F.hardswish(x * 2) + F.hardswish(x * 2) * x, (A,)),
    Op("tanhshrink", lambda lib, F, x: F.tanhshrink(x * 2) * x, (A,)),
]

LOSSES = [
    *(
        Op(
            f"cross_entropy_{reduction}",
            lambda lib, F, x, reduction=reduction: (
                F.cross_entropy(x * x, lib.tensor([0, 3, 1]), reduction=reduction) ** 2
            ),
            (A,),
        )
        for reduction in ("mean", "sum", "none")
    ),
    Op(
        "cross_entropy_ignore_index",
        lambda lib, F, x: F.cross_entropy(x * x, lib.tensor([0, -100, 1])) ** 2,
        (A,),
    ),
    Op("cross_entropy_one_row", lambda lib, F, x: F.cross_entropy(x * x, lib.tensor(2)) ** 2, (B,)),
    Op(
        "cross_entropy_smoothing_weight",
        lambda lib, F, x: (
            F.cross_entropy(x, lib.tensor([0, 3, 1]), weight=lib.tensor(W4), label_smoothing=0.2)
            ** 2
        ),
        (A,),
    ),
    Op(
        "cross_entropy_spatial",
        lambda lib, F, x: F.cross_entropy(x, lib.tensor([[0, 1], [2, 0]])) ** 2,
        (r(2, 3, 2),),
    ),
    *(
        Op(
            f"nll_loss_{reduction}_ignore_index",
            lambda lib, F, x, reduction=reduction: (
                F.nll_loss(x * x, lib.tensor([0, 3, 2]), ignore_index=3, reduction=reduction) ** 2
            ),
            (A,),
        )
        for reduction in ("mean", "sum", "none")
    ),
    *(
        Op(
            f"bce_with_logits_{reduction}",
            lambda lib, F, x, t, reduction=reduction: (
                F.binary_cross_entropy_with_logits(x * 2, t, reduction=reduction) ** 2
            ),
            (A, U),
        )
        for reduction in ("mean", "sum", "none")
    ),
    Op(
        "bce_with_logits_pos_weight",
        lambda lib, F, x, t: (
            F.binary_cross_entropy_with_logits(x, t, pos_weight=lib.tensor(W4)) ** 2
        ),
        (A, U),
    ),
]

NORMALISATION = [
    Op(
        "layer_norm_affine",
        lambda lib, F, x, w, b: F.layer_norm(x, (4,), w, b) ** 3 * x,
        (A, B, B),
    ),
    Op("layer_norm_two_dims", lambda lib, F, x: F.layer_norm(x, (3, 4)) ** 3, (r(2, 3, 4),)),
    Op("group_norm", lambda lib, F, x: F.group_norm(x, 2) ** 3, (r(2, 4, 3),)),
    Op("instance_norm", lambda lib, F, x: F.instance_norm(x) ** 3, (r(2, 4, 3),)),
    Op(
        "batch_norm_training",
        lambda lib, F, x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 3 * x,
        (r(4, 3, 2, 2), r(3), r(3)),
    ),
    Op(
        "batch_norm_training_2d",
        lambda lib, F, x: F.batch_norm(x, None, None, training=True) ** 3,
        (r(5, 3),),
    ),
    Op(
        "batch_norm_eval",
        lambda lib, F, x, w, b: (
            F.batch_norm(x, lib.tensor(RM), lib.tensor(RV), w, b, training=False) ** 3 * x
        ),
        (r(4, 3, 2), r(3), r(3)),
    ),
]

PICKING = [
    Op(
        "embedding",
        lambda lib, F, w: F.embedding(lib.tensor([[0, 2], [2, 1], [0, 0]]), w) ** 3,
        (r(4, 3),),
    ),
    Op(
        "embedding_padding_idx",
        lambda lib, F, w: F.embedding(lib.tensor([[0, 2], [2, 1]]), w, padding_idx=2) ** 3,
        (r(4, 3),),
    ),
    Op("gather", lambda lib, F, x: x.gather(1, lib.tensor([[0, 0], [1, 3], [2, 2]])) ** 3, (A,)),
    Op("index_select", lambda lib, F, x: x.index_select(1, lib.tensor([0, 2, 2])) ** 3, (A,)),
    Op(
        "split",
        lambda lib, F, x: lib.cat([t ** (i + 2) for i, t in enumerate(x.split([1, 3], 1))], 1),
        (A,),
    ),
    Op(
        "masked_fill",
        lambda lib, F, x, v: x.masked_fill(lib.tensor([[True, False, False, True]]), v) ** 3,
        (A, ((), -1.0, 1.0)),
    ),
    Op("max_min_all", lambda lib, F, x: x.max() ** 2 * x + x.min() ** 3, (A,)),
    Op(
        "max_min_ties_share",
        lambda lib, F, x: lib.cat([x, x]).max() ** 3 + lib.cat([x, x]).amax(0) ** 3,
        (A,),
    ),
    Op(
        "max_min_dim",
        lambda lib, F, x: x.max(1)[0] ** 3 + x.min(0, keepdim=True)[0].sum() ** 2,
        (A,),
    ),
    Op("amax_amin", lambda lib, F, x: x.amax(1) ** 3 + x.amin((0, 1)) ** 2, (A,)),
    Op(
        "maximum_minimum",
        lambda lib, F, x, y: lib.maximum(x, y) ** 3 + lib.minimum(x, y * y) ** 2,
        (A, B),
    ),
]

ATTENTION = [
    Op(
        "attention",
        lambda lib, F, q, k, v: F.scaled_dot_product_attention(q, k, v),
        (r(2, 3, 4), r(2, 5, 4), r(2, 5, 3)),
    ),
    Op(
        "attention_causal_heads",
        lambda lib, F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        (r(2, 2, 3, 4), r(2, 2, 3, 4), r(2, 2, 3, 4)),
    ),
    Op(
        "attention_float_mask_scale",
        lambda lib, F, q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, scale=0.3),
        (r(2, 3, 4), r(2, 5, 4), r(2, 5, 3), r(3, 5)),
    ),
    Op(
        "attention_bool_mask_empty_row",
        lambda lib, F, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=lib.tensor(MASK)),
        (r(2, 3, 4), r(2, 5, 4), r(2, 5, 3)),
    ),
]

STATISTICS = [
    Op("logsumexp", lambda lib, F, x: x.logsumexp(1) ** 2, (r(3, 4),)),
    Op(
        "logsumexp_dims_kept",
        lambda lib, F, x: lib.logsumexp(x, (0, 1), keepdim=True) * x,
        (r(3, 4),),
    ),
    Op("var_dim", lambda lib, F, x: x.var(1) * x.sum(), (r(3, 4),)),
    Op("var_all_no_correction", lambda lib, F, x: x.var(correction=0) * x, (r(3, 4),)),
    Op("std_dim_kept", lambda lib, F, x: x.std(0, keepdim=True) * x, (r(3, 4),)),
    Op("std_all", lambda lib, F, x: x.std() ** 3, (r(3, 4),)),
]

CASES = [
    *CONVOLUTIONS,
    *POOLING,
    *ACTIVATIONS,
    *LOSSES,
    *NORMALISATION,
    *PICKING,
    *ATTENTION,
    *STATISTICS,
]


def test_the_cases_cover_the_ops_the_docs_promise():
    """Every op with a graph rule is in some case of this table, the core one,
    test_second_derivatives_more's, _elementwise's, _inplace's or _sampling's (by the ops a
    trace of the cases records, the gradients' ops included: IndexPut, the gradient of
    indexing, and the transposed convolutions of the convolutions' gradients); Dropout and
    RReLU, whose random draws are not PyTorch's, Hardsigmoid, whose second derivative
    PyTorch does not implement, and ZeroDerivative, made by a third derivative (a ReLU
    PINN's, in test_second_derivatives_models), have tests of their own."""
    seen = set()
    for op in [*CORE, *MORE, *INPLACE, *ELEMENTWISE, *SAMPLING, *BEYOND_PYTORCH, *CASES]:
        xs = variables(op)
        with gradviz.trace() as tr:
            g = first(op, xs)
            weighted(g, op.arrays(1)).backward()
        seen |= {tr.graph.nodes[n]["op"] for n in tr.graph.nodes} - {None}
    own_tests = {"Dropout", "Rrelu", "Hardsigmoid", "ZeroDerivative"}
    assert set(supported_ops()) - own_tests <= seen


def test_the_docs_list_every_op_with_a_graph_rule():
    text = (Path(__file__).resolve().parents[1] / "docs" / "pytorch-differences.md").read_text()
    assert set(supported_ops()) <= set(re.findall(r"`(\w+)`", text))


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_gradient_of_the_gradient_by_finite_differences(op):
    check_by_finite_differences(op)


@pytest.mark.parametrize("op", CASES, ids=lambda op: op.id)
def test_first_and_second_gradients_match_pytorch(op):
    check_against_pytorch(op)


def test_a_third_derivative_through_a_convolution_and_its_gradients():
    """The first gradient's transposed convolution and weight convolution have rules too: the
    third derivative of a convolution's output cubed, against PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-1, 1, (2, 2, 5)), rng.uniform(-1, 1, (3, 2, 3))]
    results = []
    for lib in (gradviz, torch):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        y = lib.nn.functional.conv1d(x, w, stride=2, padding=1) ** 3
        (gx, gw) = lib.autograd.grad(y.sum(), (x, w), create_graph=True)
        (hx,) = lib.autograd.grad((gx**2).sum() + (gw * gw).sum(), x, create_graph=True)
        (tw,) = lib.autograd.grad((hx**2).sum(), w)
        results.append([t.detach().numpy() for t in (gx, gw, hx, tw)])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_dropout_differentiates_again_through_its_mask():
    """Dropout's mask is a constant of the pass: d/dx <w, 3 y^2 m> = 6 y m^2 w, y = x * m
    (PyTorch draws other masks, so the check is against the formula)."""
    x = gradviz.tensor(np.random.default_rng(0).uniform(0.5, 2.0, (4, 5)), requires_grad=True)
    w = np.random.default_rng(1).uniform(-1, 1, (4, 5))
    gradviz.manual_seed(3)
    y = F.dropout(x, p=0.4)
    mask = y.numpy() / x.numpy()
    assert set(np.round(mask, 12).ravel()) == {0.0, round(1 / 0.6, 12)}
    (g,) = grad((y**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * y.numpy() ** 2 * mask, rtol=1e-12)
    (h,) = grad((g * gradviz.tensor(w)).sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * y.numpy() * mask**2 * w, rtol=1e-12)


def test_rrelu_and_hardsigmoid_gradients_keep_their_input_and_differentiate_to_zero():
    """Their derivatives are piecewise constant (RReLU's drawn slopes, Hardsigmoid's 1/6
    inside (-3, 3)): the first gradient is the mask, with a graph back to the input (PyTorch's
    ``RreluWithNoiseBackwardBackward0``), and the second is zeros."""
    x = gradviz.tensor(np.linspace(-4.0, 4.0, 9) + 0.1, requires_grad=True)
    gradviz.manual_seed(0)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = y.numpy() / x.numpy()
    (g,) = grad(y.sum() + F.hardsigmoid(x).sum(), x, create_graph=True)
    inside = np.abs(x.numpy()) < 3
    np.testing.assert_allclose(g.numpy(), slopes + inside / 6, rtol=1e-12)
    assert g.requires_grad
    (h,) = grad((g * gradviz.tensor(np.arange(9.0))).sum(), x)
    np.testing.assert_array_equal(h.numpy(), np.zeros(9))


def test_layers_without_a_rule_are_refused_by_name_and_listed_ones_are_named():
    x = gradviz.randn(2, 1, 5, 5, requires_grad=True)
    conv = gradviz.nn.Conv2d(1, 2, 3)
    log_probs = F.log_softmax(conv(x).reshape(2, 2, 9).permute(2, 0, 1), 2)  # (T, N, C)
    ones = gradviz.tensor([[1], [1]])
    loss = F.ctc_loss(log_probs, ones, gradviz.tensor([9, 9]), gradviz.tensor([1, 1]))
    with pytest.raises(BackwardError, match=r"through CtcLoss are not") as refused:
        grad(loss, x, create_graph=True)
    listed = str(refused.value).split("supported ops: ")[1].split(", ")
    assert {"Conv2d", "MaxPool2d", "CrossEntropy", "LayerNorm", "Softmax", "Gelu"} <= set(listed)
    assert {"Relu_", "LeakyRelu_", "Add_", "IndexPut_"} <= set(listed)  # in place: listed too
    (g,) = grad(F.relu(conv(x), inplace=True).sum(), x, create_graph=True)
    assert g.grad_fn is not None


def test_std_of_a_constant_row_has_zero_first_and_second_gradients_as_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 1.0, 1.0], [0.5, -0.2, 0.3]])
    w = np.array([[0.3, -1.0, 2.0], [1.0, 0.5, -0.5]])
    results = []
    for lib in (gradviz, torch):
        x = lib.tensor(a, requires_grad=True)
        (g,) = lib.autograd.grad((x.std(1) * lib.tensor([2.0, 3.0])).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(w)).sum(), x)
        results.append((g.detach().numpy(), h.numpy()))
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(results[0][1][0], 0.0)
