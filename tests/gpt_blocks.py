"""A GPT like examples/tiny_gpt.py's with any number of blocks (12 by default), small enough to
trace in a moment: token + position Embedding, blocks of LayerNorm, causal self-attention,
LayerNorm and a GELU MLP with residuals, a final LayerNorm and a linear head."""

from __future__ import annotations

import numpy as np

import gradviz
from gradviz import nn, optim
from gradviz.nn import functional as F

CONTEXT, WIDTH, HEADS, VOCAB = 8, 16, 2, 11


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
    def __init__(self, blocks: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, WIDTH)
        self.positions = nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList([Block() for _ in range(blocks)])
        self.ln = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB)

    def forward(self, idx):
        x = self.tokens(idx) + self.positions(gradviz.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def gpt_trace(blocks: int = 12) -> gradviz.Trace:
    """One traced AdamW step of a ``blocks``-block GPT."""
    gradviz.manual_seed(0)
    model = GPT(blocks)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    idx = np.random.default_rng(0).integers(0, VOCAB, size=(2, CONTEXT))
    with gradviz.trace() as tr:
        logits = model(gradviz.Variable(idx))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), gradviz.Variable(idx.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return tr
