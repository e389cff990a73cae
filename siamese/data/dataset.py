"""A dataset in memory: every image of every identity decoded, converted and resized once into one uint8
tensor `(N, C, H, W)`, so an epoch never touches the disk again. Folders too big for that (CASIA-WebFace,
VGGFace2) are read as `ImageFiles` instead, decoded batch by batch by DataLoader workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import DatasetError, ImageError
from .images import load_image

log = logging.getLogger(__name__)

# How training reads its images: decoded once up front, streamed from disk, or chosen by size.
LOADING_MODES = ("auto", "memory", "stream")


@dataclass
class FaceDataset:
    """Images of identities, decoded. `images` is (N, C, H, W) uint8; `labels` (N,) int64 indexes `identities`."""

    images: torch.Tensor
    labels: torch.Tensor
    identities: list[str]
    paths: list[str]
    name: str = ""
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        """Images per identity, in identity order."""
        per_label = torch.bincount(self.labels, minlength=len(self.identities)).tolist()
        return dict(zip(self.identities, per_label))

    def subset(self, identities: list[str]) -> "FaceDataset":
        """The images of the given identities only, relabelled 0..len(identities)-1 in the given order."""
        index = {name: i for i, name in enumerate(self.identities)}
        missing = [name for name in identities if name not in index]
        if missing:
            raise DatasetError(f"unknown identities: {', '.join(missing[:5])}")
        remap = torch.full((len(self.identities),), -1, dtype=torch.long)
        for new, name in enumerate(identities):
            remap[index[name]] = new
        new_labels = remap[self.labels]
        keep = (new_labels >= 0).nonzero().flatten()
        return FaceDataset(
            images=self.images[keep],
            labels=new_labels[keep],
            identities=list(identities),
            paths=[self.paths[i] for i in keep.tolist()],
            name=self.name,
        )


def decode_identities(identities: dict[str, list[Path]], size: int, colour: str, name: str,
                      problems: list[str] | None = None, min_images: int = 2) -> FaceDataset:
    """Decode the image files of each identity into one dataset, skipping unreadable images and
    identities left with fewer than `min_images` images (2: those that give a genuine pair; 1 keeps
    single-image identities, for training only); every skip is listed in `problems` and logged."""
    images, labels, paths, kept, too_few = [], [], [], [], []
    problems = list(problems or [])
    for identity, files in identities.items():
        decoded = []
        for path in files:
            try:
                decoded.append((load_image(path, size, colour), str(path)))
            except ImageError as exc:
                problems.append(f"skipped {exc}")
        if len(decoded) < min_images or not decoded:
            too_few.append((identity, len(decoded)))
            continue
        for tensor, path in decoded:
            images.append(tensor)
            labels.append(len(kept))
            paths.append(path)
        kept.append(identity)
    problems += _too_few_message(too_few, min_images)
    for problem in problems:
        log.warning(problem)
    return _finish(images, labels, kept, paths, name, problems)


def _too_few_message(too_few: list[tuple[str, int]], min_images: int = 2) -> list[str]:
    """Identities left out for want of images: one line each when few, one line in all when many (most
    people in a news-photo set such as LFW have a single photograph)."""
    why = ("at least 2 are needed for genuine pairs (set singletons to 'classes' to train on them)"
           if min_images >= 2 else "none could be read")
    if len(too_few) <= 5:
        return [f"identity '{name}' has {count} readable image(s); {why}, so it was left out"
                for name, count in too_few]
    names = ", ".join(f"'{name}'" for name, _ in too_few[:3])
    return [f"{len(too_few):,} identities have fewer than {max(min_images, 1)} readable images ({names}, …); "
            f"{why}, so they were left out"]


def concat_datasets(datasets: list[FaceDataset], name: str) -> FaceDataset:
    """Several decoded datasets as one, identities in order (their names must differ: `data.mix` prefixes
    them by source), labels renumbered; images of different sizes or colours are refused."""
    shapes = {tuple(d.images.shape[1:]) for d in datasets}
    if len(shapes) > 1:
        raise DatasetError(f"datasets decoded at different sizes or colours cannot be joined: {sorted(shapes)}")
    offsets = np.cumsum([0] + [len(d.identities) for d in datasets[:-1]]).tolist()
    return FaceDataset(torch.cat([d.images for d in datasets]),
                       torch.cat([d.labels + offset for d, offset in zip(datasets, offsets)]),
                       [name for d in datasets for name in d.identities], [p for d in datasets for p in d.paths],
                       name, [problem for d in datasets for problem in d.problems])


class ImageFiles(torch.utils.data.Dataset):
    """Images decoded from their files on every access, for datasets too big to decode up front: item i
    is ((C, size, size) uint8, label). DataLoader workers do the decoding in parallel with training.

    A file that turns out unreadable is logged and replaced by another image of the same identity, so a
    P x K batch keeps its shape; the up-front scan only checks names, not pixels.
    """

    def __init__(self, identities: dict[str, list[Path]], size: int, colour: str, name: str = ""):
        self.identities = list(identities)
        self.paths = [str(p) for files in identities.values() for p in files]
        self.labels = torch.tensor([i for i, files in enumerate(identities.values()) for _ in files],
                                   dtype=torch.long)
        self.size, self.colour, self.name = size, colour, name
        starts = np.cumsum([0] + [len(files) for files in identities.values()])
        self._ranges = list(zip(starts[:-1].tolist(), starts[1:].tolist()))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        label = int(self.labels[index])
        first, end = self._ranges[label]
        for attempt in range(end - first):
            candidate = first + (index - first + attempt) % (end - first)
            try:
                return load_image(self.paths[candidate], self.size, self.colour), label
            except ImageError as exc:
                log.warning("skipped %s; another image of '%s' took its place", exc, self.identities[label])
        raise DatasetError(f"identity '{self.identities[label]}' has no readable image left; remove its "
                           "folder or its broken files")


def _finish(images: list[torch.Tensor], labels: list[int], identities: list[str], paths: list[str],
            name: str, problems: list[str]) -> FaceDataset:
    if len(identities) < 2:
        raise DatasetError(f"dataset '{name}' has {len(identities)} usable identit"
                           f"{'y' if len(identities) == 1 else 'ies'}; at least 2 identities with 2 or more "
                           "images each are needed")
    return FaceDataset(torch.stack(images), torch.tensor(labels, dtype=torch.long), identities, paths,
                       name, problems)


def from_arrays(pixels: np.ndarray, targets: np.ndarray, size: int, colour: str, name: str,
                identity_names: list[str] | None = None) -> FaceDataset:
    """Build a dataset from float or uint8 grey images (N, H, W) and integer targets (N,)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    pixels = (pixels - pixels.min()) / max(pixels.max() - pixels.min(), 1e-12) * 255
    grey = torch.from_numpy(pixels.astype(np.uint8))[:, None]
    resized = torch.nn.functional.interpolate(grey.float(), size=(size, size), mode="bilinear",
                                              align_corners=False).round().clamp(0, 255).to(torch.uint8)
    if colour == "rgb":
        resized = resized.expand(-1, 3, -1, -1).contiguous()
    classes = sorted(set(int(t) for t in targets))
    names = identity_names or [f"{name}-{c}" for c in classes]
    index = {c: i for i, c in enumerate(classes)}
    labels = [index[int(t)] for t in targets]
    return _finish(list(resized), labels, names, [f"{name}:{i}" for i in range(len(labels))], name, [])
