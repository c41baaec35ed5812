"""A parameter cut off by ``detach()``: its layer never learns.

The model keeps a copy of its hidden features for plotting, and the copy is made with
``detach()`` (right: a plot needs no gradient) but then used for the rest of the forward (wrong:
no gradient flows back through it). The first layer's weight and bias get no gradient and stay at
their initial values, while the head still learns a little. ``gradviz check`` says why each
parameter got no gradient, here the detach() and its line:

    gradviz check examples/detached.py -o out/

Run it with ``python examples/detached.py``.
"""

import os

import numpy as np
from sklearn.datasets import load_iris

import gradviz
from gradviz import data, nn, optim


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 16)
        self.head = nn.Linear(16, 3)
        self.features = None  # the last hidden features, for plotting

    def forward(self, x):
        h = self.hidden(x).tanh()
        h = self.features = h.detach()  # BUG: meant for the plot only, but h flows on
        return self.head(h)


gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 20  # quick: a short run for tests

iris = load_iris()
X = ((iris.data - iris.data.mean(axis=0)) / iris.data.std(axis=0)).astype(np.float32)
y = iris.target  # classes 0, 1, 2
loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16, shuffle=True)

model = Classifier()
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)
first_weight = model.hidden.weight.numpy().copy()

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
    losses.append(total / len(X))
    if epoch == 1 or epoch % 5 == 0:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

unchanged = np.array_equal(first_weight, model.hidden.weight.numpy())
print(f"hidden.weight unchanged after training: {unchanged}")
