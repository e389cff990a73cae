"""Optimisers and learning-rate schedules, by name."""

from __future__ import annotations

import math
from typing import Callable

import torch

from .errors import ConfigError

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda params, lr, wd, **fused: torch.optim.Adam(params, lr=lr, weight_decay=wd, **fused),
    "adamw": lambda params, lr, wd, **fused: torch.optim.AdamW(params, lr=lr, weight_decay=wd, **fused),
    "sgd": lambda params, lr, wd, **fused: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd, **fused),
}

# Factor of the learning rate at `progress` in [0, 1] of the run. Cosine decays to 1 % of it; it follows
# the time budget when there is one, so a 60-second run ends on a low learning rate instead of being cut
# off at its peak.
WARMUP = 0.05  # fraction of the run over which warmup_cosine rises from 0 to the full learning rate


def _warmup_cosine(progress: float) -> float:
    if progress < WARMUP:
        return progress / WARMUP
    return 0.5 * (1 + math.cos(math.pi * (progress - WARMUP) / (1 - WARMUP)))


SCHEDULES: dict[str, Callable[[float], float]] = {
    "cosine": lambda progress: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)),
    # A short linear warm-up keeps the first, large updates of adaptive optimisers from wrecking batch norm.
    "warmup_cosine": _warmup_cosine,
    "constant": lambda progress: 1.0,
}


def build_optimizer(name: str, params: list, lr: float, weight_decay: float,
                    fused: bool = False) -> torch.optim.Optimizer:
    """The named optimiser over `params`, with weight decay on weight matrices and kernels only: decaying
    the biases and batch-norm scales (1-D parameters) only shrinks what normalisation sets. `fused` (CUDA):
    the update of every parameter in one kernel, where a step of small layers is bound by launches."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer: unknown {name!r}; known: {', '.join(OPTIMIZERS)}")
    decay = [p for p in params if p.ndim > 1]
    rest = [p for p in params if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return OPTIMIZERS[name]([g for g in groups if g["params"]], lr, weight_decay, **({"fused": True} if fused else {}))


def set_learning_rate(optimizer: torch.optim.Optimizer, schedule: str, lr: float, progress: float) -> None:
    """Set every parameter group's learning rate to `lr` times the schedule's factor at `progress`."""
    factor = SCHEDULES[schedule](progress)
    for group in optimizer.param_groups:
        group["lr"] = lr * factor
