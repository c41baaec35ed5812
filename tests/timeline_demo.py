"""A tiny training script for the timeline tests: 8 steps of a 3-4-1 MLP whose input has a NaN
at step 5 (that step skips the optimizer, so training goes on from clean weights)."""

from __future__ import annotations

import textwrap
from pathlib import Path

NAN_AT = 5
STEPS = 8

NAN_SCRIPT = f"""
    import numpy as np
    import gradviz
    from gradviz import nn, optim

    gradviz.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = gradviz.randn(8, 3), gradviz.randn(8, 1)
    for step in range(1, {STEPS} + 1):
        data = x.numpy().copy()
        if step == {NAN_AT}:
            data[0, 0] = np.nan
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(gradviz.Variable(data)), y)
        loss.backward()
        if step != {NAN_AT}:
            opt.step()
        print(f"loss {{loss.item():.6f}}")
"""


def nan_script(folder: Path, name: str = "nan5.py") -> Path:
    """Write the script to ``folder/name``."""
    path = folder / name
    path.write_text(textwrap.dedent(NAN_SCRIPT), encoding="utf-8")
    return path
