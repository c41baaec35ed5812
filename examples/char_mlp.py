"""A makemore-style character model: read three letters, guess the next one, then sample words.

The words are Python's own keywords and builtin names (bundled with every Python), so there is
nothing to download. Each character becomes a learned vector (``nn.Embedding``); three of them
side by side go through ``Linear``, ``BatchNorm1d`` and ``Tanh`` to a score per character.
Sampling feeds the model its own guesses, drawing each next character with
``gradviz.multinomial``. Run it with ``python examples/char_mlp.py``;
GRADVIZ_EXAMPLE_QUICK=1 trains for 300 steps, not 3,000.
"""

import builtins
import keyword
import os

import numpy as np

import gradviz
from gradviz import nn, optim
from gradviz.nn import functional as F

gradviz.manual_seed(0)
steps = 300 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 3000
CONTEXT = 3

words = sorted({w.lower() for w in [*keyword.kwlist, *dir(builtins)] if w.isalpha()})
chars = [".", *sorted({c for w in words for c in w})]  # "." marks the start and the end
index = {c: i for i, c in enumerate(chars)}

contexts, targets = [], []
for word in words:
    window = [0] * CONTEXT
    for c in word + ".":
        contexts.append(window)
        targets.append(index[c])
        window = [*window[1:], index[c]]
X, Y = np.array(contexts), np.array(targets)

model = nn.Sequential(
    nn.Embedding(len(chars), 10),  # (N, 3) -> (N, 3, 10)
    nn.Flatten(),  # (N, 30)
    nn.Linear(CONTEXT * 10, 64, bias=False),
    nn.BatchNorm1d(64),
    nn.Tanh(),
    nn.Linear(64, len(chars)),
)
optimizer = optim.AdamW(model.parameters(), lr=1e-2)
rng = np.random.default_rng(0)

losses = []
for step in range(steps):
    batch = rng.integers(0, len(X), 64)
    loss = F.cross_entropy(model(gradviz.tensor(X[batch])), Y[batch])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % (steps // 6) == 0 or step == steps - 1:
        print(f"step {step:5d} | loss {loss.item():.4f}")

model.eval()  # BatchNorm1d uses its running statistics from here on
samples = []
with gradviz.no_grad():
    for _ in range(8):
        window, word = [0] * CONTEXT, ""
        while len(word) < 20:
            probs = F.softmax(model(gradviz.tensor([window])), dim=1)
            nxt = int(gradviz.multinomial(probs, 1).item())
            if nxt == 0:
                break
            word += chars[nxt]
            window = [*window[1:], nxt]
        samples.append(word)
print("samples:", " ".join(samples))
