"""Face datasets: identity folders decoded once into memory, the built-in sources, and the identity split.

A dataset on disk is a folder of identity folders, `root/<identity>/<image>` (the layout of LFW and ORL).
In memory it is a `FaceDataset`: every image decoded, converted and resized once into one uint8 tensor
`(N, C, H, W)`, so an epoch never touches the disk again. Folders too big for that (CASIA-WebFace,
VGGFace2) are read as `ImageFiles` instead, decoded batch by batch by DataLoader workers.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DatasetError, ImageError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".webp"}
BUILTIN_SOURCES = ("digits", "olivetti", "lfw")
# Largest image we agree to decode: 40 megapixels is a large phone photo; a header that claims more is
# treated as a decompression bomb and refused before any pixel is decoded.
MAX_IMAGE_PIXELS = 40_000_000
TOO_LARGE = (f"its header claims far more than {MAX_IMAGE_PIXELS:,} pixels, too large to decode safely; "
             "resize it first")
# Folders that are never identities: hidden ones, and the resource forks macOS adds to the zips it makes.
IGNORED_FOLDERS = (".", "__MACOSX")


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


def load_image(source: str | Path | bytes, size: int, colour: str = "grey") -> torch.Tensor:
    """Decode one image file (or its bytes) into a (C, size, size) uint8 tensor; C = 1 for grey, 3 for rgb.

    Handles every PIL mode a phone or scanner produces (CMYK, 16-bit, palette, alpha) and EXIF rotation.
    Raises ImageError for anything that is not a readable image, or is too large to decode safely.
    """
    name = "uploaded image" if isinstance(source, bytes) else str(source)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageError(f"{name}: {width}x{height} pixels is too large to decode safely "
                                 f"(limit {MAX_IMAGE_PIXELS:,} pixels); resize it first")
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            img = ImageOps.exif_transpose(img)
            img = to_mode(img, "L" if colour == "grey" else "RGB")
            img = img.resize((size, size), Image.Resampling.BILINEAR)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: {TOO_LARGE}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: not a readable image ({unreadable_reason(exc)})") from None
    array = np.asarray(img, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def unreadable_reason(exc: Exception) -> str:
    """PIL's reason an image cannot be read, for people: without the repr of an in-memory file it names."""
    if isinstance(exc, UnidentifiedImageError):
        return "not a format this tool reads: " + ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
    return re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc)) or type(exc).__name__


def to_mode(img: Image.Image, mode: str) -> Image.Image:
    """Convert any PIL image to 'L' or 'RGB', scaling 16-bit and float images and flattening alpha on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(img, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        img = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert(mode)


@dataclass
class FolderScan:
    """What a folder of identity folders holds: image paths per identity, and what was skipped and why."""

    identities: dict[str, list[Path]]
    skipped_files: int = 0
    problems: list[str] = field(default_factory=list)


def scan_folder(root: str | Path) -> FolderScan:
    """List the images of each identity folder under `root`, sorted; non-image files are counted, not read."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; give a folder that holds one folder per identity")
    scan = FolderScan(identities={})
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(IGNORED_FOLDERS)):
        images = []
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith("."):
                images.append(path)
            elif path.is_file():
                scan.skipped_files += 1
        scan.identities[folder.name] = images
    loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if loose:
        scan.problems.append(f"{len(loose)} image(s) directly in {root} were ignored: "
                             "images must sit in one folder per identity")
    if scan.skipped_files:
        scan.problems.append(f"{scan.skipped_files} file(s) that are not images "
                             f"({', '.join(sorted(IMAGE_EXTENSIONS))}) were skipped")
    return scan


def load_folder(root: str | Path, size: int, colour: str = "grey") -> FaceDataset:
    """Decode a folder of identity folders. Unreadable images are skipped and listed in `problems`;
    identities left with fewer than 2 images are dropped with a warning (they give no genuine pair)."""
    scan = scan_folder(root)
    return decode_identities(scan.identities, size, colour, Path(root).name, scan.problems)


def decode_identities(identities: dict[str, list[Path]], size: int, colour: str, name: str,
                      problems: list[str] | None = None) -> FaceDataset:
    """Decode the image files of each identity into one dataset, skipping unreadable images and
    identities left with fewer than 2 images; every skip is listed in `problems` and logged."""
    images, labels, paths, kept = [], [], [], []
    problems = list(problems or [])
    for identity, files in identities.items():
        decoded = []
        for path in files:
            try:
                decoded.append((load_image(path, size, colour), str(path)))
            except ImageError as exc:
                problems.append(f"skipped {exc}")
        if len(decoded) < 2:
            problems.append(f"identity '{identity}' has {len(decoded)} readable image(s); "
                            "at least 2 are needed for genuine pairs, so it was left out")
            continue
        for tensor, path in decoded:
            images.append(tensor)
            labels.append(len(kept))
            paths.append(path)
        kept.append(identity)
    for problem in problems:
        log.warning(problem)
    return _finish(images, labels, kept, paths, name, problems)


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


