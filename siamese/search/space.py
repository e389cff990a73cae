"""What a search varies: fields of `TrainConfig`, each a float range (linear or log scale), an integer
range, or a list of choices; the rest of the configuration is fixed for every trial.

A space is written as JSON, `{"lr": {"log": [1e-4, 1e-2]}, "k": {"int": [2, 5]}, "loss": {"choice":
["cosface", "arcface"]}}`, or one flag a field, `lr=log:1e-4:1e-2`, `loss=choice:cosface,arcface`. Every
bound and choice is checked against the configuration's own rules before a trial starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from ..config import TrainConfig, coerce, field_types
from ..errors import ConfigError, SearchError

KINDS = ("float", "log", "int", "choice")
# Why the other fields are not searched: the figure a trial is judged by would change with them, or they
# choose where and how fast a run trains, not what it learns.
UNSEARCHABLE = {
    "data": "it is the dataset the search is about", "more_data": "it is the dataset the search is about",
    "data_people": "it is the dataset the search is about", "faces": "it is how the dataset is read",
    "val_fraction": "the validation people every trial is judged on would differ",
    "validate_from": "the validation people every trial is judged on would differ",
    "exclude_people": "the people every trial is judged on would differ",
    "singletons": "the people every trial is judged on would differ",
    "epochs": "it is the budget of every trial; fix it (--epochs)",
    "max_seconds": "it is the budget of every trial; fix it (--max-seconds)",
    "eval_every": "pruning needs every epoch's figure",
    "seed": "a seed that wins is luck on the validation people, not a better recipe",
    "init_from": "it is a run to start from; fix it (--init-from)",
    "freeze_epochs": "it only means something with init_from; fix it",
    "device": "it chooses the machine, not the recipe", "precision": "it chooses the arithmetic, not the recipe",
    "data_loading": "it chooses how images are read, not the recipe",
    "loader_workers": "it chooses how images are read, not the recipe",
    "gather_embeddings": "it only matters under torchrun, which a trial does not use",
    "pretrained": "it needs ImageNet weights in this machine's torch cache, which another worker may lack",
}


@dataclass(frozen=True)
class Dimension:
    """One searched field: `kind` float (linear), log (float on a log scale), int, or choice; `low` and
    `high` for ranges, `choices` for a choice."""

    field: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def distribution(self) -> optuna.distributions.BaseDistribution:
        if self.kind == "choice":
            return optuna.distributions.CategoricalDistribution(self.choices)
        if self.kind == "int":
            return optuna.distributions.IntDistribution(int(self.low), int(self.high))
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.kind == "log")

    def to_json(self) -> dict:
        return {self.kind: list(self.choices) if self.kind == "choice" else [self.low, self.high]}

    def text(self) -> str:
        """As typed on the command line, after the field: `log:0.0001:0.01`, `choice:a,b`."""
        if self.kind == "choice":
            return "choice:" + ",".join(map(str, self.choices))
        return f"{self.kind}:{self.low:g}:{self.high:g}"


Space = dict[str, Dimension]


def dimension(field: str, kind: str, values: list | tuple, base: TrainConfig | None = None) -> Dimension:
    """A checked dimension: SearchError naming the field and what is wrong (an unknown or unsearchable
    field, a kind that does not suit it, low above high, a log range touching 0, a bound or choice the
    configuration refuses)."""
    _check_field(field)
    if kind not in KINDS:
        raise SearchError(f"{field}: {kind!r} is not a kind of range; use one of {', '.join(KINDS)}")
    base = base or TrainConfig()
    if kind == "choice":
        return _choice(field, values, base)
    _check_kind(field, kind)
    if len(values) != 2:
        raise SearchError(f"{field}: a {kind} range is two numbers, low and high, not {list(values)}")
    low, high = (_accepted(field, value, base, "bound") for value in values)
    _check_range(field, kind, low, high)
    return Dimension(field, kind, low, high)


def _check_field(field: str) -> None:
    types = field_types()
    if field not in types:
        raise SearchError(f"{field!r} is not a field of the configuration; searchable: {', '.join(searchable())}")
    if field in UNSEARCHABLE:
        raise SearchError(f"{field} cannot be searched: {UNSEARCHABLE[field]}")


def _check_kind(field: str, kind: str) -> None:
    kind_of_field = field_types()[field]
    if kind_of_field not in (int, float) or _choices_of(field):
        raise SearchError(f"{field} takes named values, not a range: use choice")
    if kind == "int" and kind_of_field is not int:
        raise SearchError(f"{field} is a float: use a float or log range, not int")
    if kind != "int" and kind_of_field is int:
        raise SearchError(f"{field} is an integer: use an int range (or choice), not {kind}")


def _check_range(field: str, kind: str, low: float, high: float) -> None:
    if low > high:
        raise SearchError(f"{field}: the low end {low:g} is above the high end {high:g}")
    if low == high:
        raise SearchError(f"{field}: {low:g} to {high:g} is one value; fix it instead of searching it")
    if kind == "log" and low <= 0:
        raise SearchError(f"{field}: a log range must stay above 0, and {low:g} does not; use a float range "
                          "to include 0, or start the log range at a small positive value")


def _choice(field: str, values: list | tuple, base: TrainConfig) -> Dimension:
    choices = tuple(_accepted(field, value, base, "choice") for value in values)
    if len(choices) < 2:
        raise SearchError(f"{field}: a choice needs at least two values, not {list(choices)}")
    if len(set(choices)) < len(choices):
        raise SearchError(f"{field}: the choices repeat; give each once")
    return Dimension(field, "choice", choices=choices)


def _accepted(field: str, value: Any, base: TrainConfig, what: str):
    """`value` as the field's type, once the configuration has accepted it."""
    try:
        value = coerce(field, value.strip() if isinstance(value, str) else value)
        TrainConfig.from_dict({**base.to_dict(), field: value})
    except ConfigError as exc:
        raise SearchError(f"{field}: the {what} {value!r} is refused: {exc}") from None
    if value is None:
        raise SearchError(f"{field}: the {what} must be a value, not empty")
    return value


