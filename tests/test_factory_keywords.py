"""Every factory takes the keywords its PyTorch twin takes (``layout``, ``pin_memory``,
``memory_format`` ...), accepts the values PyTorch's CPU build accepts without changing the
result, and refuses the others with the kind of error PyTorch raises."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradviz
from gradviz.autograd.errors import GradvizError, InputError, LayoutError, OperandError

LAYOUT, PIN, FORMAT, DEVICE, DTYPE, GRAD = (
    "layout", "pin_memory", "memory_format", "device", "dtype", "requires_grad",
)  # fmt: skip
#: the keywords PyTorch's factories share, in this file's scope
SHARED = (LAYOUT, PIN, FORMAT, DEVICE, DTYPE, GRAD)
ALL_BUT_FORMAT = frozenset({LAYOUT, PIN, DEVICE, DTYPE, GRAD})
LIKE = frozenset(SHARED)


def _x(m: Any) -> Any:
    return m.arange(6.0).reshape(2, 3)


#: name -> (the call, given the module (gradviz or torch) and keywords; the shared keywords
#: PyTorch 2.13's twin takes, checked against torch by test_table_matches_torch)
FACTORIES: dict[str, tuple[Callable[..., Any], frozenset[str]]] = {
    "zeros": (lambda m, **k: m.zeros(2, 3, **k), ALL_BUT_FORMAT),
    "ones": (lambda m, **k: m.ones(2, 3, **k), ALL_BUT_FORMAT),
    "empty": (lambda m, **k: m.empty(2, 3, **k), LIKE),
    "full": (lambda m, **k: m.full((2, 3), 1.5, **k), ALL_BUT_FORMAT),
    "rand": (lambda m, **k: m.rand(2, 3, **k), ALL_BUT_FORMAT),
    "randn": (lambda m, **k: m.randn(2, 3, **k), ALL_BUT_FORMAT),
    "randint": (lambda m, **k: m.randint(0, 5, (2, 3), **k), ALL_BUT_FORMAT),
    "randperm": (lambda m, **k: m.randperm(5, **k), ALL_BUT_FORMAT),
    "arange": (lambda m, **k: m.arange(0, 3, 0.5, **k), ALL_BUT_FORMAT),
    "eye": (lambda m, **k: m.eye(3, **k), ALL_BUT_FORMAT),
    "linspace": (lambda m, **k: m.linspace(0, 1, 5, **k), ALL_BUT_FORMAT),
    "logspace": (lambda m, **k: m.logspace(0, 1, 5, **k), ALL_BUT_FORMAT),
    "tril_indices": (lambda m, **k: m.tril_indices(3, 3, **k), ALL_BUT_FORMAT),
    "triu_indices": (lambda m, **k: m.triu_indices(3, 3, **k), ALL_BUT_FORMAT),
    "range": (lambda m, **k: m.range(0, 3, **k), frozenset({LAYOUT, DEVICE, DTYPE, GRAD})),
    "scalar_tensor": (lambda m, **k: m.scalar_tensor(1.5, **k), ALL_BUT_FORMAT),
    "hann_window": (lambda m, **k: m.hann_window(5, **k), ALL_BUT_FORMAT),
    "hamming_window": (lambda m, **k: m.hamming_window(5, **k), ALL_BUT_FORMAT),
    "blackman_window": (lambda m, **k: m.blackman_window(5, **k), ALL_BUT_FORMAT),
    "bartlett_window": (lambda m, **k: m.bartlett_window(5, **k), ALL_BUT_FORMAT),
    "kaiser_window": (lambda m, **k: m.kaiser_window(5, **k), ALL_BUT_FORMAT),
    "zeros_like": (lambda m, **k: m.zeros_like(_x(m), **k), LIKE),
    "ones_like": (lambda m, **k: m.ones_like(_x(m), **k), LIKE),
    "full_like": (lambda m, **k: m.full_like(_x(m), 2.5, **k), LIKE),
    "empty_like": (lambda m, **k: m.empty_like(_x(m), **k), LIKE),
    "rand_like": (lambda m, **k: m.rand_like(_x(m), **k), LIKE),
    "randn_like": (lambda m, **k: m.randn_like(_x(m), **k), LIKE),
    "randint_like": (lambda m, **k: m.randint_like(_x(m), 5, **k), LIKE),
    "tensor": (lambda m, **k: m.tensor([1.0, 2.0], **k), frozenset({PIN, DEVICE, DTYPE, GRAD})),
    "as_tensor": (lambda m, **k: m.as_tensor([1.0, 2.0], **k), frozenset({DEVICE, DTYPE})),
    "asarray": (lambda m, **k: m.asarray([1.0, 2.0], **k), frozenset({DEVICE, DTYPE, GRAD})),
    "from_numpy": (lambda m, **k: m.from_numpy(np.ones(2), **k), frozenset()),
    "Tensor.new_zeros": (lambda m, **k: _x(m).new_zeros((2,), **k), ALL_BUT_FORMAT),
    "Tensor.new_ones": (lambda m, **k: _x(m).new_ones((2,), **k), ALL_BUT_FORMAT),
    "Tensor.new_empty": (lambda m, **k: _x(m).new_empty((2,), **k), ALL_BUT_FORMAT),
    "Tensor.new_full": (lambda m, **k: _x(m).new_full((2,), 3.0, **k), ALL_BUT_FORMAT),
    "Tensor.new_tensor": (
        lambda m, **k: _x(m).new_tensor([1.0], **k),
        frozenset({DEVICE, DTYPE, GRAD}),
    ),
    "Tensor.new_empty_strided": (
        lambda m, **k: _x(m).new_empty_strided((2,), (1,), **k),
        ALL_BUT_FORMAT,
    ),
}
#: the factories whose values are not defined (PyTorch's empty ones): compared by shape only
UNDEFINED = {"empty", "empty_like", "Tensor.new_empty", "Tensor.new_empty_strided"}


def _gradviz_callable(name: str) -> Any:
    owner, _, attr = name.rpartition(".")
    return getattr(gradviz.Variable if owner else gradviz, attr)


def _run(m: Any, name: str, **kwargs: Any) -> Any:
    """The factory's result (seeded, so random ones repeat; ``range``'s deprecation quiet)."""
    m.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return FACTORIES[name][0](m, **kwargs)


def _outcome(m: Any, name: str, **kwargs: Any) -> str:
    """``"ok"``, ``"TypeError"`` or ``"RuntimeError"`` (PyTorch's NotImplementedError is one)."""
    try:
        _run(m, name, **kwargs)
    except TypeError:
        return "TypeError"
    except RuntimeError:
        return "RuntimeError"
    return "ok"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_factory_has_the_keywords_of_its_torch_twin(name):
    parameters = inspect.signature(_gradviz_callable(name)).parameters
    missing = sorted(FACTORIES[name][1] - parameters.keys())
    assert not missing, f"gradviz.{name} lacks the keywords {missing} that torch.{name} takes"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_table_matches_torch(name):
    torch = pytest.importorskip("torch")
    valid = {
        LAYOUT: torch.strided,
        PIN: False,
        FORMAT: torch.contiguous_format,
        DEVICE: "cpu",
        DTYPE: torch.float64,
        GRAD: False,
    }
    taken = {key for key in SHARED if _outcome(torch, name, **{key: valid[key]}) != "TypeError"}
    assert taken == FACTORIES[name][1]


def _accepted(m: Any, name: str) -> dict[str, Any]:
    """The keywords with values PyTorch's CPU build takes and that change nothing."""
    given = {LAYOUT: m.strided, PIN: False, FORMAT: m.contiguous_format, DEVICE: "cpu"}
    return {key: value for key, value in given.items() if key in FACTORIES[name][1]}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_strided_layout_and_no_pinned_memory_change_nothing(name):
    plain = _run(gradviz, name)
    given = _run(gradviz, name, **_accepted(gradviz, name))
    assert (given.shape, given.dtype) == (plain.shape, plain.dtype)
    assert given.requires_grad == plain.requires_grad
    if name not in UNDEFINED:
        np.testing.assert_array_equal(given.numpy(), plain.numpy())


def test_layout_none_and_pin_memory_none_are_the_defaults():
    out = gradviz.zeros(2, layout=None, pin_memory=None)
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0])