def load_builtin(name: str, size: int, colour: str, data_dir: str | Path = "data") -> FaceDataset:
    """scikit-learn's bundled digits (offline), or its Olivetti / LFW fetchers cached under `data_dir`."""
    from sklearn import datasets as skd

    cache = Path(data_dir) / "sklearn"
    if name == "digits":
        digits = skd.load_digits()
        return from_arrays(digits.images, digits.target, size, colour, "digits",
                           [f"digit-{d}" for d in range(10)])
    cache.mkdir(parents=True, exist_ok=True)
    try:
        if name == "olivetti":
            faces = skd.fetch_olivetti_faces(data_home=str(cache))
            return from_arrays(faces.images, faces.target, size, colour, "olivetti",
                               [f"person-{i:02d}" for i in range(40)])
        if name == "lfw":
            people = skd.fetch_lfw_people(data_home=str(cache), min_faces_per_person=10, resize=1.0)
            return from_arrays(people.images, people.target, size, colour, "lfw", list(people.target_names))
    except OSError as exc:
        raise DatasetError(
            f"could not download the '{name}' dataset ({exc}). Connect to the internet once (it is then "
            f"cached under {cache}), or use a folder of identity folders, a .zip of them, or 'digits'."
        ) from None
    raise DatasetError(f"unknown built-in dataset '{name}'; known: {', '.join(BUILTIN_SOURCES)}")


def builtin_is_cached(name: str, data_dir: str | Path = "data") -> bool:
    """Whether a fetched built-in (olivetti, lfw) is already on disk, so loading it needs no network."""
    cache = Path(data_dir) / "sklearn"
    marker = {"olivetti": "olivetti.pkz", "lfw": "lfw_home"}.get(name)
    return name == "digits" or (marker is not None and (cache / marker).exists())


def find_datasets(data_dir: str | Path = "data") -> dict[str, Path]:
    """Identity-folder datasets under `data_dir`: folders whose sub-folders hold images."""
    data_dir = Path(data_dir)
    found = {}
    if not data_dir.is_dir():
        return found
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "sklearn"))):
        sub = [p for p in folder.iterdir() if p.is_dir()]
        if len(sub) >= 2 and any(f.suffix.lower() in IMAGE_EXTENSIONS for s in sub[:5] for f in s.iterdir()):
            found[folder.name] = folder
    return found


def load_dataset(source: str, size: int, colour: str = "grey", data_dir: str | Path = "data") -> FaceDataset:
    """Load a dataset by name: a built-in, a dataset folder under `data_dir`, a folder path, or a .zip."""
    folder = dataset_folder(source, data_dir)
    if folder is None:
        return load_builtin(source, size, colour, data_dir)
    return load_folder(folder, size, colour)


def dataset_folder(source: str, data_dir: str | Path = "data") -> Path | None:
    """The folder of identity folders that `source` names (a .zip is extracted under `data_dir` first),
    or None for a built-in dataset."""
    if source in BUILTIN_SOURCES:
        return None
    path = Path(source).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        from .zips import extracted_zip  # zips builds on this module

        return extracted_zip(path, data_dir)
    if path.is_dir():
        return path
    named = find_datasets(data_dir)
    if source in named:
        return named[source]
    known = list(BUILTIN_SOURCES) + sorted(named)
    raise DatasetError(f"no dataset '{source}': give a folder of identity folders, a .zip of them, "
                       f"or one of: {', '.join(known)}")


def sample_identities(files: dict[str, list[Path]], max_images: int, per_identity: int,
                      seed: int) -> dict[str, list[Path]]:
    """A seeded sample of whole identities, each cut to its first `per_identity` files, added until the
    sample holds `max_images` files (and at least 2 identities); in name order."""
    names = sorted(files)
    chosen, images = [], 0
    for i in np.random.default_rng(seed).permutation(len(names)):
        if images >= max_images and len(chosen) >= 2:
            break
        chosen.append(names[i])
        images += min(len(files[names[i]]), per_identity)
    return {name: files[name][:per_identity] for name in sorted(chosen)}


def split_identities(identities: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Split identities (never images) into train and validation, seeded. Both sides get at least 2."""
    if len(identities) < 4:
        raise DatasetError(f"{len(identities)} identities cannot be split into training and validation; "
                           "at least 4 are needed (2 on each side)")
    order = np.random.default_rng(seed).permutation(len(identities))
    n_val = min(max(2, round(len(identities) * val_fraction)), len(identities) - 2)
    val = sorted(identities[i] for i in order[:n_val])
    train = sorted(identities[i] for i in order[n_val:])
    return train, val
