"""``gradviz.<name>`` for a name of PyTorch's top level that gradviz has not: an AttributeError
(so ``hasattr`` is False) that says gradviz (NumPy) has no ``torch.<name>`` and what to use."""

from __future__ import annotations

import pytest

import gradviz
from gradviz.autograd import absent
from gradviz.autograd.errors import AbsentError, GradvizError

#: Python modules and flags PyTorch's namespace happens to hold
NOT_TORCH_API = {
    *("builtins", "ctypes", "glob", "importlib", "inspect", "math", "os", "platform"),
    *("textwrap", "threading", "warnings", "torch", "TYPE_CHECKING", "USE_GLOBAL_DEPS"),
    *("USE_RTLD_GLOBAL_WITH_LIBTORCH", "PRIVATE_OPS"),
}


def test_every_torch_name_is_in_gradviz_or_says_what_to_use():
    torch = pytest.importorskip("torch")
    unknown = [
        name
        for name in dir(torch)
        if not name.startswith("_")
        and name not in NOT_TORCH_API
        and not hasattr(gradviz, name)
        and not absent.is_torch_name(name)
    ]
    assert not unknown, f"torch names gradviz neither has nor refuses: {unknown}"


def test_names_listed_as_absent_are_absent():
    listed = set(absent.OTHERS) | set(absent._NAMES) | set(absent.INSTEAD)
    present = sorted(name for name in listed if name in vars(gradviz))
    assert not present, f"listed as absent but defined: {present}"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("quantize_per_tensor", "quantized tensors"),
        ("sparse_csr_tensor", "keep the matrix dense"),
        ("view_as_complex", "complex dtypes"),
        ("cudnn_convolution", "public op"),
        ("ScriptModule", "TorchScript"),
        ("FloatStorage", "NumPy array"),
        ("jagged", "layout argument"),
        ("embedding_bag", "F.embedding_bag"),
        ("histogramdd", None),
    ],
)
def test_absent_names_are_attribute_errors_that_say_what_to_use(name, hint):
    assert not hasattr(gradviz, name)
    with pytest.raises(AbsentError, match=rf"gradviz \(NumPy\) has no torch\.{name}") as info:
        getattr(gradviz, name)
    assert isinstance(info.value, AttributeError)
    assert isinstance(info.value, GradvizError)
    assert isinstance(info.value, gradviz.UnsupportedError)  # one family with torch.hub's
    if hint:
        assert hint in str(info.value)


def test_other_names_stay_plain_attribute_errors():
    with pytest.raises(AttributeError) as info:
        gradviz.no_such_function  # noqa: B018
    assert not isinstance(info.value, AbsentError)


def test_constants_are_pytorchs():
    torch = pytest.importorskip("torch")
    for name in ("pi", "e", "inf", "newaxis"):
        assert getattr(gradviz, name) == getattr(torch, name)
    assert gradviz.nan != gradviz.nan


def test_torch_multiprocessing_start_method_lines_run_and_the_rest_is_still_refused():
    """``mp.set_start_method("spawn", force=True)`` under ``if __name__ == "__main__":`` is a
    habit of scripts written for a GPU (was: UnsupportedError before the first step)."""
    import multiprocessing

    import gradviz.multiprocessing as mp

    before = multiprocessing.get_start_method(allow_none=True)
    try:
        mp.set_start_method("spawn", force=True)
        assert mp.get_start_method() == "spawn" == multiprocessing.get_start_method()
    finally:
        multiprocessing.set_start_method(before, force=True)
    assert mp.cpu_count() == multiprocessing.cpu_count()
    assert mp.get_context("spawn").get_start_method() == "spawn"
    mp.freeze_support()
    with pytest.raises(gradviz.UnsupportedError, match="shares no tensors"):
        mp.Process  # noqa: B018 - a process sharing a model would silently not train it
