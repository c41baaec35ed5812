"""PyTorch's process-wide switches: the deterministic debug mode (one switch with
``use_deterministic_algorithms``), interop threads, ``set_warn_always`` and
``set_flush_denormal``, each recorded and read back as PyTorch's."""

from __future__ import annotations

import pytest

import gradviz


@pytest.fixture(autouse=True)
def _restore():
    yield
    gradviz.use_deterministic_algorithms(False)
    gradviz.set_num_interop_threads(1)
    gradviz.set_warn_always(False)


@pytest.mark.parametrize(
    ("mode", "level", "enabled", "warn_only"),
    [
        ("default", 0, False, False),
        ("warn", 1, True, True),
        ("error", 2, True, False),
        (2, 2, True, False),
    ],
)
def test_deterministic_debug_mode_is_use_deterministic_algorithms(mode, level, enabled, warn_only):
    torch = pytest.importorskip("torch")
    gradviz.set_deterministic_debug_mode(mode)
    torch.set_deterministic_debug_mode(mode)
    try:
        assert (
            gradviz.get_deterministic_debug_mode() == level == torch.get_deterministic_debug_mode()
        )
        assert gradviz.are_deterministic_algorithms_enabled() is enabled
        assert gradviz.is_deterministic_algorithms_warn_only_enabled() is warn_only
        assert torch.is_deterministic_algorithms_warn_only_enabled() is warn_only
    finally:
        torch.set_deterministic_debug_mode(0)


def test_bad_debug_mode_is_refused():
    with pytest.raises(ValueError, match="debug_mode"):
        gradviz.set_deterministic_debug_mode("loud")


def test_switches_read_back_what_was_set():
    assert gradviz.get_num_interop_threads() == 1
    gradviz.set_num_interop_threads(3)
    assert gradviz.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="positive"):
        gradviz.set_num_interop_threads(0)
    gradviz.init_num_threads()
    assert not gradviz.is_warn_always_enabled()
    gradviz.set_warn_always(True)
    assert gradviz.is_warn_always_enabled()
    assert gradviz.set_flush_denormal(True) is False


def test_memory_formats_are_taken_and_change_nothing():
    """Was: AbsentError at `model = model.to(memory_format=torch.channels_last)`, a speed habit
    of CNN scripts that changes no value."""
    x = gradviz.randn(2, 3, 4, 4)
    model = gradviz.nn.Conv2d(3, 2, 1)
    assert model.to(memory_format=gradviz.channels_last) is model
    assert x.to(memory_format=gradviz.channels_last) is x
    assert x.contiguous(memory_format=gradviz.channels_last) is x
    assert x.is_contiguous(memory_format=gradviz.contiguous_format)
    assert repr(gradviz.channels_last_3d) == "torch.channels_last_3d"
    assert isinstance(gradviz.preserve_format, gradviz.memory_format)
    with pytest.raises(gradviz.GradvizError, match=r"must be torch\.memory_format, not str"):
        x.contiguous(memory_format="channels_last")