def _choices_of(field: str) -> tuple:
    return next(f.metadata.get("choices", ()) for f in TrainConfig.__dataclass_fields__.values() if f.name == field)


def searchable() -> list[str]:
    return [name for name in field_types() if name not in UNSEARCHABLE]


def check_space(space: Space) -> Space:
    if not space:
        raise SearchError("the space has nothing to search: give at least one field with a range or choices")
    return space


def space_from_json(values: dict, base: TrainConfig | None = None) -> Space:
    """A space from its JSON form (a file's, or one stored with a study)."""
    if not isinstance(values, dict):
        raise SearchError(f"a space is a JSON object of fields, not a {type(values).__name__}")
    space = {}
    for field, spec in values.items():
        if not isinstance(spec, dict) or len(spec) != 1:
            raise SearchError(f'{field}: write one kind and its values, e.g. {{"log": [0.0001, 0.01]}}, '
                              f"not {spec!r}")
        (kind, bounds), = spec.items()
        space[field] = dimension(field, kind, bounds if isinstance(bounds, (list, tuple)) else [bounds], base)
    return check_space(space)


def read_space(path: str | Path, base: TrainConfig | None = None) -> Space:
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SearchError(f"cannot read the space {path}: {exc}") from None
    return space_from_json(values, base)


def parse_dimension(text: str, base: TrainConfig | None = None) -> Dimension:
    """One flag's dimension: `FIELD=KIND:LOW:HIGH` or `FIELD=choice:A,B,C`."""
    field, sep, rest = text.partition("=")
    kind, _, values = rest.partition(":")
    if not sep or not values:
        raise SearchError(f"{text!r}: write FIELD=KIND:LOW:HIGH (kinds float, log, int) or FIELD=choice:A,B")
    parts = values.split("," if kind.strip() == "choice" else ":")
    return dimension(field.strip().replace("-", "_"), kind.strip(), parts, base)


def space_to_json(space: Space) -> dict:
    return {field: dim.to_json() for field, dim in space.items()}


