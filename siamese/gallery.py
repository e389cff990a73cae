"""Enrolled identities, verification (1:1) and identification (1:N) against a trained model.

A gallery is a folder: `identities/<name>/NNNNNN.png` holds the enrolled face images (the source of
truth), and `embeddings/<model fingerprint>.pt` caches their embeddings for one trained model, recomputed
when the model changes. Enrolling a person embeds only their images; no retraining. Decisions take the
threshold as an argument: it is the run's (`runs.folder.decision_threshold`), read when deciding.
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from .data.images import IMAGE_EXTENSIONS, load_image
from .errors import GalleryError, RunError, SiameseError
from .evaluate.calibration import Calibration
from .faces.prepare import photo_cut, prepare_face, stored_face
from .runs.files import load_torch, save_torch
from .runs.trained import TrainedModel

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 64
MAX_NAME_BYTES = 255


def check_identity_name(name: str) -> str:
    """The name, stripped, if it is safe as a folder name; GalleryError saying why otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise GalleryError("the identity name is empty; type a name")
    name = unicodedata.normalize("NFC", name.strip())
    if len(name) > MAX_NAME_LENGTH or len(name.encode()) > MAX_NAME_BYTES:
        raise GalleryError(f"the identity name is {len(name)} characters long; at most {MAX_NAME_LENGTH} "
                           f"(and {MAX_NAME_BYTES} bytes in UTF-8, the limit of a folder name)")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise GalleryError("the identity name contains control characters; use letters, digits and spaces")
    if re.search(r"[/\\:]", name) or name in (".", "..") or name.startswith("."):
        raise GalleryError(f"the identity name {name!r} contains a path separator or starts with '.'; "
                           "use letters, digits, spaces, '-' and '_'")
    return name


@dataclass
class Match:
    identity: str
    distance: float
    image: str = ""


@dataclass
class Verification:
    claimed: str
    distance: float        # to the claimed identity's nearest enrolled image
    threshold: float
    accepted: bool
    nearest: list[Match] = field(default_factory=list)
    confidence: float | None = None  # p(same person) at this distance, when the run has a calibration


@dataclass
class Identification:
    identity: str | None   # None: unknown, nobody is within the threshold
    distance: float
    threshold: float
    candidates: list[Match] = field(default_factory=list)
    confidence: float | None = None  # p(same person) of the nearest enrolled person


