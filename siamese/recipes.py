"""The defaults a training starts from, by the kind of dataset, with the reason they were chosen.

`TrainConfig`'s own defaults suit small face crops (ORL, Olivetti: a compact network at 32 px grey with
CosFace, in float32: bfloat16 cost it 0.01 of validation AUC on ORL). Photographs, whose faces are
detected and aligned, get PHOTOGRAPHS instead: what a search on LFW's development people found to
generalise to people never seen (docs/BENCHMARKS.md). On a GPU they train the same, and the reason
says what the GPU changes (GPU_WHY). The command line and the Train form both start from
`defaults_for(data)` and apply what the user sets on top.
"""

from __future__ import annotations

from pathlib import Path

from .data.builtin import BUILTIN_SOURCES
from .data.sources import open_source
from .device import pick_device
from .config import TrainConfig
from .errors import ConfigError, DatasetError, ModelError
from .faces.cache import resolve_cut

PHOTOGRAPHS = {
    "faces": "align", "model": "face_resnet_lite", "embedding_dim": 256, "input_size": 64, "colour": "rgb",
    "flip_average": True, "loss": "arcface", "sampler": "uniform", "p": 32, "k": 4, "optimizer": "adamw",
    "lr": 0.002, "weight_decay": 0.05, "lr_schedule": "warmup_cosine", "augmentation": "similarity",
    "grey_fraction": 0.5, "epochs": 60, "val_fraction": 0.1, "precision": "auto",
}
PHOTOGRAPHS_WHY = ("photographs: faces detected and aligned; face_resnet_lite at 64 px colour with half the "
                   "training images made grey (colour changes with the camera), ArcFace over uniform batches, "
                   "AdamW with warm-up. Chosen on LFW's development people for what a 2-core CPU without bf16 "
                   "trains in 5 minutes (an AMD EPYC with AVX2, fp32; measured on an Intel Xeon held to AVX2), "
                   "judged on people never seen, in colour, in greyscale and on ORL's camera "
                   "(docs/RECIPE_SEARCH.md, docs/BENCHMARKS.md)")
# What a GPU changes: how fast, not what is learned. A recipe that spends a GPU's speed (a larger batch
# with its learning rate, more epochs, a wider network) must be chosen on LFW's development people as the
# CPU default was; no GPU was lent to measure one, so none is advised.
GPU_WHY = ("on this GPU: the same recipe, in bfloat16 with its step captured as CUDA graphs and the faces "
           "augmented on the device (60 epochs of LFW: View 1 0.902 on an H200, issue #25); a recipe that "
           "spends the GPU's speed on a larger batch, more epochs or a wider network is not measured yet, "
           "so none is chosen for you")
CROPS_WHY = "face crops: a compact network at 32 px grey with CosFace, the best found on ORL"


# Configurations from the papers people know, over a dataset's defaults: each names its source.
PRESETS = {
    "this project's default": ({}, "the defaults for the dataset (siamese/recipes.py)"),
    "Koch et al. 2015": ({"model": "koch", "input_size": 105, "colour": "grey", "embedding_dim": 4096,
                          "normalize": False, "flip_average": False, "loss": "bce", "optimizer": "adam",
                          "lr": 1e-4, "weight_decay": 0.0, "lr_schedule": "constant", "sampler": "pk",
                          "augmentation": "koch"},
                         "Koch, Zemel and Salakhutdinov, Siamese neural networks for one-shot image recognition: "
                         "their network at 105 px, BCE over a weighted L1 distance, Adam 1e-4"),
    "Hadsell et al. 2006": ({"loss": "contrastive", "margin": 1.0, "distance": "euclidean", "sampler": "pk",
                             "normalize": True},
                            "Hadsell, Chopra and LeCun, Dimensionality reduction by learning an invariant mapping: "
                            "the contrastive loss, margin 1 on unit-length embeddings"),
    "FaceNet (Schroff et al. 2015)": ({"loss": "triplet", "mining": "semi_hard", "margin": 0.2, "distance": "euclidean",
                                       "normalize": True, "embedding_dim": 128, "sampler": "pk"},
                                      "Schroff, Kalenichenko and Philbin, FaceNet: the triplet loss with semi-hard "
                                      "negatives, margin 0.2, 128-d unit-length embeddings"),
}


def apply_preset(name: str, values: dict, data_dir: str | Path = "data") -> dict:
    """`values` (field values) with a preset applied: the dataset's defaults, then the preset's fields;
    the dataset, its faces and the budget stay the user's. ConfigError naming a preset that is not one."""
    if name not in PRESETS:
        raise ConfigError(f"preset {name!r} is not one of: {', '.join(PRESETS)}")
    keep = {field: values[field] for field in ("data", "faces", "exclude_people", "max_seconds", "seed", "device")
            if field in values}
    defaults, _ = defaults_for(values.get("data", "digits"), data_dir, values.get("faces", "auto"))
    return TrainConfig.from_dict({**defaults, **PRESETS[name][0], **keep}).to_dict()


def defaults_for(data: str, data_dir: str | Path = "data", faces: str = "auto",
                 device: str = "auto") -> tuple[dict, str]:
    """(field values over TrainConfig's defaults, why) for a dataset: PHOTOGRAPHS when its faces are to be
    aligned (on a GPU, `device`, the reason says what it changes), none for face crops. A dataset that
    cannot be opened gets no defaults of its own (its error is reported where it is loaded)."""
    if data in BUILTIN_SOURCES:  # known without opening it, which could mean a download
        cut, reason = resolve_cut(faces, None, data)
    else:
        try:
            source = open_source(data, data_dir)
        except DatasetError:
            return {}, "the dataset cannot be opened yet: TrainConfig's own defaults"
        cut, reason = resolve_cut(faces, source.folder, source.name)
    if cut == "align":
        gpu = f"; {GPU_WHY}" if _on_gpu(device) else ""
        return dict(PHOTOGRAPHS), f"{PHOTOGRAPHS_WHY} ({reason}){gpu}"
    return {}, f"{CROPS_WHY} ({reason})"


def _on_gpu(device: str) -> bool:
    try:
        return pick_device(device).type == "cuda"
    except ModelError:  # a device that is not here: the form or the command line reports it
        return False
