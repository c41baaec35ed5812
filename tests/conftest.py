"""Shared fixtures: a deterministic hypothesis profile and guards against leaked global state."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from hypothesis import settings

import gradviz
from gradviz.autograd import grad_mode, hooks

# Derandomized and sized for 2 cores; HYPOTHESIS_PROFILE=... selects another registered profile.
settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _no_leaked_global_state():
    """After every test: no hook installed, grad mode on, ``sys.argv`` unchanged, and the
    default dtype back to float32.

    The state is restored before the assertions run, so one leaking test fails alone instead of
    breaking every test after it.
    """
    argv_object, argv = sys.argv, list(sys.argv)
    dtype = gradviz.get_default_dtype()
    yield
    leaked_hooks = hooks.ACTIVE
    leaked_pauses = hooks._pauses
    grad_enabled = gradviz.is_grad_enabled()
    leaked_argv = list(sys.argv)
    leaked_dtype = gradviz.get_default_dtype()
    hooks.ACTIVE = ()
    hooks._pauses, hooks._held = 0, ()
    grad_mode.set_grad_enabled(True)
    argv_object[:] = argv
    sys.argv = argv_object
    gradviz.set_default_dtype(dtype)
    assert leaked_hooks == (), f"test left hooks installed: {leaked_hooks}"
    assert leaked_pauses == 0, "test left hooks.paused() open"
    assert grad_enabled, "test left grad mode disabled"
    assert leaked_argv == argv, f"test changed sys.argv: {leaked_argv} != {argv}"
    assert leaked_dtype == dtype, f"test left the default dtype at {leaked_dtype}"


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator with a fixed seed."""
    return np.random.default_rng(0)
