"""Hostile input, round 10: the tutorials a learner writes from memory (PyTorch's DQN with its
replay memory and target network, REINFORCE, a Transformer language model, a small Vision
Transformer, a GCN by hand, SimCLR's NT-Xent, distillation, mixup); each case ends in
PyTorch's result or a GradvizError that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz as torch
from gradviz import nn


def _policy_episode(states: np.ndarray, dead: int = 0) -> torch.Trace:
    """REINFORCE's loop: the policy sees one state (one row) per step of the episode; the
    first ``dead`` hidden units are dead."""
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        policy[0].bias[:dead] = -100.0
    with torch.trace() as tr:
        log_probs = [policy(torch.tensor(s).unsqueeze(0)).log_softmax(1)[:, 0] for s in states]
        torch.cat(log_probs).sum().backward()
    return tr


def test_relu_seen_one_row_per_call_is_not_called_dead():
    """Was: check warned "N of 32 units are zero for every row of the batch" once per step of
    the episode: a batch of one row has about half its units at zero, dead or not."""
    states = np.array([[1.0, -1.0], [-1.0, 1.0], [2.0, 0.5], [-0.5, -2.0]], np.float32)
    report = _policy_episode(states).check()
    assert not report.by_kind("dead_relu")
    (row,) = report.relus  # the calls of one ReLU pooled
    assert row.units == 8
    alone = _policy_episode(states[:1]).check()
    assert not alone.by_kind("dead_relu")
    assert [r.dead_units for r in alone.relus] == [0]


def test_relu_dead_for_every_call_is_named_once():
    states = np.array([[1.0, -1.0], [-1.0, 1.0], [2.0, 0.5]], np.float32)
    (finding,) = _policy_episode(states, dead=5).check().by_kind("dead_relu")
    assert finding.message.startswith("5 of 8 units (62%) are zero for every row of its 3 calls")


def test_gcn_sparse_adjacency_says_how_to_keep_it_dense():
    """Was: AttributeError "module 'gradviz' has no attribute 'sparse'" on pygcn's
    ``torch.sparse.mm(adj, support)``, and on ``adj.to_sparse()`` nothing said what to do."""
    adj = torch.eye(3) + torch.ones(3, 3)
    x = torch.randn(3, 2, requires_grad=True)
    torch.sparse.mm(adj, x).sum().backward()  # dense matrices, as PyTorch takes them too
    assert x.grad.tolist() == [[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]]
    assert torch.spmm(adj, x).tolist() == (adj @ x).tolist()
    assert not adj.is_sparse
    assert adj.to_dense() is adj
    refusals = (
        lambda: adj.to_sparse(),
        lambda: torch.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 1.0], (2, 2)),
        lambda: torch.sparse.FloatTensor(torch.tensor([[0], [1]]), torch.ones(1), (2, 2)),
    )
    for make in refusals:
        with pytest.raises(torch.GradvizError, match=r"no sparse tensors: keep the matrix dense"):
            make()
