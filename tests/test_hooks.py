"""``hooks.paused()``: no event inside, the hooks back afterwards, whatever happens meanwhile."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gradviz
from gradviz import Variable
from gradviz.autograd import hooks


class Ops(hooks.Hook):
    def __init__(self) -> None:
        self.ops: list[str] = []

    def op(self, node, inputs, output):
        self.ops.append(type(node).__name__)

    def grad_mode(self, enabled):
        self.ops.append(f"grad_mode {enabled}")


@pytest.fixture
def seen():
    hook = Ops()
    hooks.install(hook)
    yield hook
    hooks.uninstall(hook)


def test_paused_empties_active_and_restores_it(seen):
    x = Variable(np.ones(2), requires_grad=True)
    with hooks.paused():
        assert hooks.ACTIVE == ()
        (x * 2).sum().backward()
        with gradviz.no_grad():
            x + 1
    assert hooks.ACTIVE == (seen,)
    x.exp()
    assert seen.ops == ["Exp"]


def test_paused_restores_on_error_and_nests(seen):
    def fails():
        with hooks.paused():
            with hooks.paused():
                assert hooks.ACTIVE == ()
            assert hooks.ACTIVE == ()  # the outer pause still holds
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fails()
    assert hooks.ACTIVE == (seen,)
    assert hooks._pauses == 0


def test_install_and_uninstall_during_a_pause_take_effect_after_it(seen):
    other = Ops()
    with hooks.paused():
        hooks.install(other)
        hooks.uninstall(seen)
        assert hooks.ACTIVE == ()
        Variable(np.ones(2)).exp()
    assert hooks.ACTIVE == (other,)
    assert other.ops == seen.ops == []
    hooks.uninstall(other)


def test_pauses_in_two_threads_restore_the_hooks_once_both_end(seen):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    states = {}

    def first():
        with hooks.paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with hooks.paused():
            second_in.set()
            first_out.wait(5)
            states["after the first pause ended"] = hooks.ACTIVE
        states["after both"] = hooks.ACTIVE

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert states == {"after the first pause ended": (), "after both": (seen,)}


def test_gradcheck_runs_paused(seen):
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    assert gradviz.gradcheck(lambda v: (v * v).sum(), (x,))
    assert seen.ops == []  # not its ops, nor its no_grad
    assert x.grad is None
