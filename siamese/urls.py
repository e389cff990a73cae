"""A training configuration as URL query parameters, so a configuration can be shared as a link.

Only fields that differ from the defaults go into the URL; reading it back fills the same `TrainConfig`
the command line and `config.json` use. Bad values are reported, not fatal: the rest of the link still
applies.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

from .config import DEFAULT_MARGINS, TrainConfig, coerce
from .errors import ConfigError


def config_to_query(config: TrainConfig) -> dict[str, str]:
    """The fields of `config` that differ from the defaults, as strings (booleans as 'true' / 'false')."""
    defaults = TrainConfig()
    query = {}
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name == "margin" and value == DEFAULT_MARGINS.get(config.loss):
            continue
        if value != getattr(defaults, f.name) and value is not None:
            query[f.name] = str(value).lower() if isinstance(value, bool) else str(value)
    return query


def config_from_query(query: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> tuple[dict, list[str]]:
    """Field values from query parameters over `base` (unknown names and bad values are skipped and
    listed in the returned problems). The values make a valid `TrainConfig`."""
    known = {f.name for f in fields(TrainConfig)}
    values = dict(base or {})
    problems = []
    for name, raw in query.items():
        if name not in known:
            continue
        try:
            values[name] = coerce(name, raw)
            TrainConfig.from_dict(values)
        except ConfigError as exc:
            values.pop(name, None)
            if base and name in base:
                values[name] = base[name]
            problems.append(f"ignored the link's {name}={raw!r}: {exc}")
    return TrainConfig.from_dict(values).to_dict(), problems
