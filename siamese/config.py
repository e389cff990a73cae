"""The one configuration object of a training run.

`TrainConfig` is filled by the command line, the dashboard form and the URL alike, saved as `config.json`
in every run folder (which is how it reaches the trainer), and is enough on its own to rebuild the model.
The choices of a field are the names of the registry that implements them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .augment import AUGMENTATIONS
from .data.dataset import LOADING_MODES
from .data.images import COLOURS
from .device import DEVICES, PRECISIONS
from .distances import DISTANCES
from .errors import ConfigError
from .faces import FACE_CUTS
from .losses import LOSSES, MINERS
from .models import MODELS
from .optim import OPTIMIZERS, SCHEDULES
from .sampling import SAMPLERS

# Fields where None means "the loss's default" (margin), "no limit" (max_seconds), "nobody" (exclude_people),
# "no other dataset" (more_data), "new weights" (init_from) or "all of them" (data_people).
OPTIONAL_FIELDS = ("margin", "max_seconds", "exclude_people", "more_data", "init_from", "data_people")
# What single-image identities do in training, and which sources validation identities are drawn from.
SINGLETON_MODES = ("leave_out", "classes")
VALIDATE_FROM = ("each", "data")
# `more_data` names several datasets separated by this (a character no folder name of a dataset needs).
SOURCE_SEPARATOR = ";"
MARGIN_HELP = ("loss margin; unset: the loss's default (" +
               ", ".join(f"{name} {cls.default_margin}" for name, cls in LOSSES.items()
                         if cls.default_margin is not None) + ")")


def _field(default: Any, help: str, **kwargs: Any) -> Any:
    return field(default=default, metadata={"help": help, **kwargs})


@dataclass
class TrainConfig:
    data: str = _field("digits", "dataset: 'digits', 'olivetti', 'lfw', a folder of identity folders, or a .zip")
    model: str = _field("compact", "embedding network", choices=tuple(MODELS))
    embedding_dim: int = _field(128, "size of the embedding vector")
    input_size: int = _field(32, "images are resized to input_size x input_size pixels")
    colour: str = _field("grey", "colour mode the images are converted to", choices=COLOURS)
    more_data: str | None = _field(None, "more datasets trained on beside data, separated by ';' (e.g. a folder "
                                   "of your own people beside LFW): each has its faces cut as its images "
                                   "need, and its people are its own (named source/person)")
    data_people: int | None = _field(None, "train and validate on a seeded sample of this many people of data "
                                     "(whole identities); unset: all of them. An adaptation samples its base "
                                     "dataset so that the enrolled people are a fair share of every batch")
    faces: str = _field("auto", "how faces are cut from the images: align detects each face and aligns it on "
                        "its five landmarks (photographs), whole takes each image as it is (face crops, like "
                        "ORL's); auto aligns images over 160 px and takes smaller ones whole", choices=FACE_CUTS)
    normalize: bool = _field(True, "L2-normalise embeddings (unit length)")
    flip_average: bool = _field(False, "outside training, average each embedding with that of the mirror image")
    pretrained: bool = _field(False, "resnet18 only: start from ImageNet weights found in the local torch cache")
    loss: str = _field("cosface", "training loss", choices=tuple(LOSSES))
    margin: float | None = _field(None, MARGIN_HELP)
    mining: str = _field("batch_hard", "triplet mining inside each batch", choices=tuple(MINERS))
    distance: str = _field("euclidean", "distance between embeddings (bce learns its own on |e1 - e2|)",
                           choices=tuple(DISTANCES))
    optimizer: str = _field("adam", "optimiser", choices=tuple(OPTIMIZERS))
    lr: float = _field(3e-3, "learning rate")
    lr_schedule: str = _field("cosine", "learning-rate schedule over the planned steps", choices=tuple(SCHEDULES))
    weight_decay: float = _field(0.0, "weight decay (L2 penalty)")
    p: int = _field(16, "identities per batch (P of a P x K batch)")
    k: int = _field(4, "images per identity in a batch (K of a P x K batch)")
    sampler: str = _field("pk", "batches of P identities x K images (pk), or P x K images drawn at random "
                          "(uniform; for cosface and arcface)", choices=tuple(SAMPLERS))
    epochs: int = _field(80, "maximum number of epochs (one epoch: as many images as the training set holds)")
    max_seconds: float | None = _field(None, "time budget for training, seconds; checked before every update")
    eval_every: int = _field(0, "evaluate the validation identities every this many epochs; 0: by time, so that "
                             "validation takes at most 5 percent of the run (every epoch when epochs are long, every "
                             "few when they take a second, as on a GPU; each epoch record says how many)")
    augment: bool = _field(True, "random affine, flip, brightness and contrast on training images")
    augmentation: str = _field("koch", "augmentation ranges: Koch et al.'s affine, or a similarity without "
                               "shear for aligned faces", choices=tuple(AUGMENTATIONS))
    augment_strength: float = _field(1.0, "scales the augmentation ranges (0 = none, 1 = the preset's)")
    grey_fraction: float = _field(0.0, "fraction of colour training images made grey (their luminance in "
                                  "all three channels), so that the model leans less on colour, which "
                                  "cameras and lighting change")
    val_fraction: float = _field(0.25, "fraction of identities held out for validation")
    validate_from: str = _field("each", "which datasets validation identities are held out from: each (every "
                                "dataset with 4 people or more), or data only (the others train whole: an "
                                "adaptation to enrolled people)", choices=VALIDATE_FROM)
    singletons: str = _field("leave_out", "identities with a single image: left out, or trained on as classes "
                             "of their own, with augmented views (uniform batches with CosFace or ArcFace; "
                             "P x K batches need two images); never validated on", choices=SINGLETON_MODES)
    exclude_people: str | None = _field(None, "a people file (LFW's format, one name a line, or a pairs file) "
                                        "whose people are kept out of training and validation: a protocol's "
                                        "test people")
    init_from: str | None = _field(None, "a trained run (its folder, or one of its snapshot files) whose "
                                   "embedding network this run starts from; the loss's own parameters "
                                   "start new for the new people")
    freeze_epochs: int = _field(0, "with init_from: epochs at the start in which the early layers (all but "
                                "the last stage and the embedding layer) stay frozen")
    seed: int = _field(0, "random seed for the split, sampling, augmentation and initial weights")
    device: str = _field("auto", "auto picks CUDA, then MPS, then the CPU", choices=DEVICES)
    precision: str = _field("fp32", "arithmetic of the network in training: fp32, bf16, or auto (bf16 where the "
                            "hardware has it: recent GPUs, CPUs with AVX512-BF16; 1.5-2.9 times faster)",
                            choices=PRECISIONS)
    data_loading: str = _field("auto", "memory decodes every image once up front; stream decodes each batch "
                               "from disk in DataLoader workers; auto streams large folders", choices=LOADING_MODES)
    loader_workers: int = _field(4, "DataLoader worker processes decoding images when streaming")
    gather_embeddings: bool = _field(True, "under torchrun, form pairs and triplets over the embeddings of "
                                     "all processes, so hard-negative mining sees the combined batch")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError(f"{f.name}: {value!r} is not one of {', '.join(choices)}")
        _check(self.embedding_dim >= 2, "embedding_dim", "must be at least 2")
        _check(16 <= self.input_size <= 512, "input_size", "must be between 16 and 512 pixels")
        _check(self.margin is None or self.margin >= 0, "margin", "must be zero or positive")
        _check(0 < self.lr <= 10, "lr", "must be positive (and at most 10)")
        _check(self.weight_decay >= 0, "weight_decay", "must be zero or positive")
        _check(self.p >= 2, "p", "a batch needs at least 2 identities for impostor pairs")
        _check(self.k >= 2, "k", "a batch needs at least 2 images per identity for genuine pairs")
        _check(self.epochs >= 1, "epochs", "must be at least 1")
        _check(self.eval_every >= 0, "eval_every", "must be zero (by time) or more")
        _check(self.freeze_epochs >= 0, "freeze_epochs", "must be zero or more")
        _check(self.data_people is None or self.data_people >= 4, "data_people",
               "must be at least 4 (2 to train, 2 to validate), or unset for all")
        _check(self.max_seconds is None or self.max_seconds > 0, "max_seconds", "must be positive")
        _check(0 <= self.augment_strength <= 3, "augment_strength", "must be between 0 and 3")
        _check(0 <= self.grey_fraction <= 1, "grey_fraction", "must be between 0 and 1")
        _check(0 < self.val_fraction < 1, "val_fraction", "must be between 0 and 1")
        _check(self.loader_workers >= 0, "loader_workers", "must be zero (decode in the training process) or more")
        _check(bool(str(self.data).strip()), "data", "is empty; name a dataset, a folder or a .zip")
        _check(self.init_from is None or bool(str(self.init_from).strip()), "init_from",
               "is empty; name a trained run's folder, or leave it unset")

    @property
    def sources(self) -> list[str]:
        """Every dataset the run trains on: `data`, then those of `more_data`, in order."""
        more = [part.strip() for part in (self.more_data or "").split(SOURCE_SEPARATOR)]
        return [self.data] + [part for part in more if part]

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


def pipeline_steps(config: TrainConfig) -> list[tuple[str, str]]:
    """The pipeline a configuration describes, step by step: (step, what this configuration does there)."""
    margin = config.margin if config.margin is not None else LOSSES[config.loss].default_margin
    return [
        ("data", f"{' + '.join(_short(source) for source in config.sources)}; identities split "
                 f"{1 - config.val_fraction:.0%} / {config.val_fraction:.0%} train / validation"),
        ("sampling", f"P x K = {config.p} identities x {config.k} images a batch" if config.sampler == "pk" else
                     f"{config.p * config.k} images drawn at random a batch"),
        ("model", f"{config.model}, {config.embedding_dim}-d, {config.input_size} px {config.colour}"),
        ("loss", config.loss + (f", margin {margin:g}" if margin is not None else "") +
                 (f", {config.mining} mining" if config.loss == "triplet" else "") + f", {config.distance} distance"),
        ("train", f"{config.optimizer} lr {config.lr:g} ({config.lr_schedule}), {config.epochs} epochs" +
                  (f" or {config.max_seconds:g} s" if config.max_seconds else "")),
        ("evaluate", "ROC, EER and one-shot on the validation identities"),
        ("gallery / projection", "enrol people and verify them; look at the embedding space"),
    ]


def _short(source: str) -> str:
    """A dataset as a drawing names it: a folder by its last two parts (lfw/images), a built-in by its name."""
    parts = Path(source.split("@")[0]).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else source


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name}: {message}")


@dataclass(frozen=True)
class FormField:
    """How a form shows one field: its kind ('choice', 'bool', 'int', 'float' or 'optional', a float that
    may be left empty), its choices and its smallest value."""

    name: str
    label: str
    help: str
    kind: str
    choices: tuple[str, ...] = ()
    minimum: float = 0.0


# Smallest values of the counts that may be below 1 (or must be above it), for forms; `validate` agrees.
INT_MINIMUMS = {"seed": 0, "freeze_epochs": 0, "data_people": 4, "eval_every": 0}


def form_field(name: str) -> FormField:
    """The form description of field `name`, from the dataclass itself."""
    f = next(f for f in fields(TrainConfig) if f.name == name)
    kind = field_types()[name]
    label, help_text = name.replace("_", " "), f.metadata["help"]
    if f.metadata.get("choices"):
        return FormField(name, label, help_text, "choice", tuple(f.metadata["choices"]))
    if kind is bool:
        return FormField(name, label, help_text, "bool")
    if kind is int:
        return FormField(name, label, help_text, "int", minimum=INT_MINIMUMS.get(name, 1))
    if kind is str:
        return FormField(name, label, help_text, "text")
    return FormField(name, label, help_text, "optional" if name in OPTIONAL_FIELDS else "float")


def field_types() -> dict[str, type]:
    """The Python type of each field (`float | None` reported as float), for forms and parsers."""
    types = {"int": int, "float": float, "bool": bool, "str": str}
    return {f.name: types[str(f.type).split(" ")[0]] for f in fields(TrainConfig)}


def coerce(name: str, value: Any) -> Any:
    """Convert a string or JSON value to the type of field `name`; raise ConfigError naming the field."""
    kind = field_types().get(name)
    if kind is None:
        raise ConfigError(f"unknown configuration field: {name}")
    if value is None or (value == "" and (kind is not str or name in OPTIONAL_FIELDS)):
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


def to_query(config: TrainConfig, base: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The fields of `config` that differ from `base` (default: TrainConfig's defaults), as URL query
    parameters (booleans as 'true' / 'false'), so a configuration can be shared as a link."""
    defaults = {**TrainConfig().to_dict(), **(base or {})}
    query = {}
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if value != defaults[f.name] and value is not None:
            query[f.name] = str(value).lower() if isinstance(value, bool) else str(value)
    return query


def from_query(query: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> tuple[dict, list[str]]:
    """Field values from URL query parameters over `base`. Bad values are reported, not fatal: unknown
    names are ignored, and a value the configuration refuses is skipped and listed in the returned
    problems, so the rest of the link still applies. The values make a valid `TrainConfig`."""
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
