"""What a dataset looks like before training: where the first visit starts, counts per identity, who would
train and how, sample faces, sample genuine and impostor pairs, and the augmentation one image gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..augment import Augmenter
from ..errors import ImageError
from ..faces.cache import PreparedFaces, cached_faces, resolve_cut
from ..models import to_unit
from .builtin import BUILTIN_SOURCES, DOWNLOAD_BYTES, builtin_is_cached
from .dataset import FaceDataset, decode_identities
from .images import load_image
from .folders import find_datasets
from .sources import open_source
from .split import sample_identities

# The Data page decodes at most this many images: a folder of a million opens in seconds, on a sample.
PREVIEW_MAX_IMAGES = 5_000
PREVIEW_PER_IDENTITY = 8

FACES_NOTE = ("Showing scikit-learn's handwritten digits, which need no download. To work on faces, put a "
              "folder of identity folders under data/ (data/<name>/<person>/<image>), upload a .zip of them "
              "on the Data page, or load 'olivetti' once while online.")


def default_source(data_dir: str | Path = "data") -> tuple[str, str | None]:
    """(source, note) for a first visit: faces when we have them (a dataset under data/, else cached
    Olivetti), else the offline digits with a note saying how to add faces."""
    found = find_datasets(data_dir)
    if found:
        return sorted(found)[0], None
    if builtin_is_cached("olivetti", data_dir):
        return "olivetti", None
    return "digits", FACES_NOTE


@dataclass
class FacePlan:
    """How a dataset's faces are cut ('align' or 'whole'), why, and, for a folder whose faces are aligned,
    whether the face cache holds them yet (`prepared`)."""

    cut: str
    reason: str
    folder: Path | None
    prepared: PreparedFaces | None = None

    @property
    def waiting(self) -> bool:
        """The faces must be found and aligned before they can be shown or trained on."""
        return self.cut == "align" and self.prepared is None


def catalogue(data_dir: str | Path = "data") -> list[dict]:
    """The face datasets there are: the folders under `data_dir`, then the built-ins, each with where it
    is and whether it must be downloaded first (and how big that is)."""
    rows = [{"dataset": name, "where": str(folder), "on disk": True, "download": ""}
            for name, folder in sorted(find_datasets(data_dir).items())]
    for name in BUILTIN_SOURCES:
        cached = builtin_is_cached(name, data_dir)
        size = DOWNLOAD_BYTES.get(name)
        rows.append({"dataset": name, "where": "built in" if name == "digits" else f"{Path(data_dir) / 'sklearn'}",
                     "on disk": cached, "download": "" if cached or not size else f"about {size / 1e6:,.0f} MB"})
    return rows


def face_plan(source: str, data_dir: str | Path = "data") -> FacePlan:
    opened = open_source(source, data_dir)
    cut, reason = resolve_cut("auto", opened.folder, opened.name)
    prepared = cached_faces(opened.folder, data_dir) if cut == "align" else None
    return FacePlan(cut, reason, opened.folder, prepared)


def identity_counts(dataset: FaceDataset) -> list[dict]:
    """One row per identity: name and image count, most images first."""
    return _rows(dataset.counts())


def _rows(counts: dict[str, int]) -> list[dict]:
    rows = [{"identity": name, "images": count} for name, count in counts.items()]
    return sorted(rows, key=lambda r: (-r["images"], r["identity"]))


def preview(source: str, size: int, colour: str, data_dir: str | Path = "data",
            max_images: int | None = None, cut: str = "whole") -> tuple[FaceDataset, list[dict]]:
    """(images to look at, a count row per identity of the whole dataset), the faces cut as `cut` says
    (with 'align', the folder's aligned crops: see `faces.cache`). A folder of more than `max_images`
    (default PREVIEW_MAX_IMAGES) images is not decoded whole: its counts come from the file names, and the
    images shown are a seeded sample of identities, up to PREVIEW_PER_IDENTITY images each (said in
    `problems`)."""
    max_images = max_images or PREVIEW_MAX_IMAGES
    opened = open_source(source, data_dir)
    if opened.folder is None:
        dataset = opened.load(size, colour)
        return dataset, identity_counts(dataset)
    scan = opened.images(cut)
    if scan.images <= max_images:
        dataset = decode_identities(scan.identities, size, colour, opened.label, scan.problems)
        return dataset, identity_counts(dataset)
    usable = {name: files for name, files in scan.identities.items() if len(files) >= 2}
    sample = sample_identities(usable, max_images, PREVIEW_PER_IDENTITY, seed=0)
    note = (f"{scan.images:,} images: showing a sample of {len(sample)} identities (up to {PREVIEW_PER_IDENTITY} "
            "images each); the counts are of image files, not checked one by one")
    dataset = decode_identities(sample, size, colour, opened.label, [note, *scan.problems])
    return dataset, _rows({name: len(files) for name, files in scan.identities.items()})


@dataclass(frozen=True)
class WhoTrains:
    """Who of a dataset would train, and how: people with two images or more are split by identity into
    training and validation people (genuine pairs need two images); people with one image train as classes
    of their own when `singletons` is 'classes' (never validated), and are left out when it is 'leave_out'."""

    with_pairs: int          # people with two images or more
    pair_images: int         # their images
    single: int              # people with one image
    singletons: str          # 'leave_out' or 'classes'
    val_fraction: float      # of the people with pairs, held out for validation

    @property
    def training_people(self) -> int:
        """People whose images train (about): those with pairs not held out, and the single ones if kept."""
        held_out = round(self.with_pairs * self.val_fraction)
        return self.with_pairs - held_out + (self.single if self.singletons == "classes" else 0)

    def lines(self) -> list[str]:
        """What the Data page says, one sentence a line."""
        held_out = round(self.with_pairs * self.val_fraction)
        lines = [f"{_people(self.with_pairs)} with two images or more ({self.pair_images:,} images) train and "
                 f"validate: split by identity, about {self.with_pairs - held_out:,} to train and {held_out:,} "
                 f"held out ({self.val_fraction:.0%}) to validate on, never trained on."]
        single = _people(self.single)
        if not self.single:
            lines.append("Nobody has a single image.")
        elif self.singletons == "classes":
            lines.append(f"{single} with one image {'trains' if self.single == 1 else 'train'} as classes of their "
                         "own, with augmented views (singletons = classes), and never validate: a genuine pair "
                         "needs two images.")
        else:
            lines.append(f"{single} with one image {'is' if self.single == 1 else 'are'} left out (singletons = "
                         "leave_out); with singletons = classes on the Train page they train as classes of their own.")
        return lines


def _people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


def who_trains(sizes: dict[str, int], singletons: str = "leave_out", val_fraction: float = 0.25) -> WhoTrains:
    """Who of a dataset would train and how, from the images of every identity (`identity_sizes`);
    identities with no image count for nothing."""
    pairs = [count for count in sizes.values() if count >= 2]
    return WhoTrains(len(pairs), sum(pairs), sum(count == 1 for count in sizes.values()), singletons, val_fraction)


def identity_sizes(source: str, counts: list[dict], data_dir: str | Path = "data", cut: str = "whole"
                   ) -> dict[str, int]:
    """The images of every identity of a dataset, single-image ones included: `counts` (the rows `preview`
    gives, which for a folder small enough to decode hold only identities with two readable images or more)
    with the folder's other identities added, their files read to count those that can be. `cut` as for
    `preview` ('align' only once the folder's faces are prepared)."""
    sizes = {row["identity"]: row["images"] for row in counts}
    opened = open_source(source, data_dir)
    if opened.folder is None:
        return sizes
    for name, files in opened.images(cut).identities.items():
        if name not in sizes:
            sizes[name] = sum(_readable(path) for path in files)
    return sizes


def _readable(path: Path) -> bool:
    try:
        load_image(path, 16, "grey")
        return True
    except ImageError:
        return False


def sample_grid(dataset: FaceDataset, identities: int = 8, per_identity: int = 6,
                seed: int = 0) -> list[tuple[str, list[torch.Tensor]]]:
    """Up to `per_identity` images (C, H, W) of each of up to `identities` seeded-random identities."""
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(dataset.identities), min(identities, len(dataset.identities)), replace=False))
    labels = dataset.labels.numpy()
    grid = []
    for label in chosen:
        members = np.flatnonzero(labels == label)[:per_identity]
        grid.append((dataset.identities[label], [dataset.images[i] for i in members]))
    return grid


