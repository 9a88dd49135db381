"""Output-size arithmetic for convolution and pooling, with the chapter's formula as text.

``W2 = (W1 - F + 2P)/S + 1``; PyTorch floors a non-integer result, which silently drops the last
rows or columns of the input. Every function here returns the size PyTorch produces together with
the formula filled in, so the studio can show the student exactly where a number comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True)
class Axis:
    """One spatial axis of a convolution or pooling window."""

    name: str
    size: int  # W1
    kernel: int  # F
    stride: int = 1  # S
    pad_lo: int = 0
    pad_hi: int = 0
    dilation: int = 1

    @property
    def span(self) -> int:
        """The effective kernel size, counting the holes of a dilated kernel."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def covered(self) -> int:
        """W1 - F + 2P: how far the window can slide."""
        return self.size + self.pad_lo + self.pad_hi - self.span

    @property
    def dropped(self) -> int:
        """Input rows/columns at the far edge that no window reaches (PyTorch floors)."""
        return self.covered % self.stride

    def _pad_text(self) -> str:
        if self.pad_lo == self.pad_hi:
            return f"2*{self.pad_lo}"
        return f"({self.pad_lo}+{self.pad_hi})"


def conv_out(axis: Axis) -> tuple[int, str]:
    """The output size and its formula, e.g. ``W: (28 - 5 + 2*0)/1 + 1 = 24``."""
    out = axis.covered // axis.stride + 1
    kernel = str(axis.kernel) if axis.dilation == 1 else f"{axis.span}"
    text = f"{axis.name}: ({axis.size} - {kernel} + {axis._pad_text()})/{axis.stride} + 1"
    if axis.dropped:
        text += f" = {axis.covered / axis.stride + 1:g} → {out}"
    else:
        text += f" = {out}"
    if axis.dilation != 1:
        text += f"  (dilated kernel spans {axis.dilation}*({axis.kernel}-1)+1 = {axis.span})"
    return out, text


def pool_out(axis: Axis, ceil_mode: bool) -> tuple[int, str]:
    """Like :func:`conv_out` but with PyTorch's ``ceil_mode`` rule for pooling."""
    if not ceil_mode:
        return conv_out(axis)
    out = -(-axis.covered // axis.stride) + 1
    if (out - 1) * axis.stride >= axis.size + axis.pad_lo:
        out -= 1  # the last window would start entirely in the padding
    text = (
        f"{axis.name}: ceil(({axis.size} - {axis.span} + {axis._pad_text()})/{axis.stride}) + 1 = {out}"
    )
    return out, text


def transpose_out(axis: Axis, output_padding: int) -> tuple[int, str]:
    """Transposed convolution: ``W2 = (W1 - 1)*S - 2P + F + output_padding``."""
    out = (axis.size - 1) * axis.stride - axis.pad_lo - axis.pad_hi + axis.span + output_padding
    text = (
        f"{axis.name}: ({axis.size} - 1)*{axis.stride} - {axis._pad_text()} + {axis.span}"
        f" + {output_padding} = {out}"
    )
    return out, text


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Padding (before, after) that makes the output ``ceil(size / stride)`` long.

    The extra element of an odd total goes after, as in PyTorch's and TensorFlow's "same".
    """
    span = dilation * (kernel - 1) + 1
    total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def exact_padding(axes: list[Axis]) -> list[int] | None:
    """Per axis, the smallest symmetric padding >= the current one leaving nothing dropped.

    None when some axis has none: symmetric padding adds an even amount, so with an even stride
    and an odd ``W1 - F`` no padding helps (searching on would never end).
    """
    result = []
    for axis in axes:
        for pad in range(axis.pad_lo, axis.pad_lo + axis.stride):
            if (axis.size + 2 * pad - axis.span) % axis.stride == 0:
                result.append(pad)
                break
        else:
            return None
    return result


def same_is_exact(axes: list[Axis]) -> bool:
    """Whether padding "same" leaves nothing dropped on every axis (the fix when no symmetric one is)."""
    for axis in axes:
        lo, hi = same_padding(axis.size, axis.kernel, axis.stride, axis.dilation)
        if (axis.size + lo + hi - axis.span) % axis.stride:
            return False
    return True


def standard_downsampling(axes: list["Axis"]) -> bool:
    """An odd window padded by half of it, moving by 1 or 2 (ResNet's 7x7/2 pad 3, 3x3/2 pad 1, 1x1/2):
    the layout standard networks use on purpose, where a floored last row is expected, not a mistake."""
    return all(a.kernel % 2 and a.pad_lo == a.pad_hi == a.dilation * (a.kernel - 1) // 2 and a.stride <= 2 for a in axes)
