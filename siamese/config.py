"""The one configuration object of a training run.

`TrainConfig` is filled by the command line, the dashboard form and the URL alike, saved as `config.json`
in every run folder, and is enough on its own to rebuild the model.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

MODEL_NAMES = ("compact", "koch", "resnet18", "tutorial")
LOSS_NAMES = ("cosface", "triplet", "contrastive", "bce")
MINING_NAMES = ("batch_hard", "semi_hard", "batch_all")
DISTANCE_NAMES = ("euclidean", "cosine", "l1")
OPTIMIZER_NAMES = ("adam", "adamw", "sgd")
SCHEDULE_NAMES = ("cosine", "constant")
COLOUR_NAMES = ("grey", "rgb")
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")
LOADING_NAMES = ("auto", "memory", "stream")

# Fields where None means "choose for me" (margin) or "no limit" (max_seconds).
OPTIONAL_FIELDS = ("margin", "max_seconds")
# Margins that suit L2-normalised embeddings, where Euclidean distances lie in [0, 2].
DEFAULT_MARGINS = {"cosface": 0.35, "contrastive": 1.0, "triplet": 0.2, "bce": 0.0}


def _field(default: Any, help: str, **kwargs: Any) -> Any:
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class TrainConfig:
    data: str = _field("digits", "dataset: 'digits', 'olivetti', 'lfw', a folder of identity folders, or a .zip")
    model: str = _field("compact", "embedding network", choices=MODEL_NAMES)
    embedding_dim: int = _field(128, "size of the embedding vector")
    input_size: int = _field(32, "images are resized to input_size x input_size pixels")
    colour: str = _field("grey", "colour mode the images are converted to", choices=COLOUR_NAMES)
    normalize: bool = _field(True, "L2-normalise embeddings (unit length)")
    pretrained: bool = _field(False, "resnet18 only: start from ImageNet weights found in the local torch cache")
    loss: str = _field("cosface", "training loss", choices=LOSS_NAMES)
    margin: float | None = _field(None, "loss margin; default 0.35 for cosface, 0.2 for triplet, 1.0 for contrastive")
    mining: str = _field("batch_hard", "triplet mining inside each batch", choices=MINING_NAMES)
    distance: str = _field("euclidean", "distance between embeddings (bce learns its own on |e1 - e2|)",
                           choices=DISTANCE_NAMES)
    optimizer: str = _field("adam", "optimiser", choices=OPTIMIZER_NAMES)
    lr: float = _field(3e-3, "learning rate")
    lr_schedule: str = _field("cosine", "learning-rate schedule over the planned steps", choices=SCHEDULE_NAMES)
    weight_decay: float = _field(0.0, "weight decay (L2 penalty)")
    p: int = _field(16, "identities per batch (P of a P x K batch)")
    k: int = _field(4, "images per identity in a batch (K of a P x K batch)")
    epochs: int = _field(80, "maximum number of epochs (one epoch: as many images as the training set holds)")
    max_seconds: float | None = _field(None, "time budget for training, seconds; checked before every update")
    eval_every: int = _field(1, "evaluate the validation identities every this many epochs")
    augment: bool = _field(True, "random affine, flip, brightness and contrast on training images")
    augment_strength: float = _field(1.0, "scales the augmentation ranges (0 = none, 1 = Koch et al.'s)")
    val_fraction: float = _field(0.25, "fraction of identities held out for validation")
    seed: int = _field(0, "random seed for the split, sampling, augmentation and initial weights")
    device: str = _field("auto", "auto picks CUDA, then MPS, then the CPU", choices=DEVICE_NAMES)
    data_loading: str = _field("auto", "memory decodes every image once up front; stream decodes each batch "
                               "from disk in DataLoader workers; auto streams large folders", choices=LOADING_NAMES)
    loader_workers: int = _field(4, "DataLoader worker processes decoding images when streaming")
    gather_embeddings: bool = _field(True, "under torchrun, form pairs and triplets over the embeddings of "
                                     "all processes, so hard-negative mining sees the combined batch")

    def __post_init__(self) -> None:
        if self.margin is None:
            self.margin = DEFAULT_MARGINS.get(self.loss, 0.0)
        self.validate()

    def validate(self) -> None:
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError(f"{f.name}: {value!r} is not one of {', '.join(choices)}")
        _check(self.embedding_dim >= 2, "embedding_dim", "must be at least 2")
        _check(16 <= self.input_size <= 512, "input_size", "must be between 16 and 512 pixels")
        _check(self.margin >= 0, "margin", "must be zero or positive")
        _check(0 < self.lr <= 10, "lr", "must be positive (and at most 10)")
        _check(self.weight_decay >= 0, "weight_decay", "must be zero or positive")
        _check(self.p >= 2, "p", "a batch needs at least 2 identities for impostor pairs")
        _check(self.k >= 2, "k", "a batch needs at least 2 images per identity for genuine pairs")
        _check(self.epochs >= 1, "epochs", "must be at least 1")
        _check(self.eval_every >= 1, "eval_every", "must be at least 1")
        _check(self.max_seconds is None or self.max_seconds > 0, "max_seconds", "must be positive")
        _check(0 <= self.augment_strength <= 3, "augment_strength", "must be between 0 and 3")
        _check(0 < self.val_fraction < 1, "val_fraction", "must be between 0 and 1")
        _check(self.loader_workers >= 0, "loader_workers", "must be zero (decode in the training process) or more")
        _check(bool(str(self.data).strip()), "data", "is empty; name a dataset, a folder or a .zip")

    @property
    def in_channels(self) -> int:
        return 1 if self.colour == "grey" else 3

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(unknown)}")
        coerced = {name: coerce(name, value) for name, value in values.items()}
        return cls(**coerced)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read the configuration {path}: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"cannot read the configuration {path}: it holds a {type(values).__name__}, "
                              "not a JSON object of fields")
        return cls.from_dict(values)


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name}: {message}")


def field_types() -> dict[str, type]:
    """The Python type of each field (`float | None` reported as float), for forms and parsers."""
    types = {"int": int, "float": float, "bool": bool, "str": str}
    return {f.name: types[str(f.type).split(" ")[0]] for f in fields(TrainConfig)}


def coerce(name: str, value: Any) -> Any:
    """Convert a string or JSON value to the type of field `name`; raise ConfigError naming the field."""
    kind = field_types().get(name)
    if kind is None:
        raise ConfigError(f"unknown configuration field: {name}")
    if value is None or (value == "" and kind is not str):
        if name in OPTIONAL_FIELDS:
            return None
        raise ConfigError(f"{name}: a value is required")
    try:
        if kind is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return lowered in ("1", "true", "yes", "on")
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {value!r} is not a valid {kind.__name__}") from None
