"""What the training loop reads: the dataset split by identity, and one epoch of P x K batches on the
device, decoded up front or streamed from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader

from ..config import TrainConfig
from ..data.dataset import FaceDataset, ImageFiles, decode_identities
from ..data.folders import FolderScan
from ..data.protocol_files import read_people
from ..data.sources import Progress, open_source
from ..data.split import sample_identities, split_identities
from ..errors import DatasetError
from ..faces.cache import resolve_cut
from ..sampling import PKSampler

# data_loading=auto streams folders with more images than this (about 20 MB decoded at 32x32 grey, but
# minutes of decoding before the first step); streamed runs validate on a sample of held-out identities.
STREAM_ABOVE_IMAGES = 20_000
VALIDATION_MAX_IMAGES = 3_000
VALIDATION_IMAGES_PER_IDENTITY = 20

Batches = Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]


def prepare_data(config: TrainConfig, data_dir: str | Path = "data", progress: Progress | None = None
                 ) -> tuple[FaceDataset | ImageFiles, FaceDataset, dict]:
    """Load the dataset, its faces cut as the configuration says (`faces.cache.resolve_cut`), leave out
    the excluded people, and split the rest by identity: (train, validation, split record). The training
    side is an `ImageFiles` when the folder is streamed from disk (see `streams`), else decoded in memory.
    `progress(done, total)` follows the face detection of a folder prepared for the first time."""
    source = open_source(config.data, data_dir)
    cut, reason = resolve_cut(config.faces, source.folder, source.name)
    record = {"dataset": source.label, "faces": cut, "faces_reason": reason}
    if source.folder is None:
        dataset = source.load(config.input_size, config.colour, cut=cut)
        identities, problems = dataset.identities, list(dataset.problems)
    else:
        scan = source.images(cut, progress)
        identities, problems = list(scan.identities), list(scan.problems)
    excluded = _excluded(config, identities)
    record["excluded"] = sorted(excluded)
    if source.folder is not None:
        kept = {name: files for name, files in scan.identities.items() if name not in excluded}
        if streams(config, scan):
            return _streamed_data(config, FolderScan(kept, scan.skipped_files, problems), record)
        dataset = decode_identities(kept, config.input_size, config.colour, source.label, problems)
        problems = dataset.problems
    else:
        dataset = dataset.subset([name for name in identities if name not in excluded])
    train_ids, val_ids = split_identities(dataset.identities, config.val_fraction, config.seed)
    split = {**record, "train": train_ids, "validation": val_ids, "problems": problems}
    return dataset.subset(train_ids), dataset.subset(val_ids), split


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


def _streamed_data(config: TrainConfig, scan: FolderScan, record: dict) -> tuple[ImageFiles, FaceDataset, dict]:
    name = record["dataset"]
    usable = {identity: files for identity, files in scan.identities.items() if len(files) >= 2}
    problems = list(scan.problems)
    if len(usable) < len(scan.identities):
        problems.append(f"{len(scan.identities) - len(usable)} identit(ies) with fewer than 2 images were left out")
    train_ids, val_ids = split_identities(sorted(usable), config.val_fraction, config.seed)
    # Validation runs every epoch on rank 0 while the others wait: a seeded sample of held-out identities,
    # decoded once, keeps it to seconds however large the dataset.
    val_files = sample_identities({identity: usable[identity] for identity in val_ids}, VALIDATION_MAX_IMAGES,
                                  VALIDATION_IMAGES_PER_IDENTITY, config.seed)
    if len(val_files) < len(val_ids):
        problems.append(f"validation uses {len(val_files)} of the {len(val_ids)} held-out identities")
    val_set = decode_identities(val_files, config.input_size, config.colour, name)
    train_set = ImageFiles({identity: usable[identity] for identity in train_ids}, config.input_size,
                           config.colour, name)
    split = {**record, "train": train_ids, "validation": val_set.identities, "problems": problems,
             "streamed": True}
    return train_set, val_set, split


def batch_source(train_set: FaceDataset | ImageFiles, sampler: PKSampler, config: TrainConfig,
                 device: torch.device) -> Batches:
    """A function giving one epoch of (uint8 images (B, C, H, W), labels (B,)) batches on `device`."""
    if isinstance(train_set, FaceDataset):
        images, labels = train_set.images.to(device), train_set.labels.to(device)

        def from_memory():
            for batch in sampler.epoch():
                index = torch.from_numpy(batch).to(device)
                yield images[index], labels[index]
        return from_memory

    # The sampler runs in this process (so its state is checkpointed); workers only decode files.
    loader = DataLoader(train_set, batch_sampler=sampler, num_workers=config.loader_workers,
                        pin_memory=device.type == "cuda", persistent_workers=config.loader_workers > 0)

    def from_disk():
        for images, labels in loader:
            yield images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
    return from_disk
