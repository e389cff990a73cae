"""The enrolled people: a folder of their face images and their embeddings by one trained model, and the
decisions made against them, 1:1 (verify a claim) and 1:N (identify, or answer "unknown").

A gallery is a folder: `identities/<name>/NNNNNN.png` holds the enrolled face images (the source of
truth), and `embeddings/<model fingerprint>.pt` caches their embeddings for one trained model, computed
again for another model. Enrolling a person embeds only their images; no retraining.

What is enrolled at one moment is an `Enrolled`, never changed once made: enrolment and removal make a
new one, so a decision drawn while someone is enrolled in another tab sees one whole gallery, its
calibration (`calibration.py`) and its embeddings alike. Decisions take their rule (`decisions.Rule`):
the threshold, where it comes from and how sure a decision is.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch
from PIL import Image

from ..data.images import IMAGE_EXTENSIONS, load_image
from ..distances import Distance
from ..errors import GalleryError, RunError
from ..faces.prepare import stored_face
from ..runs.files import load_torch, save_torch
from ..runs.trained import TrainedModel
from ..decisions import GalleryCalibration, Rule, calibrate

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
    confidence: float | None = None  # p(same person) at this distance, fitted on the gallery; None: no fit
    rule: Rule | None = None


@dataclass
class Identification:
    identity: str | None   # None: unknown, nobody is within the threshold
    distance: float
    threshold: float
    candidates: list[Match] = field(default_factory=list)
    confidence: float | None = None  # p(same person) of the nearest enrolled person
    rule: Rule | None = None


@dataclass(frozen=True)
class Enrolled:
    """The enrolled images at one moment: their files (relative to the gallery), their people and their
    embeddings (M, D), compared by `distance`."""

    files: tuple[str, ...]
    names: tuple[str, ...]
    embeddings: torch.Tensor
    distance: Distance

    def identities(self) -> dict[str, int]:
        """Enrolled names and their image counts."""
        counts: dict[str, int] = {}
        for name in self.names:
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items()))

    @cached_property
    def calibration(self) -> GalleryCalibration:
        """The enrolled people compared with each other: what the gallery's thresholds are drawn from.
        Computed once per gallery state, so a target changed on the page re-embeds and recompares nothing."""
        return calibrate(self.embeddings, list(self.names), self.distance)

    def embedding_of(self, file: str) -> torch.Tensor:
        """The embedding (1, D) of one enrolled image, by its file (relative to the gallery)."""
        k = self.files.index(file)
        return self.embeddings[k:k + 1]

    def _distances(self, query: torch.Tensor) -> torch.Tensor:
        """Distances (M,) from one query embedding (1, D) to every enrolled embedding."""
        return self.distance(query.expand(len(self.embeddings), -1), self.embeddings)

    def _per_identity(self, distances: torch.Tensor) -> list[Match]:
        best: dict[str, Match] = {}
        for name, file, d in zip(self.names, self.files, distances.tolist()):
            if name not in best or d < best[name].distance:
                best[name] = Match(name, d, file)
        return sorted(best.values(), key=lambda m: m.distance)

    def verify(self, embedding: torch.Tensor, claimed: str, rule: Rule, top_k: int = 3) -> Verification:
        """1:1: is this embedding (1, D) the claimed person? Accepted when the distance to their nearest
        enrolled image is at most the rule's threshold."""
        claimed = check_identity_name(claimed)
        if claimed not in self.names:
            raise GalleryError(f"{claimed!r} is not enrolled; enrolled: {', '.join(self.identities()) or 'nobody'}")
        distances = self._distances(embedding)
        own = sorted((Match(claimed, d, f) for n, f, d in zip(self.names, self.files, distances.tolist())
                      if n == claimed), key=lambda m: m.distance)
        return Verification(claimed, own[0].distance, rule.threshold, rule.accepts(own[0].distance), own[:top_k],
                            rule.confidence_at(own[0].distance), rule)

    def identify(self, embedding: torch.Tensor, rule: Rule, top_k: int = 5) -> Identification:
        """1:N: the nearest enrolled person when within the rule's threshold, else unknown (None)."""
        if not self.names:
            raise GalleryError("nobody is enrolled yet; enrol someone first")
        ranked = self._per_identity(self._distances(embedding))
        best = ranked[0]
        known = rule.accepts(best.distance)
        return Identification(best.identity if known else None, best.distance, rule.threshold, ranked[:top_k],
                              rule.confidence_at(best.distance), rule)


