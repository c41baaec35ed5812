"""A denoising autoencoder on the 8x8 digits: Conv2d down, ConvTranspose2d back up.

Noise is added to each image; the network sees the noisy image and is trained to give back the
clean one. Two strided convolutions squeeze an image (1, 8, 8) into 16 maps of 2x2; two
transposed convolutions (each the backward of a convolution, run forward) grow it back to
(1, 8, 8). The held-out score is how much closer to the clean images the output is than the
noisy input was (the ratio of their mean squared errors).
Run it with ``python examples/denoise_digits.py``; ``gradviz render examples/denoise_digits.py``
draws one step: each transposed convolution is one node. GRADVIZ_EXAMPLE_QUICK=1 trains for 3
epochs, not 20.
"""

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import gradviz
from gradviz import data, nn, optim

gradviz.manual_seed(0)
epochs = 3 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 20
rng = np.random.default_rng(0)


def noisy(images: np.ndarray) -> np.ndarray:
    """The images with Gaussian noise (std 0.3), kept in 0..1."""
    return np.clip(images + rng.normal(0, 0.3, images.shape), 0, 1).astype(np.float32)


X = (load_digits().images / 16).astype(np.float32)[:, None]  # (N, 1, 8, 8): one channel of 0..1
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
loader = data.DataLoader(data.TensorDataset(X_train), batch_size=64, shuffle=True)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, stride=2, padding=1),  # (N, 16, 4, 4)
    nn.ReLU(inplace=True),
    nn.Conv2d(16, 32, 3, stride=2, padding=1),  # (N, 32, 2, 2)
    nn.ReLU(inplace=True),
    nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),  # (N, 16, 4, 4)
    nn.ReLU(inplace=True),
    nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),  # (N, 1, 8, 8)
    nn.Sigmoid(),
)
optimizer = optim.Adam(model.parameters(), lr=3e-3)

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for (clean,) in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(gradviz.tensor(noisy(clean.numpy()))), clean)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(clean)
    losses.append(total / len(X_train))
    print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

model.eval()
noisy_test = noisy(X_test)
with gradviz.no_grad():
    denoised = model(gradviz.tensor(noisy_test)).numpy()
improvement = float(np.mean((noisy_test - X_test) ** 2) / np.mean((denoised - X_test) ** 2))
print(f"held-out: the output is {improvement:.1f}x closer to the clean images than the input")
