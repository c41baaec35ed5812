"""Version 1 of a 2-32-32-1 MLP: the layers written out one by one in an ``nn.Sequential``.

Run it with ``python examples/refactor/model_v1.py``; compare it with the refactor with
``gradviz diff examples/refactor/model_v1.py@1 examples/refactor/model_v2.py@1 --structure-only``.
"""

from common import train

import gradviz
from gradviz import nn


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(2, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, 1),
        )

    def forward(self, x):
        return self.layers(x)


gradviz.manual_seed(0)
model = MLP()
losses = train(model)