class Gallery:
    """The enrolled identities of one folder, embedded by one trained model."""

    def __init__(self, root: str | Path, model: TrainedModel):
        self.root = Path(root)
        self.model = model
        self.problems: list[str] = []
        try:
            (self.root / "identities").mkdir(parents=True, exist_ok=True)
            (self.root / "embeddings").mkdir(exist_ok=True)
        except OSError as exc:
            raise GalleryError(f"cannot use {self.root} as a gallery: {exc.strerror or exc}. It must be a "
                               "folder this program can write (set SIAMESE_GALLERY_DIR, or --gallery).") from None
        self.files: list[str] = []
        self.names: list[str] = []
        self.embeddings = torch.empty(0, 0)
        self._load()

    @property
    def cache_path(self) -> Path:
        return self.root / "embeddings" / f"{self.model.fingerprint}.pt"

    def identities(self) -> dict[str, int]:
        """Enrolled names and their image counts."""
        counts: dict[str, int] = {}
        for name in self.names:
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items()))

    def folders(self) -> list[str]:
        """Every person with a folder on disk, including one whose images could not be embedded (see
        `problems`): the list to offer for removal, so unreadable images can still be deleted."""
        return sorted(p.name for p in (self.root / "identities").iterdir() if p.is_dir())

    def _image_files(self) -> list[tuple[str, Path]]:
        found = []
        for folder in sorted(p for p in (self.root / "identities").iterdir() if p.is_dir()):
            found += [(folder.name, f) for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_EXTENSIONS]
        return found

    def _load(self) -> None:
        on_disk = self._image_files()
        files = [str(path.relative_to(self.root)) for _, path in on_disk]
        if self.cache_path.exists():
            try:
                cached = load_torch(self.cache_path)
                if cached["files"] == files and len(cached["names"]) == len(files) == len(cached["embeddings"]):
                    self.files, self.names, self.embeddings = files, cached["names"], cached["embeddings"]
                    return
                if cached["files"] == files:
                    raise RunError("its rows do not match the enrolled images")
            except (RunError, KeyError, TypeError) as exc:
                self.problems.append(f"the gallery's embedding file {self.cache_path} was corrupt "
                                     f"({exc}); the embeddings were recomputed from the enrolled images")
                log.warning(self.problems[-1])
        self.files, self.names = [], []
        embeddings = []
        for name, path in on_disk:
            try:
                embeddings.append(self.model.embed(self._read(path)))
            except Exception as exc:  # noqa: BLE001 - one unreadable image must not hide the others
                self.problems.append(f"enrolled image {path} could not be embedded ({exc}); it was skipped")
                continue
            self.files.append(str(path.relative_to(self.root)))
            self.names.append(name)
        self.embeddings = torch.cat(embeddings) if embeddings else torch.empty(0, 0)
        self._save_cache()

    def _read(self, path: Path) -> torch.Tensor:
        return load_image(path, self.model.config.input_size, self.model.config.colour)[None]

    def _save_cache(self) -> None:
        save_torch(self.cache_path, {"files": self.files, "names": self.names, "embeddings": self.embeddings})

    def enroll(self, name: str, images: list[Image.Image]) -> int:
        """Add images of a person (new or already enrolled); returns how many images they now have."""
        name = check_identity_name(name)
        if not images:
            raise GalleryError(f"no images given to enrol {name!r}")
        folder = self.root / "identities" / name
        new_files, new_embeddings, written = [], [], []
        try:
            folder.mkdir(exist_ok=True)
            start = max((int(p.stem) for p in folder.glob("*.png") if p.stem.isdigit()), default=0) + 1
            for offset, image in enumerate(images):
                path = folder / f"{start + offset:06d}.png"
                written.append(path)
                stored_face(image).save(path)
                new_files.append(str(path.relative_to(self.root)))
                new_embeddings.append(self.model.embed(self._read(path)))
        except BaseException as exc:
            # All or nothing: a half-enrolled person would be matched on some of their images only.
            for path in written:
                path.unlink(missing_ok=True)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            if isinstance(exc, OSError):
                raise GalleryError(f"cannot store images of {name!r} in {folder}: {exc.strerror or exc}; "
                                   "nothing was enrolled") from None
            raise
        self.files += new_files
        self.names += [name] * len(new_files)
        added = torch.cat(new_embeddings)
        self.embeddings = added if self.embeddings.numel() == 0 else torch.cat([self.embeddings, added])
        self._save_cache()
        return self.names.count(name)

    def remove(self, name: str) -> None:
        """Delete a person: their images and their embeddings, from disk and memory, for every model."""
        name = check_identity_name(name)
        if name not in self.names and not (self.root / "identities" / name).exists():
            raise GalleryError(f"{name!r} is not enrolled")
        try:
            shutil.rmtree(self.root / "identities" / name, ignore_errors=False)
            for other in (self.root / "embeddings").glob("*.pt"):
                other.unlink()  # other models' caches hold the person too; they are rebuilt when next used
        except OSError as exc:
            raise GalleryError(f"cannot delete {name!r} from {self.root}: {exc.strerror or exc} "
                               f"({exc.filename}). Check that the gallery folder is writable.") from None
        keep = [i for i, n in enumerate(self.names) if n != name]
        self.files = [self.files[i] for i in keep]
        self.names = [self.names[i] for i in keep]
        self.embeddings = self.embeddings[keep] if keep else torch.empty(0, 0)
        self._save_cache()

    def _distances(self, query: torch.Tensor) -> torch.Tensor:
        """Distances (M,) from one query embedding (1, D) to every enrolled embedding."""
        return self.model.distance(query.expand(len(self.embeddings), -1), self.embeddings)

    def _per_identity(self, distances: torch.Tensor) -> list[Match]:
        best: dict[str, Match] = {}
        for name, file, d in zip(self.names, self.files, distances.tolist()):
            if name not in best or d < best[name].distance:
                best[name] = Match(name, d, file)
        return sorted(best.values(), key=lambda m: m.distance)

    def verify(self, image: torch.Tensor, claimed: str, threshold: float, top_k: int = 3,
               calibration: Calibration | None = None) -> Verification:
        """1:1: is this (1, C, H, W) uint8 image the claimed person? Accept when the distance to their
        nearest enrolled image is at most `threshold`; with `calibration`, say how sure."""
        claimed = check_identity_name(claimed)
        if claimed not in self.names:
            raise GalleryError(f"{claimed!r} is not enrolled; enrolled: {', '.join(self.identities()) or 'nobody'}")
        distances = self._distances(self.model.embed(image))
        own = sorted((Match(claimed, d, f) for n, f, d in zip(self.names, self.files, distances.tolist())
                      if n == claimed), key=lambda m: m.distance)
        return Verification(claimed, own[0].distance, threshold, own[0].distance <= threshold, own[:top_k],
                            calibration.confidence(own[0].distance) if calibration else None)

    def identify(self, image: torch.Tensor, threshold: float, top_k: int = 5,
                 calibration: Calibration | None = None) -> Identification:
        """1:N: the nearest enrolled person if within `threshold`, else unknown (identity None); with
        `calibration`, how sure the nearest is the same person."""
        if not self.names:
            raise GalleryError("nobody is enrolled yet; enrol someone first")
        ranked = self._per_identity(self._distances(self.model.embed(image)))
        best = ranked[0]
        known = best.distance <= threshold
        return Identification(best.identity if known else None, best.distance, threshold, ranked[:top_k],
                              calibration.confidence(best.distance) if calibration else None)


def enrol_photos(gallery: Gallery, name: str, photos: list[tuple[str, bytes]], detect: bool = True,
                 allow_largest: bool = False) -> int:
    """Enrol a person from photos, (label, bytes) each, all or nothing: every face is found and cut as for
    verification, the way the run's faces were cut (`faces.prepare.photo_cut`), and a photo without
    exactly one face stops the lot, named with its reason. Returns how many images the person now has."""
    try:
        check_identity_name(name)
    except GalleryError as exc:
        raise GalleryError(f"Nothing was enrolled: {exc}") from None
    crops, problems = [], []
    for label, data in photos:
        try:
            crops.append(prepare_face(data, photo_cut(gallery.model.faces, detect), allow_largest).crop)
        except SiameseError as exc:
            problems.append(f"- {label}: {exc}")
    if problems:
        raise GalleryError("Nothing was enrolled. Remove or replace these images and try again:\n" +
                           "\n".join(problems))
    return gallery.enroll(name, crops)  # its own failures say that nothing was enrolled