def test_torch_own_strided_layout_is_accepted():
    torch = pytest.importorskip("torch")
    assert gradviz.ones(2, layout=torch.strided).shape == (2,)


#: refusals, as keywords given the module
REFUSED: dict[str, Callable[[Any], dict[str, Any]]] = {
    "pin_memory=True": lambda m: {PIN: True},
    "pin_memory=1": lambda m: {PIN: 1},
    "layout='strided'": lambda m: {LAYOUT: "strided"},
    "memory_format='x'": lambda m: {FORMAT: "x"},
    "memory_format=channels_last": lambda m: {FORMAT: m.channels_last},
    "memory_format=preserve_format": lambda m: {FORMAT: m.preserve_format},
}


@pytest.mark.parametrize("refusal", sorted(REFUSED))
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_refusals_match_torch(name, refusal):
    torch = pytest.importorskip("torch")
    expected = _outcome(torch, name, **REFUSED[refusal](torch))
    assert _outcome(gradviz, name, **REFUSED[refusal](gradviz)) == expected
    (key,) = REFUSED[refusal](gradviz)
    if expected != "ok" and key in FACTORIES[name][1]:  # a keyword it takes: a gradviz error
        with pytest.raises(GradvizError, match=name.rpartition(".")[2]):
            _run(gradviz, name, **REFUSED[refusal](gradviz))


