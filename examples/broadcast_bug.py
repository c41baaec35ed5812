"""Predictions of shape (N, 1) against targets of shape (N,): a loss quietly broadcast to (N, N).

NumPy (and PyTorch, and gradviz) broadcast ``(N, 1) - (N,)`` to an ``(N, N)`` matrix: every
prediction against every target. Its mean is a number, so training runs, but the model learns to
predict the average target for every input. ``F.mse_loss`` warns about the shapes when it is
called (as PyTorch does), and ``gradviz check`` reports the broadcast as an error, with the line:

    gradviz check examples/broadcast_bug.py -o out/

The fix is one reshape: ``y.reshape(-1, 1)`` (or ``prediction.squeeze(1)``).
Run it with ``python examples/broadcast_bug.py``.
"""

import os

import numpy as np
from sklearn.datasets import make_regression

import gradviz
from gradviz import data, nn, optim
from gradviz.nn import functional as F

gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 20  # quick: a short run for tests

X, y = make_regression(n_samples=200, n_features=3, noise=5, random_state=0)
X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
y = ((y - y.mean()) / y.std()).astype(np.float32)  # shape (200,): no column axis
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)

model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))  # outputs (N, 1)
optimizer = optim.SGD(model.parameters(), lr=0.05)

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = F.mse_loss(model(inputs), targets)  # BUG: (N, 1) against (N,)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
    losses.append(total / len(X))
    if epoch == 1 or epoch % 5 == 0:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")
