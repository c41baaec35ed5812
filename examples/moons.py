"""Binary classification of two interleaving half-moons with a 2-16-16-1 tanh MLP and Adam.

Run it with ``python examples/moons.py``.
"""

import os

import numpy as np
from sklearn.datasets import make_moons

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 10 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 80  # quick: a short run for tests

X, y = make_moons(n_samples=200, noise=0.1, random_state=0)
X = X.astype(np.float32)  # sklearn returns float64; gradviz parameters are float32
y = y.astype(np.float32).reshape(-1, 1)  # labels 0/1 as a float column, the model's output shape

loader = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True)

# The model outputs one logit per point (any real number); no sigmoid at the end, because
# BCEWithLogitsLoss applies it inside the loss, which stays accurate for very large logits.
model = nn.Sequential(
    nn.Linear(2, 16),
    nn.Tanh(),
    nn.Linear(16, 16),
    nn.Tanh(),
    nn.Linear(16, 1),
)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = optim.Adam(model.parameters(), lr=0.005)

losses = []  # the mean loss of each epoch
for epoch in range(1, epochs + 1):
    total = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)  # the last batch is smaller: weight by its size
    losses.append(total / len(X))
    if epoch == 1 or epoch % 10 == 0:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

with gradviz.no_grad():
    logits = model(gradviz.Variable(X))
predictions = logits.numpy() > 0  # a logit above 0 means a probability above 0.5
accuracy = float((predictions == (y > 0.5)).mean())
print(f"train accuracy {accuracy:.1%}")