class Gallery:
    """The enrolled identities of one folder, embedded by one trained model. `now()` is what is enrolled
    at this moment; enrolment and removal, from any thread, replace it whole."""

    def __init__(self, root: str | Path, model: TrainedModel):
        self.root = Path(root)
        self.model = model
        self.problems: list[str] = []  # what could not be read, for people
        self.notes: list[str] = []     # what was done that people should know
        self._writing = threading.Lock()
        try:
            (self.root / "identities").mkdir(parents=True, exist_ok=True)
            (self.root / "embeddings").mkdir(exist_ok=True)
        except OSError as exc:
            raise GalleryError(f"cannot use {self.root} as a gallery: {exc.strerror or exc}. It must be a "
                               "folder this program can write (set SIAMESE_GALLERY_DIR, or --gallery).") from None
        self._enrolled = self._load()

    @property
    def cache_path(self) -> Path:
        return self.root / "embeddings" / f"{self.model.fingerprint}.pt"

    def now(self) -> Enrolled:
        return self._enrolled

    def identities(self) -> dict[str, int]:
        return self._enrolled.identities()

    def folders(self) -> list[str]:
        """Every person with a folder on disk, including one whose images could not be embedded (see
        `problems`): the list to offer for removal, so unreadable images can still be deleted."""
        return sorted(p.name for p in (self.root / "identities").iterdir() if p.is_dir())

    def _image_files(self) -> list[tuple[str, Path]]:
        found = []
        for folder in sorted(p for p in (self.root / "identities").iterdir() if p.is_dir()):
            found += [(folder.name, f) for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_EXTENSIONS]
        return found

    def _enrolled_as(self, files, names, embeddings) -> Enrolled:
        return Enrolled(tuple(files), tuple(names), embeddings, self.model.distance)

    def _load(self) -> Enrolled:
        on_disk = self._image_files()
        files = [str(path.relative_to(self.root)) for _, path in on_disk]
        if self.cache_path.exists():
            try:
                cached = load_torch(self.cache_path)
                if cached["files"] == files and len(cached["names"]) == len(files) == len(cached["embeddings"]):
                    return self._enrolled_as(files, cached["names"], cached["embeddings"])
                if cached["files"] == files:
                    raise RunError("its rows do not match the enrolled images")
            except (RunError, KeyError, TypeError) as exc:
                self.problems.append(f"the gallery's embedding file {self.cache_path} was corrupt "
                                     f"({exc}); the embeddings were recomputed from the enrolled images")
                log.warning(self.problems[-1])
        elif on_disk and any((self.root / "embeddings").glob("*.pt")):
            # Enrolled under another run's model, whose embeddings (and calibration) are not this one's.
            self.notes.append(f"The {len(on_disk)} enrolled images were embedded again with run "
                              f"{self.model.run_dir.name}'s model: they were enrolled under another run, and the "
                              "gallery's thresholds are calibrated on this model's distances.")
        kept_files, names, embeddings = [], [], []
        for name, path in on_disk:
            try:
                embeddings.append(self.model.embed(self._read(path)))
            except Exception as exc:  # noqa: BLE001 - one unreadable image must not hide the others
                self.problems.append(f"enrolled image {path} could not be embedded ({exc}); it was skipped")
                continue
            kept_files.append(str(path.relative_to(self.root)))
            names.append(name)
        enrolled = self._enrolled_as(kept_files, names, torch.cat(embeddings) if embeddings else torch.empty(0, 0))
        self._save_cache(enrolled)
        return enrolled

    def _read(self, path: Path) -> torch.Tensor:
        return load_image(path, self.model.config.input_size, self.model.config.colour)[None]

    def _save_cache(self, enrolled: Enrolled) -> None:
        save_torch(self.cache_path, {"files": list(enrolled.files), "names": list(enrolled.names),
                                     "embeddings": enrolled.embeddings})

    def enroll(self, name: str, images: list[Image.Image]) -> int:
        """Add images of a person (new or already enrolled); returns how many images they now have."""
        name = check_identity_name(name)
        if not images:
            raise GalleryError(f"no images given to enrol {name!r}")
        folder = self.root / "identities" / name
        with self._writing:
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
            before = self._enrolled
            added = torch.cat(new_embeddings)
            enrolled = self._enrolled_as(before.files + tuple(new_files), before.names + (name,) * len(new_files),
                                         added if before.embeddings.numel() == 0 else torch.cat([before.embeddings,
                                                                                                  added]))
            self._save_cache(enrolled)
            self._enrolled = enrolled
        return enrolled.names.count(name)

    def remove(self, name: str) -> None:
        """Delete a person: their images and their embeddings, from disk and memory, for every model."""
        name = check_identity_name(name)
        with self._writing:
            before = self._enrolled
            if name not in before.names and not (self.root / "identities" / name).exists():
                raise GalleryError(f"{name!r} is not enrolled")
            try:
                shutil.rmtree(self.root / "identities" / name, ignore_errors=False)
                for other in (self.root / "embeddings").glob("*.pt"):
                    other.unlink()  # other models' caches hold the person too; they are rebuilt when next used
            except OSError as exc:
                raise GalleryError(f"cannot delete {name!r} from {self.root}: {exc.strerror or exc} "
                                   f"({exc.filename}). Check that the gallery folder is writable.") from None
            keep = [i for i, n in enumerate(before.names) if n != name]
            enrolled = self._enrolled_as([before.files[i] for i in keep], [before.names[i] for i in keep],
                                         before.embeddings[keep] if keep else torch.empty(0, 0))
            self._save_cache(enrolled)
            self._enrolled = enrolled
