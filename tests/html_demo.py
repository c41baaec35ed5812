"""A tiny traced training step for the interactive-page tests (tests/test_html*.py).

It has what the page must show: named parameters in modules, a fan-in (``h`` feeds two ops, so
its gradient is partial for a step), a parameter whose gradient is exactly zero (a finding),
kept arrays (histograms) and two Variables with hostile names.
"""

from __future__ import annotations

import numpy as np

import gradviz
from gradviz import nn, optim

#: Names that would run script if the page ever put them into markup.
SCRIPT_NAME = "</script><script>window.__pwned=1;alert(1)</script>"
IMG_NAME = '<img src=x onerror="window.__pwned=2">&amp;\u2028'


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)
        self.unused = nn.Linear(3, 1)

    def forward(self, x):
        h = self.fc1(x).tanh()
        h.name = SCRIPT_NAME
        both = self.fc2(h) + h.mean()  # h feeds two ops: a fan-in in backward
        both.name = IMG_NAME
        return both + 0.0 * self.unused(x).sum()  # unused's gradient is exactly zero


def demo_trace():
    """(trace, model) of one step: MSE loss, SGD, arrays kept."""
    gradviz.manual_seed(0)
    net = Net()
    opt = optim.SGD(net.parameters(), lr=0.1)
    x = gradviz.Variable(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))
    y = gradviz.Variable(np.zeros((5, 1), dtype=np.float32))
    with gradviz.trace(arrays=True) as tr:
        opt.zero_grad()
        loss = nn.MSELoss()(net(x), y)
        loss.backward()
        opt.step()
    return tr, net


def node_named(graph, name):
    """The id of the node called ``name``."""
    return next(n for n, a in graph.nodes(data=True) if a.get("name") == name)
