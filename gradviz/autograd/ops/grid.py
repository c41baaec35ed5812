"""``affine_grid``'s op, the sampling grid of a batch of affine maps; and ``grid_sample`` of
4-d inputs: the value of ``input`` at each point of ``grid`` (x, y in
[-1, 1] across the width and height), bilinear or nearest, outside the input zeros or the
border's value, as PyTorch's; its gradients reach both the input and (bilinear) the grid."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradviz.autograd.function import Function


def _unnormalize(coord: np.ndarray, size: int, align_corners: bool) -> np.ndarray:
    """Grid coordinates in [-1, 1] as pixel positions, and the scale of that map."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _scale(size: int, align_corners: bool) -> float:
    return (size - 1) / 2 if align_corners else size / 2


def _positions(grid: np.ndarray, shape: tuple[int, ...], padding: str, align: bool) -> Any:
    """Pixel x and y of each grid point (clipped to the border for ``padding="border"``), and
    where the clipping left them (their gradient is zero there)."""
    height, width = shape[2], shape[3]
    x = _unnormalize(grid[..., 0], width, align)
    y = _unnormalize(grid[..., 1], height, align)
    free_x = free_y = np.ones(x.shape, bool)
    if padding == "border":
        free_x = (x > 0) & (x < width - 1)
        free_y = (y > 0) & (y < height - 1)
        x, y = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
    return x, y, free_x, free_y


def _corner(data: np.ndarray, iy: np.ndarray, ix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``data[n, :, iy, ix]`` as ``(N, Ho, Wo, C)`` (zeros outside) and where it was inside."""
    n, _, height, width = data.shape
    inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
    batch = np.arange(n).reshape(n, 1, 1)
    values = data[batch, :, np.clip(iy, 0, height - 1), np.clip(ix, 0, width - 1)]
    return values * inside[..., None], inside


def _corners(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The four pixels around each point, each with its bilinear weight."""
    x0, y0 = np.floor(x), np.floor(y)
    wx1, wy1 = x - x0, y - y0
    wx0, wy0 = 1 - wx1, 1 - wy1
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    return [
        (y0, x0, wy0 * wx0),
        (y0, x0 + 1, wy0 * wx1),
        (y0 + 1, x0, wy1 * wx0),
        (y0 + 1, x0 + 1, wy1 * wx1),
    ]


class AffineGridGenerator(Function):
    """The points of each affine map ``theta`` (N, d, d + 1) at the pixel grid of ``spatial``
    (d sizes) in [-1, 1], ``align`` as ``align_corners``: (N, *spatial, d). Linear in
    ``theta``; the pixel grid is made inside (PyTorch's node has no input for it)."""

    @staticmethod
    def forward(ctx, theta, spatial, align):
        ctx.base = base = base_grid(spatial, align, theta.dtype)
        points = np.matmul(base, np.swapaxes(theta, 1, 2))
        return points.reshape(theta.shape[0], *spatial, len(spatial))

    @staticmethod
    def backward(ctx, grad):
        flat = grad.reshape(grad.shape[0], -1, grad.shape[-1])
        return np.matmul(np.swapaxes(flat, 1, 2), ctx.base), None, None

    @staticmethod
    def backward_graph(ctx, grad, out):
        flat = grad.reshape(grad.shape[0], -1, grad.shape[-1])
        return flat.transpose(1, 2) @ ctx.base, None, None


def base_grid(spatial: tuple[int, ...], align: bool, dtype: np.dtype) -> np.ndarray:
    """The pixel grid of ``spatial`` in homogeneous coordinates (x first): (P, d + 1)."""
    axes = [_base_coords(s, align) for s in reversed(spatial)]  # x (width) first
    mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]  # each of the spatial shape
    base = np.stack([*mesh, np.ones(spatial)], -1).astype(dtype)
    return base.reshape(-1, len(spatial) + 1)


