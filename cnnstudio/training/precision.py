"""Mixed precision on CUDA: which type autocast computes in, and whether the loss is scaled.

bfloat16 has float32's range, so its gradients need no scaling; float16 has a narrow range, so
small gradients would underflow to zero without a ``GradScaler``. ``amp_dtype`` "auto" takes
bfloat16 where the GPU computes it (Ampere and newer), else float16. Off CUDA, training runs in
float32 whatever the setting: CPU autocast is slower than float32 for these layers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from cnnstudio.training.errors import TrainingError

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def autocast_dtype(amp: bool, choice: str, device: torch.device,
                   bf16_supported: Callable[[], bool] | None = None) -> torch.dtype | None:
    """The autocast type for these settings on ``device``; None: float32, no autocast."""
    if not amp or device.type != "cuda":
        return None
    supported = (bf16_supported or torch.cuda.is_bf16_supported)()
    if choice == "auto":
        return torch.bfloat16 if supported else torch.float16
    if choice == "bfloat16" and not supported:
        raise TrainingError('"amp_dtype": this GPU does not compute in bfloat16 (it needs an Ampere GPU or newer); '
                            'use "float16" or "auto"')
    return DTYPES[choice]


def needs_loss_scaling(dtype: torch.dtype | None) -> bool:
    return dtype == torch.float16


def grad_scaler(dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """Loss scaling for float16 only; for anything else a disabled scaler that passes through."""
    return torch.amp.GradScaler("cuda", enabled=needs_loss_scaling(dtype))
