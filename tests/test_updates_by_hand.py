"""Updates written by hand (``w -= lr * w.grad`` under ``no_grad``, ``p.data -= ...``, as the
tutorials train) are measured as an optimizer's are: the update norm and update/weight ratio
on the timeline, the pass's parameter nodes and the pictures."""

import numpy as np
import pytest

import gradviz
import gradviz.nn as nn
import gradviz.optim as optim
from gradviz.viz.draw.render import build
from gradviz.viz.draw.style import number

LR = 0.1


def _data():
    gradviz.manual_seed(0)
    return gradviz.randn(16, 3), gradviz.randn(16, 1)


def _node_label(source: str, node: str) -> str:
    (line,) = (x for x in source.splitlines() if x.strip().startswith(f"{node} ["))
    return line


def _sgd_by_hand(steps: int, through_data: bool = False, **options):
    """Linear regression trained by hand; returns the trace, and each step's (update norm,
    weight norm) of ``w`` computed here in NumPy."""
    x, y = _data()
    w = gradviz.randn(3, 1, requires_grad=True)
    expected = []
    with gradviz.trace(**options) as tr:
        for _ in range(steps):
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            weight = float(np.linalg.norm(w.numpy()))
            update = LR * w.grad.numpy()
            if through_data:
                w.data -= LR * w.grad
            else:
                with gradviz.no_grad():
                    w -= LR * w.grad
            w.grad = None
            expected.append((float(np.linalg.norm(update)), weight))
    return tr, expected


@pytest.mark.parametrize("through_data", [False, True], ids=["no_grad", "data"])
def test_the_timeline_has_each_step_s_update_of_a_parameter_updated_by_hand(through_data):
    tr, expected = _sgd_by_hand(4, through_data, detail="summary")
    norms = tr.timeline.series("param:w", "update_norm")
    ratios = tr.timeline.series("param:w", "update_ratio")
    assert len(norms) == 4
    np.testing.assert_allclose(norms, [u for u, _ in expected], rtol=1e-5)
    np.testing.assert_allclose(ratios, [u / w for u, w in expected], rtol=1e-5)


def test_one_traced_step_updated_by_hand_shows_the_update_on_the_parameter():
    tr, expected = _sgd_by_hand(1)
    (w,) = (n for n, a in tr.graph.nodes(data=True) if a["kind"] == "param")
    assert tr.graph.nodes[w]["name"] == "w"  # made before the trace: named as the code calls it
    update, weight = expected[0]
    assert tr.graph.nodes[w]["update"]["norm"] == pytest.approx(update, rel=1e-5)
    label = _node_label(build(tr.graph, "backward").source, w)  # the gradient view
    assert f"update/weight {number(update / weight)}" in label


def test_a_parameter_left_alone_gets_no_update():
    x, y = _data()
    w = gradviz.randn(3, 1, requires_grad=True)
    frozen = gradviz.randn(1, requires_grad=True)
    with gradviz.trace(detail="summary") as tr:
        for _ in range(2):
            loss = ((x @ w + frozen - y) ** 2).mean()
            loss.backward()
            with gradviz.no_grad():
                w -= LR * w.grad
            w.grad = frozen.grad = None
    assert np.all(tr.timeline.series("param:w", "update_norm") > 0)
    assert np.isnan(tr.timeline.series("param:frozen", "update_norm")).all()


def _sgd_steps(steps: int, log_between: bool = False) -> tuple[np.ndarray, list[float]]:
    """``steps`` SGD steps of a linear model under a summary trace: the timeline's update norms
    of its weight, and the weight's gradient norm at each step. ``log_between``: a gradient
    norm logged under no_grad and ``clip_grad_norm_`` between backward and ``opt.step()``."""
    gradviz.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=LR)
    x, y = _data()
    grad_norms = []
    with gradviz.trace(detail="summary") as tr:
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            grad_norms.append(float(np.linalg.norm(model.weight.grad.numpy())))
            if log_between:
                with gradviz.no_grad():
                    sum((p.grad**2).sum() for p in model.parameters())
                nn.utils.clip_grad_norm_(model.parameters(), 1e3)  # (a bound never reached)
            opt.step()
    return tr.timeline.series("param:weight", "update_norm"), grad_norms


def test_an_optimizer_s_updates_are_measured_as_before():
    norms, grad_norms = _sgd_steps(3)
    np.testing.assert_allclose(norms, LR * np.array(grad_norms), rtol=1e-5)


def test_ops_between_backward_and_the_optimizer_step_leave_the_update_measured():
    # a gradient norm logged under no_grad before opt.step() used to end the step, and every
    # step after the first lost its update
    norms, grad_norms = _sgd_steps(4, log_between=True)
    np.testing.assert_allclose(norms, LR * np.array(grad_norms), rtol=1e-5)