def _base_coords(size: int, align_corners: bool) -> np.ndarray:
    """The normalised positions of ``size`` pixels along one axis, in [-1, 1]."""
    if size <= 1:
        return np.zeros(max(size, 0))
    steps = np.linspace(-1.0, 1.0, size)
    return steps if align_corners else steps * (size - 1) / size


class GridSample(Function):
    """PyTorch's ``grid_sampler_2d``: ``input`` (N, C, H, W) sampled at ``grid`` (N, Ho, Wo, 2),
    giving (N, C, Ho, Wo)."""

    @staticmethod
    def check_kinks(args: list[Any], slot: int, step: np.ndarray) -> np.ndarray:
        """For the per-op check (``opcheck``): the output elements whose grid point moves into
        another pixel cell (or across the border's clipping) within ``step`` of the grid, where
        the derivative jumps; an identity transform puts every point on a pixel line. The
        output is linear in the input."""
        input, grid, mode, padding, align = args
        shape = (input.shape[0], input.shape[1], *grid.shape[1:3])
        if slot != 1:
            return np.zeros(shape, bool)
        cells = [_cells(grid + k * step, input.shape, mode, padding, align) for k in (-1, 0, 1)]
        moved = (cells[0] != cells[1]).any(-1) | (cells[2] != cells[1]).any(-1)
        return np.broadcast_to(moved[:, None], shape)

    @staticmethod
    def forward(ctx, input, grid, mode, padding, align):
        x, y, free_x, free_y = _positions(grid, input.shape, padding, align)
        ctx.saved_tensors = (input, grid, x, y, free_x, free_y)
        ctx.options = (mode, padding, align)
        if mode == "nearest":
            values, _ = _corner(input, _round(y), _round(x))
            return np.ascontiguousarray(values.transpose(0, 3, 1, 2)).astype(input.dtype)
        out = sum(_corner(input, iy, ix)[0] * w[..., None] for iy, ix, w in _corners(x, y))
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2)).astype(input.dtype)

    @staticmethod
    def backward(ctx, grad):
        input, grid, x, y, free_x, free_y = ctx.saved_tensors
        mode, _, align = ctx.options
        n, _, height, width = input.shape
        g = grad.transpose(0, 2, 3, 1)  # (N, Ho, Wo, C)
        batch = np.broadcast_to(np.arange(n).reshape(n, 1, 1), x.shape)
        grad_input = np.zeros(input.shape, np.result_type(input, grad))
        corners = (
            [(_round(y), _round(x), np.ones(x.shape))] if mode == "nearest" else _corners(x, y)
        )
        for iy, ix, weight in corners:
            inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
            np.add.at(
                grad_input.transpose(0, 2, 3, 1),
                (batch[inside], iy[inside], ix[inside]),
                (g * weight[..., None])[inside],
            )
        if mode == "nearest" or not ctx.needs_input_grad[1]:
            return grad_input, np.zeros_like(grid) if mode == "nearest" else None
        (a, _), (b, _), (c, _), (d, _) = (_corner(input, iy, ix) for iy, ix, _ in corners)
        wy1, wx1 = y - np.floor(y), x - np.floor(x)
        dx = (((b - a) * (1 - wy1)[..., None] + (d - c) * wy1[..., None]) * g).sum(-1)
        dy = (((c - a) * (1 - wx1)[..., None] + (d - b) * wx1[..., None]) * g).sum(-1)
        grad_grid = np.stack(
            [dx * free_x * _scale(width, align), dy * free_y * _scale(height, align)], -1
        )
        return grad_input, grad_grid.astype(grid.dtype)


def _cells(grid: np.ndarray, shape: tuple[int, ...], mode: str, padding: str, align: bool) -> Any:
    """Which pixel cell (and side of the border's clipping) each grid point is in."""
    x, y, free_x, free_y = _positions(grid, shape, padding, align)
    pick = _round if mode == "nearest" else np.floor
    return np.stack([pick(x), pick(y), free_x, free_y], -1)


def _round(v: np.ndarray) -> np.ndarray:
    """Nearest pixel, half to even (C's ``nearbyint``, as PyTorch's)."""
    return np.rint(v).astype(np.int64)