def suggest(trial: optuna.Trial, space: Space) -> dict:
    """The trial's values of the searched fields, drawn by the study's sampler."""
    values = {}
    for field, dim in space.items():
        if dim.kind == "choice":
            values[field] = trial.suggest_categorical(field, list(dim.choices))
        elif dim.kind == "int":
            values[field] = trial.suggest_int(field, int(dim.low), int(dim.high))
        else:
            values[field] = trial.suggest_float(field, dim.low, dim.high, log=dim.kind == "log")
    return values


# The default spaces, by the kind of dataset `recipes.defaults_for` finds: each range with its reason.
FACE_CROPS = {
    "lr": ({"log": [3e-4, 1e-2]}, "Adam on a compact network learns between these; the default 3e-3 is in the "
                                  "middle on a log scale"),
    "margin": ({"float": [0.1, 0.5]}, "CosFace's cosine margin: 0.35 by default, 0.25-0.45 in Wang et al.; "
                                      "ORL's 40 people may want less"),
    "augment_strength": ({"float": [0.0, 2.0]}, "from none to twice the preset's ranges: 400 images overfit "
                                                "without it, and too much hides the faces"),
    "embedding_dim": ({"choice": [32, 64, 128, 256]}, "a few dozen people need few dimensions; more cost "
                                                      "nothing on a CPU but may overfit"),
    "k": ({"int": [2, 5]}, "images per person in a batch: 2 is the least for a genuine pair, ORL has 10 "
                           "per person"),
}
PHOTOGRAPHS = {
    "lr": ({"log": [5e-4, 5e-3]}, "AdamW with warm-up on face_resnet_lite: the default 2e-3 found on LFW in "
                                  "the middle"),
    "weight_decay": ({"log": [5e-3, 0.2]}, "AdamW's decoupled decay, 0.05 by default: thousands of people "
                                          "still overfit a small network in an hour"),
    "margin": ({"float": [0.2, 0.6]}, "ArcFace's additive angle: 0.5 in Deng et al.; smaller is easier early"),
    "grey_fraction": ({"float": [0.0, 1.0]}, "how much the model may lean on colour, which cameras change"),
    "augment_strength": ({"float": [0.5, 1.5]}, "aligned faces need little jitter; none overfits"),
}
DEFAULT_SPACES = {"face crops": FACE_CROPS, "photographs": PHOTOGRAPHS}


def default_space(kind: str) -> tuple[Space, dict[str, str]]:
    """(the default space for `kind`, 'face crops' or 'photographs'; each field's reason)."""
    ranges = DEFAULT_SPACES[kind]
    space = space_from_json({field: spec for field, (spec, _) in ranges.items()})
    return space, {field: why for field, (_, why) in ranges.items()}


def dataset_kind(data: str, data_dir: str | Path = "data") -> str:
    """'photographs' where the dataset's faces are found and aligned (`recipes.defaults_for`), else
    'face crops'."""
    from ..recipes import defaults_for

    defaults, _ = defaults_for(data, data_dir)
    return "photographs" if defaults.get("faces") == "align" else "face crops"


def space_from_text(text: str, base: TrainConfig | None = None) -> Space:
    parts = [part.strip() for part in text.split(";") if part.strip()]
    return check_space({dim.field: dim for dim in (parse_dimension(part, base) for part in parts)})


def suggested(field: str, base: TrainConfig) -> Dimension:
    """A first range for a field the default space leaves out, around the fixed value: every choice of a
    named field, a half to twice an integer, a third to three times a positive float on a log scale."""
    value, kind = getattr(base, field), field_types()[field]
    if _choices_of(field) or kind is bool:
        return dimension(field, "choice", list(_choices_of(field)) or [True, False], base)
    if kind is int:
        return dimension(field, "int", [max(2, value // 2), max(value * 2, 3)], base)
    if value:
        return dimension(field, "log", [value / 3, min(value * 3, 3.0 if field == "augment_strength" else 10.0)], base)
    return dimension(field, "float", [0.0, 1.0], base)
