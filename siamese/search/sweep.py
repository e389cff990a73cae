"""A sweep: one field tried at a few listed values, every run to its end. It is a grid study over that
field, with no pruner, run like any search (`workers.launch_search`, `python -m siamese sweep`)."""

from __future__ import annotations

import re

from ..config import TrainConfig
from ..errors import ConfigError, SearchError
from .space import dimension
from .study import Plan

MAX_VALUES = 12


def plan_sweep(config: TrainConfig, field: str, values: str | list[str]) -> Plan:
    """The grid plan of `field` at `values` (a list, or text as typed: '0.1, 0.2; 0.5'), the rest as
    `config`. ConfigError naming the field, the value and the reason for a value the configuration
    refuses, before anything is made."""
    if isinstance(values, str):
        values = re.split(r"[,;]", values)
    texts = [str(v).strip() for v in values if str(v).strip()]
    if not 2 <= len(texts) <= MAX_VALUES:
        raise ConfigError(f"sweep: give between 2 and {MAX_VALUES} values of {field}, not {len(texts)}")
    try:
        dim = dimension(field, "choice", texts, config)
    except SearchError as exc:
        raise ConfigError(f"sweep: {exc}") from None
    return Plan(config, {field: dim}, "val_auc", "grid", "none", config.seed)


def sweep_name(field: str) -> str:
    import time

    return time.strftime(f"sweep-{field.replace('_', '-')}-%Y%m%d-%H%M%S")
