"""``torch.Tensor``'s rarely met attributes on ``Variable``: each is PyTorch's (checked against
it) or an ``AbsentError`` naming ``Tensor.<name>`` and what to use instead."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradviz
from gradviz import Variable
from gradviz.autograd.errors import AbsentError, GradvizError


def test_every_torch_tensor_attribute_is_on_variable_or_refused_by_name():
    torch = pytest.importorskip("torch")
    x = gradviz.ones(2, 3)
    unknown = []
    for name in dir(torch.Tensor):
        if name.startswith("_"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(x, name)
        except AbsentError as error:
            if f"Tensor.{name};" not in str(error) or str(error).endswith("; None"):
                unknown.append(f"{name} (refused without its name or a hint: {error})")
        except AttributeError:
            unknown.append(name)
        except GradvizError:  # there, refusing this Variable (a property of others)
            pass
    assert not unknown, f"torch.Tensor attributes Variable neither has nor refuses: {unknown}"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("to_sparse_csr", "keep the matrix dense"),
        ("values", "keep the matrix dense"),
        ("q_scale", "quantized tensors"),
        ("cfloat", "complex dtypes"),
        ("stft", "complex dtypes"),
        ("untyped_storage", "x.numpy() shares it"),
        ("as_strided", "x.numpy() shares it"),
        ("xpu", "runs on the CPU only"),
        ("record_stream", "no streams"),
        ("lu", "gradviz.linalg.solve"),
        ("index", "x[...]"),
    ],
)
def test_absent_tensor_attributes_say_what_to_use(name, hint):
    x = gradviz.ones(2, 2)
    assert not hasattr(x, name)
    with pytest.raises(AbsentError, match=rf"gradviz \(NumPy\) has no Tensor\.{name};") as info:
        getattr(x, name)
    assert isinstance(info.value, AttributeError)
    assert isinstance(info.value, GradvizError)
    assert f"'Variable' object has no attribute '{name}'" in str(info.value)
    assert hint in str(info.value)


def test_other_missing_attributes_stay_plain_attribute_errors():
    x = gradviz.ones(2)
    for name in ("no_such_method", "_private", "__deepcopy_me__"):
        with pytest.raises(AttributeError) as info:
            getattr(x, name)
        assert type(info.value) is AttributeError
        assert str(info.value) == f"'Variable' object has no attribute '{name}'"
    with pytest.raises(AttributeError) as info:
        x.gradd  # noqa: B018
    assert info.value.name == "gradd"
    assert info.value.obj is x  # (so Python suggests `grad`)
    p = gradviz.nn.Parameter(gradviz.ones(2))
    with pytest.raises(AbsentError, match="'Parameter' object has no attribute 'coalesce'"):
        p.coalesce  # noqa: B018


def test_a_property_that_raises_attribute_error_keeps_its_error():
    class Tagged(Variable):
        @property
        def tag(self):
            raise AttributeError("no tag set on this one")

    with pytest.raises(AttributeError, match="no tag set"):
        Tagged(np.ones(2)).tag  # noqa: B018


def test_apply_and_map_match_torch_and_count_as_writes():
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    ours = gradviz.tensor(a).apply_(lambda v: v * v - 1)
    theirs = torch.tensor(a).apply_(lambda v: v * v - 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = gradviz.tensor(a).map_(gradviz.tensor(a[0]), lambda u, v: u - 2 * v)
    theirs = torch.tensor(a).map_(torch.tensor(a[0]), lambda u, v: u - 2 * v)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    w = gradviz.tensor([1.0, 2.0])
    x = gradviz.tensor([3.0, 4.0], requires_grad=True)
    loss = (x * w).sum()
    w.apply_(lambda v: v + 1)  # w was saved for the gradient of x: backward refuses
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_apply_refuses_a_variable_that_requires_grad_with_pytorchs_words():
    x = gradviz.ones(2, requires_grad=True)
    for call, op in ((lambda: x.apply_(abs), "apply_"), (lambda: (x * 1).map_(x, max), "map_")):
        with pytest.raises(RuntimeError, match=rf"Can't call {op}\(\) on Variable that requires"):
            call()


def test_new_is_pytorchs_legacy_constructor():
    torch = pytest.importorskip("torch")
    x, t = gradviz.zeros(2, dtype=gradviz.float64), torch.zeros(2, dtype=torch.float64)
    assert x.new(gradviz.Size([2, 3])).shape == tuple(t.new(torch.Size([2, 3])).shape) == (2, 3)
    assert x.new(4, 1).shape == (4, 1)
    assert x.new(4).dtype == np.float64
    assert not x.new(4).requires_grad
    assert x.new().shape == (0,)
    assert x.new((2, 3)).tolist() == t.new((2, 3)).tolist() == [2.0, 3.0]
    y = gradviz.tensor([1.0, 2.0], dtype=gradviz.float64, requires_grad=True)
    alias = x.new(y)  # the Variable itself, attached to the graph, as PyTorch's alias
    alias.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0]
    assert alias.data_ptr() == y.data_ptr()


def test_layout_is_torch_strided():
    torch = pytest.importorskip("torch")
    x = gradviz.ones(2)
    assert repr(x.layout) == repr(torch.ones(2).layout) == "torch.strided"
    assert x.layout is gradviz.ones(3, 3).t().layout
    assert x.layout == gradviz.strided  # (a check scripts write: x.layout == torch.strided)
    assert isinstance(gradviz.strided, gradviz.layout)


def test_output_nr_and_grad_dtype_as_pytorchs():
    torch = pytest.importorskip("torch")
    x = gradviz.ones(2, requires_grad=True)
    t = torch.ones(2, requires_grad=True)
    assert x.output_nr == t.output_nr == 0
    assert (x * 2).output_nr == (t * 2).output_nr == 0
    assert x.grad_dtype == np.float32
    assert str(t.grad_dtype) == "torch.float32"
    x.grad_dtype = gradviz.float32  # its own dtype: accepted
    with pytest.raises(RuntimeError, match="grad_dtype can only be accessed on leaf tensors"):
        (x * 2).grad_dtype  # noqa: B018
    with pytest.raises(RuntimeError, match="keeps each gradient in its Variable's dtype"):
        x.grad_dtype = gradviz.float64
    with pytest.raises(RuntimeError, match=r"must be a torch\.dtype or None, but got int"):
        x.grad_dtype = 3


def test_storage_offset_and_is_set_to_match_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(3, 4)
    x, t = gradviz.tensor(a), torch.tensor(a)
    for view in (
        lambda v: v,
        lambda v: v[1:],
        lambda v: v[:, 2:],
        lambda v: v[2],
        lambda v: v.t()[1:],
        lambda v: v[1:][:, 1:],
    ):
        assert view(x).storage_offset() == view(t).storage_offset()
    for other in (
        lambda v: v,
        lambda v: v.detach(),
        lambda v: v[0],
        lambda v: v.view(4, 3),
        lambda v: v.clone(),
        lambda v: v[:],
    ):
        assert x.is_set_to(other(x)) == t.is_set_to(other(t))


@pytest.mark.parametrize(
    "shape_and_perm",
    [((2, 3), (1, 0)), ((2, 1, 3, 4), (0, 2, 3, 1)), ((2, 3, 4, 5), (0, 2, 3, 1)),
     ((4, 3, 5), (2, 0, 1)), ((1, 1), (1, 0)), ((3, 4, 5), (1, 0, 2)),
     ((2, 3, 4, 5), (3, 2, 1, 0))],
)  # fmt: skip
def test_dim_order_matches_torch(shape_and_perm):
    torch = pytest.importorskip("torch")
    shape, perm = shape_and_perm
    x, t = gradviz.zeros(*shape).permute(*perm), torch.zeros(*shape).permute(*perm)
    formats = [gradviz.contiguous_format, gradviz.channels_last]
    torch_formats = [torch.contiguous_format, torch.channels_last]
    for ours, theirs in ((False, False), (True, True), (formats, torch_formats)):
        try:
            expected = t.dim_order(ambiguity_check=theirs)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="does not have unique dim order"):
                x.dim_order(ambiguity_check=ours)
            continue
        assert x.dim_order(ambiguity_check=ours) == expected


def test_new_empty_strided_has_torchs_shape_strides_and_dtype():
    torch = pytest.importorskip("torch")
    x, t = gradviz.zeros(2), torch.zeros(2)
    for size, stride in (((2, 3), (1, 2)), ((2, 3), (3, 1)), ((4,), (2,)), ((0, 3), (3, 1))):
        ours, theirs = x.new_empty_strided(size, stride), t.new_empty_strided(size, stride)
        assert (ours.shape, ours.stride()) == (tuple(theirs.shape), theirs.stride())
        assert ours.dtype == np.float32
    assert x.new_empty_strided((2,), (1,), dtype=gradviz.int64).dtype == np.int64
    assert x.new_empty_strided((2,), (1,), layout=x.layout, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="unexpected keyword argument 'stride_hint'"):
        x.new_empty_strided((2,), (1,), stride_hint=1)
    for size, stride in (((2, 3), (1,)), ((2,), (-1,))):
        with pytest.raises(RuntimeError):
            t.new_empty_strided(size, stride)
        with pytest.raises(RuntimeError):
            x.new_empty_strided(size, stride)


def test_resize_shrinks_in_the_same_memory_and_grows_with_the_old_values_first():
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    x, t = gradviz.tensor(a), torch.tensor(a)
    x[:1].resize_(2).fill_(-1)  # a view of the first row, shrunk: still x's memory
    t[:1].resize_(2).fill_(-1)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    grown = gradviz.tensor(a).resize_(3, 3)
    assert grown.shape == (3, 3)
    np.testing.assert_array_equal(grown.numpy().ravel()[:6], np.arange(6.0))
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        gradviz.ones(2, requires_grad=True).resize_(3)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        gradviz.ones(2).resize_(2, 3, memory_format=gradviz.channels_last)
    assert gradviz.ones(2).resize_(2, 1, 3, 1, memory_format=gradviz.channels_last).shape == (
        2, 1, 3, 1,
    )  # fmt: skip


def test_as_subclass_shares_values_and_stays_in_the_graph():
    class Tagged(Variable):
        pass

    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    y = x.as_subclass(Tagged)
    assert type(y) is Tagged
    assert y.requires_grad
    assert not y.is_leaf
    assert y.data_ptr() == x.data_ptr()
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    plain = gradviz.ones(2).as_subclass(Tagged)
    assert type(plain) is Tagged
    assert not plain.requires_grad
    with pytest.raises(TypeError, match="does not inherit from Variable"):
        x.as_subclass(int)


def test_volatile_is_false_with_pytorchs_warnings():
    x = gradviz.ones(2)
    with pytest.warns(UserWarning, match=r"volatile was removed \(Variable.volatile is always"):
        assert x.volatile is False
    with pytest.warns(UserWarning, match="volatile was removed and now has no effect"):
        x.volatile = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert x.volatile is False


def test_small_answers():
    x = gradviz.ones(3)
    assert x.is_distributed() is False
    assert x.const_data_ptr() == x.data_ptr()
    y = gradviz.zeros(3)
    assert x.module_load(y) is not x
    assert x.tolist() == [0.0, 0.0, 0.0]
    z = gradviz.full((3,), 5.0)
    assert x.module_load(z, assign=True).data_ptr() == z.data_ptr()


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda x: x.eig(), "`torch.linalg.eig` returns complex tensors"),
        (lambda x: x.symeig(eigenvectors=True), "torch.linalg.eigh"),
        (lambda x: x.lstsq(x), "`torch.lstsq` is deprecated in favor of"),
        (lambda x: x.solve(x), "X = torch.linalg.solve(A, B)"),
        (lambda x: x.reinforce(1.0), "reinforce() was removed"),
    ],
)
def test_methods_pytorch_removed_raise_its_runtime_error(call, words):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        call(torch.eye(2))
    with pytest.raises(RuntimeError) as ours:
        call(gradviz.eye(2))
    assert isinstance(ours.value, GradvizError)
    assert words in str(theirs.value)
    assert words in str(ours.value)
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


def test_matrix_exp_has_second_derivatives_and_pytorchs_gradient():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).uniform(-2, 2, (2, 3, 3))
    x = gradviz.tensor(a, requires_grad=True)
    assert gradviz.autograd.gradgradcheck(gradviz.linalg.matrix_exp, [x])
    t = torch.tensor(a, requires_grad=True)
    (g,) = gradviz.autograd.grad((x.matrix_exp() ** 2).sum(), [x])
    (h,) = torch.autograd.grad((t.matrix_exp() ** 2).sum(), [t])
    np.testing.assert_allclose(g.numpy(), h.numpy(), rtol=1e-10)
    np.testing.assert_allclose(
        gradviz.matrix_exp(gradviz.zeros(3, 3)).numpy(), np.eye(3, dtype=np.float32)
    )


def test_a_missing_attribute_runs_no_python_code():
    """NumPy probes every operand for attributes a Variable has not (``__array_interface__``,
    ``__array_struct__``), hasattr probes too: each refused name is its own descriptor, and no
    ``__getattr__`` turns every failed lookup into a Python call."""
    assert not any("__getattr__" in vars(cls) for cls in Variable.__mro__)
    assert not hasattr(gradviz.ones(2), "__array_interface__")
