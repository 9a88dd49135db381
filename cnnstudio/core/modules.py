"""The few torch modules the catalogue needs that PyTorch does not ship.

Imported only when a model is built, never for shape inference. Like torch.nn's own modules,
each keeps its constructor arguments as attributes of the same name, so the code exporter can
write the constructor call back out.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Add(nn.Module):
    """Element-wise sum of any number of same-shaped inputs (residual connections)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        total = inputs[0]
        for tensor in inputs[1:]:
            total = total + tensor
        return total


class Concat(nn.Module):
    """Concatenation of any number of inputs along ``dim`` (Inception branches, UNet skips)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Mul(nn.Module):
    """Element-wise product of any number of inputs, broadcasting axes of size 1 (squeeze-excitation)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        product = inputs[0]
        for tensor in inputs[1:]:
            product = product * tensor
        return product


class Crop(nn.Module):
    """Removes ``top``/``bottom`` rows and ``left``/``right`` columns (U-Net's crop before a skip).

    A second input, when given, only set the amounts when the model was built; it is ignored here.
    """

    def __init__(self, top: int, bottom: int, left: int, right: int):
        super().__init__()
        self.top, self.bottom, self.left, self.right = top, bottom, left, right

    def forward(self, x: torch.Tensor, *like: torch.Tensor) -> torch.Tensor:
        return x[..., self.top : x.shape[-2] - self.bottom, self.left : x.shape[-1] - self.right]

    def extra_repr(self) -> str:
        return f"top={self.top}, bottom={self.bottom}, left={self.left}, right={self.right}"


class MinPool2d(nn.Module):
    """Min pooling, as ``-maxpool(-x)``: keeps the smallest value of each window."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.ceil_mode = kernel_size, stride, padding, ceil_mode
        self.pool = nn.MaxPool2d(kernel_size, stride, padding, ceil_mode=ceil_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.pool(-x)


class Pad(nn.Module):
    """Zero padding with a different amount before and after each spatial axis.

    ``before``/``after`` list the axes in order (D, H, W); used for "same" with stride and for
    causal 1D convolutions, where PyTorch's own ``padding=`` cannot express the amounts.
    """

    def __init__(self, before: tuple[int, ...], after: tuple[int, ...]):
        super().__init__()
        self.before = tuple(before)
        self.after = tuple(after)
        # F.pad lists the last axis first.
        self._pad = tuple(v for lo, hi in zip(reversed(self.before), reversed(self.after)) for v in (lo, hi))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self._pad)

    def extra_repr(self) -> str:
        return f"before={self.before}, after={self.after}"


class Inception(nn.Module):
    """GoogLeNet's Inception block: 1x1, 3x3, 5x5 and pooling branches, concatenated."""

    def __init__(self, in_channels: int, out_1x1: int, reduce_3x3: int, out_3x3: int,
                 reduce_5x5: int, out_5x5: int, pool_proj: int):
        super().__init__()
        self.in_channels, self.out_1x1, self.pool_proj = in_channels, out_1x1, pool_proj
        self.reduce_3x3, self.out_3x3, self.reduce_5x5, self.out_5x5 = reduce_3x3, out_3x3, reduce_5x5, out_5x5

        def conv(cin: int, cout: int, k: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU())

        self.branch1 = conv(in_channels, out_1x1, 1)
        self.branch3 = nn.Sequential(conv(in_channels, reduce_3x3, 1), conv(reduce_3x3, out_3x3, 3))
        self.branch5 = nn.Sequential(conv(in_channels, reduce_5x5, 1), conv(reduce_5x5, out_5x5, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv(in_channels, pool_proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


class Residual(nn.Module):
    """ResNet's basic block: two 3x3 convolutions plus a skip (identity or 1x1 projection)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, batch_norm: bool, projection: bool):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.batch_norm, self.projection = batch_norm, projection

        def norm() -> nn.Module:
            return nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()

        bias = not batch_norm
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=bias)
        self.bn1 = norm()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=bias)
        self.bn2 = norm()
        self.skip = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=bias), norm())
            if projection
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.skip(x))
