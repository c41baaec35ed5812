"""``nn.utils.rnn`` (pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence) and
packed batches through ``nn.RNN``/``LSTM``/``GRU``, against PyTorch (skipped without it) and on
their own."""

import numpy as np
import pytest

import gradviz
from gradviz import nn
from gradviz.autograd.errors import GradvizError
from gradviz.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)

LENGTHS = [2, 5, 3, 1]  # unsorted: enforce_sorted=False sorts them


def _batch(seed: int = 0) -> np.ndarray:
    """A padded (T, B, 3) float64 batch, zero past each sequence's length."""
    x = np.random.default_rng(seed).standard_normal((5, 4, 3))
    for b, n in enumerate(LENGTHS):
        x[n:, b] = 0
    return x


def test_pack_then_pad_gives_the_batch_back_with_its_lengths():
    x = gradviz.tensor(_batch(), requires_grad=True)
    packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
    assert isinstance(packed, PackedSequence)
    assert packed.data.shape == (sum(LENGTHS), 3)
    assert packed.batch_sizes.tolist() == [4, 3, 2, 1, 1]
    assert packed.sorted_indices.tolist() == [1, 2, 0, 3]
    padded, lengths = pad_packed_sequence(packed)
    np.testing.assert_array_equal(padded.numpy(), _batch())
    assert lengths.tolist() == LENGTHS
    padded.sum().backward()  # gradient flows through both, 1 where a sequence runs
    np.testing.assert_array_equal(x.grad.numpy(), (_batch() != 0).astype(float))


def test_pad_sequence_pads_each_sequence_to_the_longest():
    parts = [gradviz.ones(n, 2) for n in (3, 1)]
    out = pad_sequence(parts, batch_first=True, padding_value=-1.0)
    assert out.shape == (2, 3, 2)
    assert out.numpy()[1, 1:].tolist() == [[-1.0, -1.0], [-1.0, -1.0]]
    left = pad_sequence(parts, padding_side="left")
    assert left.shape == (3, 2, 2)
    assert left.numpy()[0, 1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pack_padded_sequence(gradviz.zeros(5, 4, 3), LENGTHS), "sorted in decreasing"),
        (lambda: pack_padded_sequence(gradviz.zeros(5, 4, 3), [6, 1, 1, 1]), "longer than"),
        (lambda: pack_padded_sequence(gradviz.zeros(5, 4, 3), [3, 0, 0, 0]), "greater than 0"),
        (lambda: pack_padded_sequence(gradviz.zeros(5, 4, 3), [3, 2]), "one per sequence"),
        (lambda: pad_packed_sequence(gradviz.zeros(3)), "expected a PackedSequence"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(GradvizError, match=message):
        call()


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_batches_through_recurrent_layers_match_pytorch(kind, bidirectional):
    torch = pytest.importorskip("torch")
    gradviz.manual_seed(0)
    ours = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=bidirectional).double()
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=bidirectional).double()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(dict(ours.named_parameters())[name].numpy()))
    x, tx = gradviz.tensor(_batch(), requires_grad=True), torch.tensor(_batch(), requires_grad=True)
    out, hidden = ours(pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
    tout, thidden = theirs(
        torch.nn.utils.rnn.pack_padded_sequence(tx, LENGTHS, enforce_sorted=False)
    )
    np.testing.assert_allclose(out.data.numpy(), tout.data.detach().numpy(), atol=1e-12)
    assert out.batch_sizes.tolist() == tout.batch_sizes.tolist()
    padded, _ = pad_packed_sequence(out, batch_first=True)
    tpadded, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, batch_first=True)
    np.testing.assert_allclose(padded.numpy(), tpadded.detach().numpy(), atol=1e-12)
    h, th = (hidden[0], thidden[0]) if kind == "LSTM" else (hidden, thidden)
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), atol=1e-12)
    weight = np.random.default_rng(1).standard_normal(padded.shape)
    ((padded * weight).sum() + h.sum()).backward()
    ((tpadded * torch.from_numpy(weight)).sum() + th.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(
            dict(ours.named_parameters())[name].grad.numpy(), p.grad.numpy(), atol=1e-12
        )


def test_pack_sequence_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    parts = [rng.standard_normal((n, 2)) for n in (4, 2, 1)]
    ours = pack_sequence([gradviz.tensor(p) for p in parts])
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(p) for p in parts])
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
