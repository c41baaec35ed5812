"""A variational autoencoder on the 8x8 digits: an encoder gives a Normal distribution over a
small code, a code is drawn from it, and a decoder turns the code back into an image.

The draw is the reparameterisation trick, ``Normal(mu, std).rsample()``: ``mu + std * eps`` with
``eps`` drawn from N(0, 1), so the gradient flows into ``mu`` and ``std`` and not into the noise
(``gradviz render`` draws ``eps`` as an input and the Mul and Add after it). The loss is the
reconstruction error plus the KL divergence of each code's distribution from N(0, 1)
(``distributions.kl_divergence``). The held-out score is how much closer to the test images their
reconstructions are than the mean training image is (the ratio of mean squared errors).
Run it with ``python examples/vae_digits.py``. GRADVIZ_EXAMPLE_QUICK=1 trains for 3 epochs, not 30.
"""

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import gradviz
from gradviz import data, nn, optim
from gradviz.distributions import Normal, kl_divergence
from gradviz.nn import functional as F

gradviz.manual_seed(0)
epochs = 3 if os.environ.get("GRADVIZ_EXAMPLE_QUICK") else 30
LATENT = 8

X = (load_digits().data / 16).astype(np.float32)  # (N, 64) pixels in 0..1
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
loader = data.DataLoader(data.TensorDataset(X_train), batch_size=64, shuffle=True)


class VAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2 * LATENT))
        self.decoder = nn.Sequential(nn.Linear(LATENT, 64), nn.ReLU(), nn.Linear(64, 64))

    def forward(self, x):
        mu, log_var = self.encoder(x).chunk(2, dim=1)
        std = (0.5 * log_var).exp()
        code = Normal(mu, std)
        z = code.rsample()  # mu + std * eps: differentiable in mu and std
        return self.decoder(z), code


model = VAE()
opt = optim.Adam(model.parameters(), lr=1e-2)
prior = Normal(gradviz.zeros(LATENT), gradviz.ones(LATENT))

losses = []
for epoch in range(1, epochs + 1):
    total = 0.0
    for (x,) in loader:
        logits, code = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        loss = recon + kl_divergence(code, prior).sum() / len(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(x)
    losses.append(total / len(X_train))
    if epoch == 1 or epoch % 5 == 0 or epoch == epochs:
        print(f"epoch {epoch:3d} | loss {losses[-1]:.4f}")

with gradviz.no_grad():
    mu = model.encoder(gradviz.tensor(X_test)).chunk(2, dim=1)[0]
    recon = model.decoder(mu).sigmoid().numpy()  # the code's mean, decoded
mean_image_error = float(((X_test - X_train.mean(0)) ** 2).mean())
improvement = mean_image_error / float(((X_test - recon) ** 2).mean())
print(f"held-out reconstructions are {improvement:.2f}x closer than the mean image")
