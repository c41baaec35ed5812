"""Vanishing gradients: a 12-layer MLP with sigmoid activations barely learns.

Each sigmoid passes back at most a quarter of the gradient it receives (its slope is at most
0.25), so after a dozen layers the first ones get almost nothing: their weights hardly move and
the loss crawls. ``gradviz check`` measures the gradient of every layer and flags the range:

    gradviz check examples/vanishing.py -o out/

(ReLU or tanh activations, a normalisation layer or residual connections are the usual cures.)
Run it with ``python examples/vanishing.py``.
"""

import os

import numpy as np
from sklearn.datasets import make_moons

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 10  # quick: a short run for tests

X, y = make_moons(n_samples=200, noise=0.1, random_state=0)
X = X.astype(np.float32)
y = y.astype(np.float32).reshape(-1, 1)
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)

layers = [nn.Linear(2, 16), nn.Sigmoid()]
for _ in range(10):
    layers += [nn.Linear(16, 16), nn.Sigmoid()]
layers += [nn.Linear(16, 1)]  # 12 Linear layers in all
model = nn.Sequential(*layers)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
    losses.append(total / len(X))
    print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")
