"""Handwritten digits (8x8 pixels, 10 classes) with a 64-32-10 MLP and cross-entropy.

Accuracy is measured on a held-out quarter of the images the model never trains on.
Run it with ``python examples/digits.py``.
"""

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)  # the same weights and the same shuffling on every run
epochs = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 15  # quick: a short run for tests

digits = load_digits()
X = (digits.data / 16).astype(np.float32)  # pixels are 0..16: scale them to 0..1, as float32
y = digits.target  # integer class labels 0..9, which is what CrossEntropyLoss expects
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

loader = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=32, shuffle=True)

# Ten outputs, one score (logit) per class. CrossEntropyLoss applies log_softmax itself.
model = nn.Sequential(
    nn.Linear(64, 32),
    nn.ReLU(),
    nn.Linear(32, 10),
)
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

losses = []  # the mean loss of each epoch
for epoch in range(1, epochs + 1):
    total = 0.0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(images)
    losses.append(total / len(X_train))
    if epoch == 1 or epoch % 3 == 0:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

model.eval()  # evaluation mode (matters for layers such as Dropout)
with gradviz.no_grad():  # no graph: we only need the outputs
    logits = model(gradviz.Variable(X_test))
predicted = logits.argmax(axis=1)  # the class with the highest score
accuracy = (predicted == gradviz.tensor(y_test)).float().mean().item()
print(f"held-out accuracy {accuracy:.1%} on {len(y_test)} images")
