"""What the training loop reads: the dataset split by identity, and one epoch of P x K batches on the
device, decoded up front or streamed from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..config import TrainConfig
from ..data.dataset import FaceDataset, ImageFiles, concat_datasets, decode_identities
from ..data.folders import FolderScan
from ..data.mix import load_builtin_source, scan_source, source_of, training_sources
from ..data.protocol_files import read_people
from ..data.sources import Progress
from ..data.split import sample_identities, split_identities
from ..errors import DatasetError
from ..sampling import PKSampler

# data_loading=auto streams folders with more images than this (about 20 MB decoded at 32x32 grey, but
# minutes of decoding before the first step); streamed runs validate on a sample of held-out identities.
STREAM_ABOVE_IMAGES = 20_000
VALIDATION_MAX_IMAGES = 3_000
VALIDATION_IMAGES_PER_IDENTITY = 20

Batches = Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]


def prepare_data(config: TrainConfig, data_dir: str | Path = "data", progress: Progress | None = None
                 ) -> tuple[FaceDataset | ImageFiles, FaceDataset, dict]:
    """Load the datasets (`config.sources`: `data`, then `more_data`), each with its faces cut as it needs
    (`data.mix`), leave out the excluded people of `data`, and split each dataset by identity (validation
    from each, or from `data` only: `validate_from`): (train, validation, split record). Single-image
    identities train as classes of their own when `singletons` says so, never validate. The training side
    is an `ImageFiles` when the folders are streamed from disk (see `streams`), else decoded in memory.
    `progress(done, total)` follows the face detection of a folder prepared for the first time."""
    parts = training_sources(config.sources, config.faces, data_dir)
    name = parts[0].source.label
    record = {"dataset": name, "faces": parts[0].cut, "faces_reason": parts[0].reason,
              "sources": [part.record() for part in parts]}
    min_images = 1 if config.singletons == "classes" else 2
    # A folder is listed (its faces prepared) and decoded later, all folders at once; a built-in is decoded.
    loaded = [scan_source(part, progress) or load_builtin_source(part, config.input_size, config.colour)
              for part in parts]
    excluded = _excluded(config, list(loaded[0].identities))
    record["excluded"] = sorted(excluded)
    loaded[0] = _sampled(_without(loaded[0], excluded), config.data_people, min_images, config.seed)
    if all(isinstance(part, FolderScan) for part in loaded):
        merged = FolderScan({identity: files for scan in loaded for identity, files in scan.identities.items()},
                            sum(scan.skipped_files for scan in loaded),
                            [problem for scan in loaded for problem in scan.problems])
        if streams(config, merged):
            return _streamed_data(config, merged, record, min_images)
        dataset = decode_identities(merged.identities, config.input_size, config.colour, name, merged.problems,
                                    min_images)
    else:
        decoded = [decode_identities(part.identities, config.input_size, config.colour, name, part.problems,
                                     min_images) if isinstance(part, FolderScan) else part for part in loaded]
        dataset = concat_datasets(decoded, name) if len(decoded) > 1 else decoded[0]
    train_ids, val_ids, notes = split_sources(dataset.counts(), record["sources"], config)
    split = {**record, "train": train_ids, "validation": val_ids, "problems": dataset.problems + notes,
             **_composition(dataset.counts(), record["sources"], train_ids, val_ids)}
    return dataset.subset(train_ids), dataset.subset(val_ids), split


def split_sources(counts: dict[str, int], sources: list[dict], config: TrainConfig
                  ) -> tuple[list[str], list[str], list[str]]:
    """(train identities, validation identities, notes): each dataset's identities with two images or more
    split by identity (`split_identities`), when validation is drawn from it; a dataset that is not (or has
    too few people to hold any out) trains whole; single-image identities always train."""
    train, val, notes = [], [], []
    for i, record in enumerate(sources):
        mine = [name for name in counts if source_of(name, sources) is record]
        pairs = [name for name in mine if counts[name] >= 2]
        singles = [name for name in mine if counts[name] < 2]
        validated = i == 0 or (config.validate_from == "each" and len(pairs) >= 4)
        if validated:
            t, v = split_identities(pairs, config.val_fraction, config.seed)
        else:
            t, v = pairs, []
            if config.validate_from == "each" and pairs:
                notes.append(f"{record['label']} has {len(pairs)} people with two images or more: too few to "
                             "hold any out for validation, so all of them train")
        if not mine:
            notes.append(f"{record['label']}: no identity with a readable image; it adds nothing")
        train += t + singles
        val += v
    if config.sampler == "pk" and any(counts[name] < 2 for name in train):
        notes.append("P x K batches draw K images of a person, so the single-image people are never drawn; "
                     "set sampler to 'uniform' (with cosface or arcface) to train on them")
    return sorted(train), sorted(val), notes


def _composition(counts: dict[str, int], sources: list[dict], train: list[str], val: list[str]) -> dict:
    """What trains and validates, by dataset: people, their images, and the single-image people among them."""
    train_set, val_set = set(train), set(val)
    rows = []
    for record in sources:
        mine = [name for name in counts if source_of(name, sources) is record]
        rows.append({**record, "train_people": sum(n in train_set for n in mine),
                     "train_images": sum(counts[n] for n in mine if n in train_set),
                     "single_image_people": sum(counts[n] == 1 for n in mine),
                     "validation_people": sum(n in val_set for n in mine)})
    return {"sources": rows, "single_image_people": sum(row["single_image_people"] for row in rows)}


def _without(part: FolderScan | FaceDataset, excluded: set[str]) -> FolderScan | FaceDataset:
    if isinstance(part, FaceDataset):
        return part.subset([name for name in part.identities if name not in excluded])
    return FolderScan({n: files for n, files in part.identities.items() if n not in excluded}, part.skipped_files,
                      part.problems)


def _sampled(part: FolderScan | FaceDataset, people: int | None, min_images: int, seed: int
             ) -> FolderScan | FaceDataset:
    """A seeded sample of `people` identities of a source (of those with `min_images` images or more), in
    their order; the source itself when it holds no more."""
    counts = part.counts() if isinstance(part, FaceDataset) else {n: len(f) for n, f in part.identities.items()}
    names = [name for name, count in counts.items() if count >= min_images]
    if people is None or len(names) <= people:
        return part
    chosen = {names[i] for i in np.random.default_rng(seed).permutation(len(names))[:people]}
    return _without(part, set(counts) - chosen)


def _excluded(config: TrainConfig, identities: list[str]) -> set[str]:
    """The people of `config.exclude_people` found among `identities`; DatasetError when the file names
    nobody the dataset holds (a wrong file, or the wrong dataset)."""
    if not config.exclude_people:
        return set()
    named = set(read_people(config.exclude_people))
    found = named & set(identities)
    if not found:
        raise DatasetError(f"{config.exclude_people} names {len(named):,} people, none of them in the dataset "
                           f"'{config.data}'; give the people file of this dataset's protocol")
    return found


def streams(config: TrainConfig, scan: FolderScan) -> bool:
    """Whether to decode training images batch by batch instead of all up front: when asked, or (auto)
    when the folder holds more than STREAM_ABOVE_IMAGES images, where decoding first would keep the
    user waiting minutes and could fill the memory."""
    if config.data_loading != "auto":
        return config.data_loading == "stream"
    return scan.images > STREAM_ABOVE_IMAGES


def _streamed_data(config: TrainConfig, scan: FolderScan, record: dict, min_images: int
                   ) -> tuple[ImageFiles, FaceDataset, dict]:
    name = record["dataset"]
    usable = {identity: files for identity, files in scan.identities.items() if len(files) >= min_images}
    problems = list(scan.problems)
    if len(usable) < len(scan.identities):
        problems.append(f"{len(scan.identities) - len(usable)} identit(ies) with fewer than {min_images} images "
                        "were left out")
    counts = {identity: len(files) for identity, files in usable.items()}
    train_ids, val_ids, notes = split_sources(counts, record["sources"], config)
    # Validation runs every epoch on rank 0 while the others wait: a seeded sample of held-out identities,
    # decoded once, keeps it to seconds however large the dataset.
    val_files = sample_identities({identity: usable[identity] for identity in val_ids}, VALIDATION_MAX_IMAGES,
                                  VALIDATION_IMAGES_PER_IDENTITY, config.seed)
    if len(val_files) < len(val_ids):
        problems.append(f"validation uses {len(val_files)} of the {len(val_ids)} held-out identities")
    val_set = decode_identities(val_files, config.input_size, config.colour, name)
    train_set = ImageFiles({identity: usable[identity] for identity in train_ids}, config.input_size,
                           config.colour, name)
    split = {**record, "train": train_ids, "validation": val_set.identities, "problems": problems + notes,
             "streamed": True, **_composition(counts, record["sources"], train_ids, val_set.identities)}
    return train_set, val_set, split


def batch_source(train_set: FaceDataset | ImageFiles, sampler: PKSampler, config: TrainConfig,
                 device: torch.device) -> Batches:
    """A function giving one epoch of (uint8 images (B, C, H, W), labels (B,)) batches on `device`. Images
    decoded up front live on the device (LFW's 13,233 faces at 64 px are 163 MB), and each epoch's indices
    are sent there in one copy: a copy a step would make the host wait for the GPU at every step."""
    if isinstance(train_set, FaceDataset):
        images, labels = train_set.images.to(device), train_set.labels.to(device)

        def from_memory():
            batches = list(sampler.epoch())
            order = torch.from_numpy(np.concatenate(batches)).to(device)
            for index in torch.split(order, [len(batch) for batch in batches]):
                yield images[index], labels[index]
        return from_memory

    # The sampler runs in this process (so its state is checkpointed); workers only decode files.
    loader = DataLoader(train_set, batch_sampler=sampler, num_workers=config.loader_workers,
                        pin_memory=device.type == "cuda", persistent_workers=config.loader_workers > 0)

    def from_disk():
        for images, labels in loader:
            yield images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
    return from_disk