def sample_pairs(dataset: FaceDataset, n: int = 4, seed: int = 0) -> dict[str, list[tuple[int, int]]]:
    """`n` seeded genuine pairs (same identity) and `n` impostor pairs, as image index pairs."""
    rng = np.random.default_rng(seed)
    labels = dataset.labels.numpy()
    by_label = [np.flatnonzero(labels == c) for c in range(len(dataset.identities))]
    usable = [c for c, members in enumerate(by_label) if len(members) >= 2]
    genuine, impostor = [], []
    for _ in range(n):
        c = rng.choice(usable)
        i, j = rng.choice(by_label[c], 2, replace=False)
        genuine.append((int(i), int(j)))
        a, b = rng.choice(len(by_label), 2, replace=False)
        impostor.append((int(rng.choice(by_label[a])), int(rng.choice(by_label[b]))))
    return {"genuine": genuine, "impostor": impostor}


def augmentation_examples(image: torch.Tensor, strength: float = 1.0, n: int = 6, seed: int = 0) -> list[torch.Tensor]:
    """`n` augmented versions (C, H, W) uint8 of one image (C, H, W) uint8, as training would see them."""
    augment = Augmenter(strength, seed=seed)
    batch = to_unit(image[None]).expand(n, -1, -1, -1).contiguous()
    return list(augment(batch).mul(255).round().clamp(0, 255).to(torch.uint8))
