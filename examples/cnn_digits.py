"""A small convolutional network on the 8x8 digits: Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear.

The images keep their shape, (N, 1, 8, 8): the convolutions learn 3x3 filters that slide over
them, batch normalisation keeps each channel's scale steady (with running statistics for
evaluation), pooling halves the resolution, and a linear layer reads 16 feature maps of 4x4.
Accuracy is measured on a held-out quarter of the images.
Run it with ``python examples/cnn_digits.py``; ``gradviz render examples/cnn_digits.py`` draws one
step: each convolution is one node. GRADVIZ_EXAMPLE_QUICK=1 trains for 2 epochs, not 8.
"""

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)
epochs = 2 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 8

digits = load_digits()
X = (digits.images / 16).astype(np.float32)[:, None]  # (N, 1, 8, 8): one channel of 0..1
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
loader = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=32, shuffle=True)

model = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, padding=1, bias=False),  # (N, 8, 8, 8)
    nn.BatchNorm2d(8),
    nn.ReLU(),
    nn.Conv2d(8, 16, kernel_size=3, padding=1),  # (N, 16, 8, 8)
    nn.ReLU(),
    nn.MaxPool2d(2),  # (N, 16, 4, 4)
    nn.Flatten(),  # (N, 256)
    nn.Linear(256, 10),
)
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=3e-3)

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(images)
    losses.append(total / len(X_train))
    print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

model.eval()  # BatchNorm2d normalises with its running statistics from here on
with gradviz.no_grad():
    logits = model(gradviz.Variable(X_test))
accuracy = (logits.argmax(axis=1) == gradviz.tensor(y_test)).float().mean().item()
print(f"held-out accuracy {accuracy:.1%} on {len(y_test)} images")