@pytest.mark.parametrize("name", sorted(n for n, (_, keys) in FACTORIES.items() if PIN in keys))
def test_pinned_memory_is_refused_as_pytorch_cpu_refuses_it(name):
    with pytest.raises(InputError, match="pin_memory=True requires a CUDA or other accelerator"):
        _run(gradviz, name, pin_memory=True)


@pytest.mark.parametrize("name", sorted(n for n, (_, keys) in FACTORIES.items() if LAYOUT in keys))
def test_a_sparse_layout_says_variables_are_dense(name):
    with pytest.raises(LayoutError, match=r"dense \(strided\) Variables only") as info:
        _run(gradviz, name, layout=gradviz.layout("sparse_coo"))
    assert isinstance(info.value, NotImplementedError)
    assert isinstance(info.value, RuntimeError)  # as PyTorch's errors for a sparse layout


def test_torch_sparse_layout_is_refused_naming_it():
    torch = pytest.importorskip("torch")
    with pytest.raises(LayoutError, match=r"torch\.sparse_coo"):
        gradviz.zeros(2, layout=torch.sparse_coo)


def test_a_layout_that_is_not_one_is_pytorch_type_error():
    with pytest.raises(OperandError, match=r"argument 'layout' must be torch\.layout, not str"):
        gradviz.zeros(2, layout="strided")


def test_memory_formats_of_empty_and_like_factories():
    x4 = gradviz.zeros(1, 2, 3, 4)
    assert gradviz.empty(1, 2, 3, 4, memory_format=gradviz.channels_last).shape == (1, 2, 3, 4)
    assert gradviz.zeros_like(x4, memory_format=gradviz.channels_last).shape == (1, 2, 3, 4)
    assert gradviz.ones_like(x4, memory_format=gradviz.preserve_format).shape == (1, 2, 3, 4)
    with pytest.raises(InputError, match="required rank 4 tensor to use channels_last format"):
        gradviz.empty(2, 3, memory_format=gradviz.channels_last)
    with pytest.raises(InputError, match="required rank 5 tensor to use channels_last_3d"):
        gradviz.zeros_like(x4, memory_format=gradviz.channels_last_3d)
    with pytest.raises(InputError, match="unsupported memory format Preserve"):
        gradviz.empty(2, memory_format=gradviz.preserve_format)


def test_clone_takes_a_memory_format_as_pytorch():
    """Was: TypeError at ``x.clone(memory_format=torch.contiguous_format)``."""
    x = gradviz.ones(2, 3, requires_grad=True)
    for kept in (gradviz.preserve_format, gradviz.contiguous_format):
        copy = x.clone(memory_format=kept)
        assert copy.grad_fn.name() == "Clone"
        np.testing.assert_array_equal(copy.numpy(), x.numpy())
    x4 = gradviz.ones(1, 2, 3, 4)
    assert gradviz.clone(x4, memory_format=gradviz.channels_last).shape == (1, 2, 3, 4)
    with pytest.raises(InputError, match="required rank 4 tensor to use channels_last format"):
        x.clone(memory_format=gradviz.channels_last)
    with pytest.raises(OperandError, match=r"must be torch\.memory_format, not int"):
        x.clone(memory_format=3)
    with pytest.raises(TypeError):  # keyword only, as PyTorch's
        x.clone(gradviz.preserve_format)


def test_integer_factories_take_requires_grad_as_pytorch():
    floats = gradviz.randint(0, 5, (3,), dtype=gradviz.float32, requires_grad=True)
    assert floats.requires_grad
    assert gradviz.tril_indices(3, 3, dtype=gradviz.float64, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError):  # integers cannot require grad, as in PyTorch
        gradviz.randperm(4, requires_grad=True)


def test_factories_no_longer_swallow_a_device():
    for make in (gradviz.hann_window, gradviz.scalar_tensor):
        with pytest.raises(InputError, match="gradviz runs on the CPU only"):
            make(3, device="cuda")
