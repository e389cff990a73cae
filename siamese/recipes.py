"""The defaults a training starts from, by the kind of dataset, with the reason they were chosen.

`TrainConfig`'s own defaults suit small face crops (ORL, Olivetti: a compact network at 32 px grey with
CosFace, in float32: bfloat16 cost it 0.01 of validation AUC on ORL). Photographs, whose faces are
detected and aligned, get PHOTOGRAPHS instead: what a search on LFW's development people found to
generalise to people never seen (docs/BENCHMARKS.md). The command line
and the Train form both start from `defaults_for(data)` and apply what the user sets on top.
"""

from __future__ import annotations

from pathlib import Path

from .data.builtin import BUILTIN_SOURCES
from .data.sources import open_source
from .errors import DatasetError
from .faces.cache import resolve_cut

PHOTOGRAPHS = {
    "faces": "align", "model": "face_resnet", "embedding_dim": 256, "input_size": 64, "colour": "rgb",
    "flip_average": True, "loss": "arcface", "sampler": "uniform", "p": 32, "k": 4, "optimizer": "adamw",
    "lr": 0.002, "weight_decay": 0.05, "lr_schedule": "warmup_cosine", "augmentation": "similarity",
    "epochs": 40, "val_fraction": 0.1, "precision": "auto",
}
PHOTOGRAPHS_WHY = ("photographs: faces detected and aligned, a small ResNet at 64 px colour, ArcFace over "
                   "uniform batches, AdamW with warm-up; it reached 0.89 on LFW View 1 in 5 minutes on 2 "
                   "CPU cores")
CROPS_WHY = "face crops: a compact network at 32 px grey with CosFace, the best found on ORL"


def defaults_for(data: str, data_dir: str | Path = "data", faces: str = "auto") -> tuple[dict, str]:
    """(field values over TrainConfig's defaults, why) for a dataset: PHOTOGRAPHS when its faces are to be
    aligned, none for face crops. A dataset that cannot be opened gets no defaults of its own (its error
    is reported where it is loaded)."""
    if data in BUILTIN_SOURCES:  # known without opening it, which could mean a download
        cut, reason = resolve_cut(faces, None, data)
    else:
        try:
            source = open_source(data, data_dir)
        except DatasetError:
            return {}, "the dataset cannot be opened yet: TrainConfig's own defaults"
        cut, reason = resolve_cut(faces, source.folder, source.name)
    if cut == "align":
        return dict(PHOTOGRAPHS), f"{PHOTOGRAPHS_WHY} ({reason})"
    return {}, f"{CROPS_WHY} ({reason})"
