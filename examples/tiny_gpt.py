"""A character-level GPT, small enough to train in a minute: the Zen of Python, letter by letter.

Token and position embeddings, two transformer blocks (LayerNorm, causal self-attention,
LayerNorm, a GELU MLP, each with a residual connection), a final LayerNorm and a linear head;
AdamW, gradient clipping (``nn.utils.clip_grad_norm_``) and a cosine learning-rate schedule.
The text is the Zen of Python, which every Python carries (``this.s``, ROT13-encoded).
Run it with ``python examples/tiny_gpt.py``; ``gradviz render examples/tiny_gpt.py --depth 2``
draws one step. GRADVIZ_EXAMPLE_QUICK=1 trains for 30 steps, not 400.
"""

import codecs
import contextlib
import io
import math
import os

import numpy as np

import gradviz
from gradviz import nn, optim
from gradviz.nn import functional as F

with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
    import this

gradviz.manual_seed(0)
steps = 30 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 400
CONTEXT, WIDTH, HEADS, BLOCKS, BATCH = 32, 64, 4, 2, 16

text = codecs.decode(this.s, "rot13")
chars = sorted(set(text))
index = {c: i for i, c in enumerate(chars)}
data = np.array([index[c] for c in text])


class SelfAttention(nn.Module):
    """Causal multi-head self-attention: each position looks at itself and the ones before."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.proj = nn.Linear(WIDTH, WIDTH)

    def forward(self, x):
        n, t, _ = x.shape
        q, k, v = self.qkv(x).split(WIDTH, dim=2)
        # (N, T, WIDTH) -> (N, HEADS, T, WIDTH / HEADS): one attention per head
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
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, WIDTH)
        self.positions = nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList([Block() for _ in range(BLOCKS)])
        self.ln = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tokens(idx) + self.positions(gradviz.arange(t))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


model = GPT(len(chars))
optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
rng = np.random.default_rng(0)

losses = []
for step in range(steps):
    starts = rng.integers(0, len(data) - CONTEXT - 1, BATCH)
    x = np.stack([data[s : s + CONTEXT] for s in starts])
    y = np.stack([data[s + 1 : s + CONTEXT + 1] for s in starts])
    logits = model(gradviz.tensor(x))
    loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    losses.append(loss.item())
    if step % max(steps // 8, 1) == 0 or step == steps - 1:
        print(f"step {step:4d} | loss {loss.item():.4f}")

print(f"uniform guessing would be {math.log(len(chars)):.2f}; the model ends at {losses[-1]:.2f}")
model.eval()
idx = [index[c] for c in "Beautiful is "]
with gradviz.no_grad():
    for _ in range(60):
        logits = model(gradviz.tensor([idx[-CONTEXT:]]))
        probs = F.softmax(logits[0, -1], dim=0)
        idx.append(int(gradviz.multinomial(probs, 1).item()))
sample = "".join(chars[i] for i in idx)
print("sample:", sample)
