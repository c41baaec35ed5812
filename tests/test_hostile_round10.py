"""Hostile input, round 10: the tutorials a learner writes from memory (PyTorch's DQN with its
replay memory and target network, REINFORCE, a Transformer language model, a small Vision
Transformer, a GCN by hand, SimCLR's NT-Xent, distillation, mixup); each case ends in
PyTorch's result or a GradvizError that says what to do."""

from __future__ import annotations

import networkx as nx
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


def _dqn_targets() -> tuple[torch.Trace, torch.Tensor]:
    """DQN's ``optimize_model``: the target network's values written under ``no_grad`` into
    the rows of the non-final states."""
    torch.manual_seed(0)
    policy_net, target_net = nn.Linear(2, 2), nn.Linear(2, 2)
    target_net.load_state_dict(policy_net.state_dict())
    states, actions = torch.randn(4, 2), torch.tensor([[0], [1], [1], [0]])
    non_final_mask = torch.tensor([True, False, True, True])
    with torch.trace() as tr:
        state_action_values = policy_net(states).gather(1, actions)
        next_state_values = torch.zeros(4)
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(states[non_final_mask]).max(1).values
        expected = (next_state_values * 0.99 + 1.0).unsqueeze(1)
        nn.SmoothL1Loss()(state_action_values, expected).backward()
    return tr, next_state_values


def test_dqn_target_network_is_drawn_feeding_the_masked_assignment():
    """Was: the target network was missing from the picture: ``next_state_values`` showed as
    an input of unknown origin (its value after the write), while the no_grad forward of the
    action choice was drawn; the write under no_grad reached no hook."""
    tr, next_state_values = _dqn_targets()
    g = tr.graph
    (put,) = [n for n, a in g.nodes(data=True) if a.get("op") == "IndexPut_"]
    before = [g.nodes[p] for p in g.predecessors(put)]
    assert any(a.get("op") == "Max" for a in before)  # the target network's values
    (zeros,) = [a for a in before if a.get("name") == "next_state_values"]
    assert zeros["value"]["max"] == 0.0  # the value before the write
    (linear,) = [
        n
        for n, a in g.nodes(data=True)
        if a.get("op") == "Linear" and a.get("module") == "target_net"
    ]
    assert nx.has_path(g, linear, put)
    # the engine's state is the unrecorded write's: no history, nothing requires grad
    assert next_state_values.grad_fn is None
    assert not next_state_values.requires_grad
    assert next_state_values._version == 1


def test_write_through_data_stays_unseen():
    """``p.data += ...`` writes through a Variable made for it: still no op, no event."""
    p = torch.ones(3, requires_grad=True)
    with torch.trace(steps="all") as tr:
        (p * 2).sum().backward()
        p.data[:] = p.data - 0.1 * p.grad
    assert [a.get("op") for _, a in tr.graph.nodes(data=True) if a.get("kind") == "op"] == [
        "Mul",
        "Sum",
    ]


def test_mixup_beta_draws_and_a_missing_distribution_says_what_there_is():
    """Was: "module 'gradviz.autograd.distributions' has no attribute 'Beta'" on mixup's
    ``torch.distributions.Beta(alpha, alpha).sample()``. Beta is there now; a distribution
    that is not says which there are."""
    torch.manual_seed(0)
    lam = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4])).sample()
    assert lam.shape == (1,)
    assert 0 <= lam.item() <= 1
    with pytest.raises(AttributeError, match=r"no Weibull \(it has Bernoulli, Beta, "):
        torch.distributions.Weibull(torch.tensor([1.0]), torch.tensor([1.0]))
    assert hasattr(torch.distributions, "Gamma")


def test_nt_xent_with_fill_diagonal_trains():
    """Was: AttributeError "'Variable' object has no attribute 'fill_diagonal_'" in SimCLR's
    loss, which masks each view's similarity with itself before the cross-entropy."""

    def nt_xent(z: torch.Tensor) -> torch.Tensor:
        z = nn.functional.normalize(z, dim=1)
        sim = (z @ z.T / 0.5).fill_diagonal_(-9e15)
        labels = torch.cat([torch.arange(2, 4), torch.arange(0, 2)])
        return nn.functional.cross_entropy(sim, labels)

    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(nt_xent, (z,))
    with pytest.raises(torch.InplaceError, match=r"in-place operation \(fill_diagonal_\)"):
        z.fill_diagonal_(0.0)


def test_a_line_assigning_a_distribution_names_no_op():
    """Was: REINFORCE's ``m = Categorical(probs)`` labelled the Div inside the constructor
    ``m = Div``, as if ``m`` held that tensor; a line's name now stays only on a result its
    variable holds once the line has run."""
    torch.manual_seed(0)
    policy = nn.Linear(2, 3)
    with torch.trace() as tr:
        probs = policy(torch.ones(1, 2)).softmax(1)
        m = torch.distributions.Categorical(probs)
        action = m.sample()
        (-m.log_prob(action)).sum().backward()
    names = {(a.get("op"), a.get("name")) for _, a in tr.graph.nodes(data=True)}
    assert ("Softmax", "probs") in names
    assert ("Div", None) in names
    assert not [n for n in names if n[1] == "m"]


