"""The ``cnn`` and ``gpt`` workloads, one definition for gradviz and for PyTorch.

Each builder takes the library (``gradviz`` or ``torch``) and builds the model with that
library's ``nn`` (gradviz has PyTorch's names, so the same code builds both); the optimizer,
loss and data come with it. :func:`copy_parameters` gives the PyTorch model gradviz's initial
weights, so both start from the same point and must give the same first losses.

Import it after ``pin_blas_threads()``: it imports NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The gpt workload: vocabulary, context, blocks, heads, width, batch (examples/tiny_gpt.py's).
VOCAB, CONTEXT, BLOCKS, HEADS, WIDTH, GPT_BATCH = 64, 32, 2, 4, 64, 16


@dataclass
class Workload:
    """A model with its optimizer and one batch, and the training step on them."""

    model: Any
    optimizer: Any
    loss: Any  # (model output, targets) -> scalar loss
    inputs: Any
    targets: Any

    def step(self) -> float:
        """``zero_grad``, forward, loss, ``backward``, ``step``; returns the loss."""
        self.optimizer.zero_grad()
        loss = self.loss(self.model(self.inputs), self.targets)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def cnn(lib: Any) -> Any:
    """Conv2d(1, 8, 3, pad 1)-ReLU-MaxPool2d(2)-Conv2d(8, 16, 3, pad 1)-ReLU-MaxPool2d(2)-
    Flatten-Linear(784, 10), for (N, 1, 28, 28) inputs."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 10),
    )  # fmt: skip


def gpt(lib: Any) -> Any:
    """examples/tiny_gpt.py's model: token + position embeddings, ``BLOCKS`` pre-norm blocks
    (causal multi-head self-attention and a GELU MLP, each with a residual), a final LayerNorm
    and a linear head."""
    nn, F = lib.nn, lib.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
            self.proj = nn.Linear(WIDTH, WIDTH)

        def forward(self, x):
            n, t, _ = x.shape
            q, k, v = self.qkv(x).split(WIDTH, dim=2)
            q, k, v = (z.reshape(n, t, HEADS, WIDTH // HEADS).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).reshape(n, t, WIDTH))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.attn = nn.LayerNorm(WIDTH), SelfAttention()
            self.ln2 = nn.LayerNorm(WIDTH)
            self.mlp = nn.Sequential(
                nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(), nn.Linear(4 * WIDTH, WIDTH)
            )

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens = nn.Embedding(VOCAB, WIDTH)
            self.positions = nn.Embedding(CONTEXT, WIDTH)
            self.blocks = nn.ModuleList([Block() for _ in range(BLOCKS)])
            self.ln = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)

        def forward(self, idx):
            x = self.tokens(idx) + self.positions(lib.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return GPT()


def _gpt_loss(lib: Any):
    def loss(logits, targets):
        return lib.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))

    return loss


def build(name: str, lib: Any, weights: Any = None, seed: int = 0) -> Workload:
    """Workload ``name`` (``cnn`` or ``gpt``) in ``lib``, with ``weights`` (a gradviz model to
    copy the parameters from) when given; the data is the same for every ``lib``."""
    if lib.__name__ == "gradviz":
        lib.manual_seed(seed)
    model = cnn(lib) if name == "cnn" else gpt(lib)
    if weights is not None:
        copy_parameters(weights, model)
    rng = np.random.default_rng(seed)
    if name == "cnn":
        x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, 64)
        optimizer = lib.optim.SGD(model.parameters(), lr=0.01)
        loss = lib.nn.CrossEntropyLoss()
    else:
        x = rng.integers(0, VOCAB, (GPT_BATCH, CONTEXT))
        y = rng.integers(0, VOCAB, (GPT_BATCH, CONTEXT))
        optimizer = lib.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        loss = _gpt_loss(lib)
    return Workload(model, optimizer, loss, lib.tensor(x), lib.tensor(y))


def copy_parameters(source: Any, target: Any) -> None:
    """Copy a gradviz model's parameters into the same PyTorch model, name by name."""
    import torch

    theirs = dict(target.named_parameters())
    ours = dict(source.named_parameters())
    if list(ours) != list(theirs):
        raise AssertionError(f"parameter names differ: {list(ours)} != {list(theirs)}")
    with torch.no_grad():
        for name, p in ours.items():
            theirs[name].copy_(torch.from_numpy(p.numpy()))