def test_a_dataset_filled_row_by_row_stays_one_input():
    """A dataset built by ``X[i] = torch.tensor(row)`` in a loop draws no write per row (nor
    copies X per row): only a value an op made is drawn flowing into a tensor."""
    with torch.trace() as tr:
        X = torch.zeros(50, 3)
        for i in range(50):
            X[i] = torch.tensor([i, i + 1.0, i + 2.0])
        w = torch.ones(3, requires_grad=True)
        (X @ w).sum().backward()
    ops = [a.get("op") for _, a in tr.graph.nodes(data=True) if a.get("kind") == "op"]
    assert ops == ["MatMul", "Sum"]
    (x,) = [a for _, a in tr.graph.nodes(data=True) if a.get("name") == "X"]
    assert x["kind"] == "input"
    assert x["value"]["max"] == 51.0


def test_std_of_a_one_step_episode_is_explained():
    """Was: REINFORCE's ``returns.std()`` after a one-step episode (NaN, as in PyTorch) was
    explained as "overflow?", with the advice to look for an overflow in float64."""
    logit = torch.zeros(1, requires_grad=True)
    with torch.trace() as tr:
        returns = torch.tensor([0.1])
        with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):  # as PyTorch's
            returns = (returns - returns.mean()) / (returns.std() + 1e-7)
        (-logit * returns).sum().backward()
    (finding,) = tr.check().by_kind("nan_forward")
    assert finding.op == "Std"
    assert "0 degrees of freedom" in finding.message
    assert "overflow" not in str(tr.check())
    assert "unbiased=False" in str(tr.check())


def test_uint8_mask_of_the_old_dqn_tutorial_is_a_mask():
    """Was: the old DQN tutorial's ``non_final_mask`` (``dtype=torch.uint8``) indexed rows 1,
    0, 1 instead of masking: ``next_state_values[mask] = values`` raised a shape error and
    ``x[mask]`` silently returned the wrong rows. PyTorch reads it as a mask, with a warning."""
    torch_ = pytest.importorskip("torch")
    mask = [1, 0, 1]
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.warns(UserWarning, match="indexing with dtype uint8 is now deprecated") as seen:
        picked = x[torch.tensor(mask, dtype=torch.uint8)]
    assert seen[0].filename == __file__  # the warning points at the user's line
    (picked * torch.tensor([10.0, 20.0])).sum().backward()
    t = torch_.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.warns(UserWarning, match="uint8"):
        (t[torch_.tensor(mask, dtype=torch_.uint8)] * torch_.tensor([10.0, 20.0])).sum().backward()
    assert picked.tolist() == [1.0, 3.0]
    assert x.grad.tolist() == t.grad.tolist() == [10.0, 0.0, 20.0]
    values = torch.zeros(3)
    with pytest.warns(UserWarning, match="uint8"):
        values[torch.tensor(mask, dtype=torch.uint8)] = torch.tensor([5.0, 6.0])
    assert values.tolist() == [5.0, 0.0, 6.0]


def test_volatile_of_the_old_tutorials_is_taken_with_a_warning():
    """Was: TypeError on ``Variable(state, volatile=True)`` (the DQN tutorial of PyTorch 0.3);
    PyTorch takes it, does nothing with it, and warns."""
    from gradviz.autograd import Variable

    with pytest.warns(UserWarning, match=r"volatile was removed .*no_grad\(\)"):
        state = Variable(torch.ones(1, 2), volatile=True)
    assert not state.requires_grad
    assert state.tolist() == [[1.0, 1.0]]


def _uva_simclr_loss(lib, feats):
    """The UvA SimCLR tutorial's InfoNCE: cosine similarities, the self-similarity masked in
    place, the positives one half of the batch away."""
    cos_sim = lib.nn.functional.cosine_similarity(feats[:, None, :], feats[None, :, :], dim=-1)
    self_mask = lib.eye(cos_sim.shape[0], dtype=lib.bool)
    cos_sim.masked_fill_(self_mask, -9e15)
    pos_mask = self_mask.roll(shifts=cos_sim.shape[0] // 2, dims=0)
    cos_sim = cos_sim / 0.07
    return (-cos_sim[pos_mask] + lib.logsumexp(cos_sim, dim=-1)).mean()


def test_cosine_similarity_output_can_be_masked_in_place():
    """Was: BackwardError "modified by an inplace operation ... output 0 of
    CosineSimilarity": its backward read its own output, which SimCLR's
    ``cos_sim.masked_fill_(self_mask, -9e15)`` overwrites; PyTorch's does not."""
    torch_ = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((6, 4))
    ours = torch.tensor(data, requires_grad=True)
    theirs = torch_.tensor(data, requires_grad=True)
    _uva_simclr_loss(torch, ours).backward()
    _uva_simclr_loss(torch_, theirs).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    x = torch.tensor(data[:4], requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: _uva_simclr_loss(torch, f), (x,))
    seconds = []  # the double backward recomputes the similarity too
    for lib, a in ((torch, torch.tensor(data)), (torch_, torch_.tensor(data))):
        a.requires_grad_(True)
        sim = lib.nn.functional.cosine_similarity(a, a.flip(0) * 2, dim=1)
        (first,) = lib.autograd.grad((sim * sim).sum(), a, create_graph=True)
        (first * a).sum().backward()
        seconds.append(a.grad.numpy())
    np.testing.assert_allclose(*seconds, rtol=1e-9, atol=1e-12)
