"""Enrolled identities, verification (1:1) and identification (1:N) against a trained model.

A gallery is a folder: `identities/<name>/NNNNNN.png` holds the enrolled face images (the source of
truth), and `embeddings/<model fingerprint>.pt` caches their embeddings for one trained model, recomputed
when the model changes. Enrolling a person embeds only their images; no retraining. Decisions take the
threshold as an argument: it is the run's (`runs.folder.decision_threshold`), read when deciding.

Besides the gallery itself: two photos compared with each other (`compare_photos`, the first demo of a
Siamese network), a burst of webcam snapshots sorted into those with one face (`check_snapshots`), and a
run's validation people enrolled from the images the run itself uses (`enrol_validation_people`).
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

from .data.images import IMAGE_EXTENSIONS, load_image, to_pil
from .data.sources import open_source
from .errors import DatasetError, GalleryError, RunError, SiameseError
from .evaluate.calibration import Calibration
from .faces.prepare import FaceCrop, face_tensor, open_photo, photo_cut, prepare_face, stored_face
from .runs.files import load_torch, read_json, save_torch
from .runs.folder import RunPaths, run_config
from .runs.trained import TrainedModel, recorded_faces

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


def faces_of(photos: list, cut: str, allow_largest: bool = False) -> tuple[list[FaceCrop | None], dict]:
    """The face of each photo (bytes or a PIL image; None for one not given), cut as `cut` says, and,
    by position, why each photo that was given has none: the one loop that enrolment, a comparison and
    a burst share, so they find faces and refuse photos alike."""
    faces, problems = [], {}
    for position, photo in enumerate(photos):
        face = None
        if photo is not None:
            try:
                face = prepare_face(photo, cut, allow_largest)
            except SiameseError as exc:
                problems[position] = str(exc)
        faces.append(face)
    return faces, problems


def enrol_photos(gallery: Gallery, name: str, photos: list[tuple[str, bytes]], detect: bool = True,
                 allow_largest: bool = False) -> int:
    """Enrol a person from photos, (label, bytes) each, all or nothing: every face is found and cut as for
    verification, the way the run's faces were cut (`faces.prepare.photo_cut`), and a photo without
    exactly one face stops the lot, named with its reason. Returns how many images the person now has."""
    try:
        check_identity_name(name)
    except GalleryError as exc:
        raise GalleryError(f"Nothing was enrolled: {exc}") from None
    faces, problems = faces_of([data for _, data in photos], photo_cut(gallery.model.faces, detect), allow_largest)
    if problems:
        raise GalleryError("Nothing was enrolled. Remove or replace these images and try again:\n" +
                           "\n".join(f"- {photos[i][0]}: {reason}" for i, reason in problems.items()))
    return gallery.enroll(name, [face.crop for face in faces])  # its own failures say that nothing was enrolled


def confidence_text(confidence: float | None) -> str:
    """A decision's calibrated confidence for people: '93% likely the same person', or why there is none.
    Never 0 % or 100 %: a logistic fit only approaches them, and a page that says 100 % overstates."""
    if confidence is None:
        return "no calibration saved with this run"
    if confidence < 0.01:
        return "under 1% likely the same person"
    if confidence > 0.99:
        return "over 99% likely the same person"
    return f"{confidence:.0%} likely the same person"


@dataclass
class Comparison:
    """Two photos compared. `faces` holds each photo's face, None when it was not given or has no usable
    face (`problems` says which and why); the rest is None until both photos have one."""

    faces: tuple[FaceCrop | None, FaceCrop | None]
    threshold: float
    problems: list[str] = field(default_factory=list)
    distance: float | None = None
    same: bool | None = None        # distance <= threshold: the same person
    confidence: float | None = None  # p(same person) at this distance, when the run has a calibration


def compare_photos(trained: TrainedModel, first: bytes | Image.Image | None, second: bytes | Image.Image | None,
                   threshold: float, calibration: Calibration | None = None, cut: str = "align",
                   allow_largest: bool = False) -> Comparison:
    """Are the two photos of one person? Each face is found and cut as `cut` says (the run's way:
    `faces.prepare.photo_cut`), both are embedded, and their distance decided at `threshold`. A photo that
    is None is not given yet; one without exactly one face is named in `problems`, never raised, so the
    other photo still shows."""
    faces, problems = faces_of([first, second], cut, allow_largest)
    result = Comparison((faces[0], faces[1]), threshold,
                        [f"{('First', 'Second')[i]} photo: {reason}" for i, reason in problems.items()])
    if faces[0] is None or faces[1] is None:
        return result
    size, colour = trained.config.input_size, trained.config.colour
    embeddings = trained.embed(torch.cat([face_tensor(face.crop, size, colour) for face in faces]))
    result.distance = float(trained.distance(embeddings[:1], embeddings[1:])[0])
    result.same = result.distance <= threshold
    result.confidence = calibration.confidence(result.distance) if calibration else None
    return result


@dataclass
class Snapshots:
    """A burst of snapshots sorted: the photos with exactly one face, kept, and why each other was not."""

    kept: list[bytes]
    skipped: dict[int, str]  # snapshot number, from 1 -> why it was skipped

    @property
    def total(self) -> int:
        return len(self.kept) + len(self.skipped)

    @property
    def message(self) -> str:
        """What happened, for people: how many were kept, and each reason once with its snapshots."""
        if not self.total:
            return "The burst held no snapshots; take it again."
        if not self.skipped:
            return f"All {self.total} snapshots were added."
        by_reason: dict[str, list[int]] = {}
        for number, reason in sorted(self.skipped.items()):
            by_reason.setdefault(reason, []).append(number)
        reasons = "\n".join(f"- snapshot{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}: {reason}"
                            for reason, numbers in by_reason.items())
        if not self.kept:
            return f"None of the {self.total} snapshots was added:\n{reasons}"
        return (f"{len(self.kept)} of {self.total} snapshots were added; {len(self.skipped)} had no usable face "
                f"and were skipped:\n{reasons}")


def check_snapshots(frames: list[bytes], cut: str = "align", allow_largest: bool = False) -> Snapshots:
    """Sort a burst of webcam frames (image bytes each) as single snapshots are: a frame is kept when its
    face is found as `cut` says (exactly one, or the largest with `allow_largest`), else skipped with the
    reason. A frame without a face is expected in a burst (a blink, a turn), so it is counted, not fatal."""
    faces, problems = faces_of(frames, cut, allow_largest)
    return Snapshots([frame for frame, face in zip(frames, faces) if face is not None],
                     {i + 1: reason for i, reason in problems.items()})


@dataclass
class ValidationEnrolment:
    """What `enrol_validation_people` did."""

    enrolled: dict[str, int]  # name -> images enrolled now
    already: list[str]        # validation people enrolled before, left as they were
    problems: list[str] = field(default_factory=list)  # images or people that could not be enrolled

    @property
    def message(self) -> str:
        def names(people) -> str:
            people = list(people)
            return ", ".join(people[:8]) + (f" and {len(people) - 8} more" if len(people) > 8 else "")

        parts = []
        if self.enrolled:
            parts.append(f"Enrolled {len(self.enrolled)} validation people: {names(self.enrolled)} "
                         f"({sum(self.enrolled.values())} images).")
        if self.already:
            parts.append(f"{len(self.already)} were enrolled already and were left as they were"
                         + (f": {names(self.already)}." if not self.enrolled else "."))
        return " ".join(parts) or "The run has no validation people to enrol."


def enrol_validation_people(gallery: Gallery, run_dir: str | Path, data_dir: str | Path = "data",
                            per_person: int = 3) -> ValidationEnrolment:
    """Enrol each validation identity of the run's split, `per_person` images each (the first in the
    folder's order), from the images the run itself uses: its aligned face crops for an 'align' run, the
    images as they are for a 'whole' run, so nothing is detected again. People already in the gallery are
    skipped. DatasetError, saying what to do, when the run's dataset is gone or lost people it used."""
    run_dir = Path(run_dir)
    split = read_json(RunPaths(run_dir).split)
    config = run_config(run_dir)
    on_disk = set(gallery.folders())
    people = [str(name) for name in split.get("validation", [])]
    already = [name for name in people if _gallery_name(name) in on_disk]
    result = ValidationEnrolment({}, already)
    todo = [name for name in people if name not in already]
    if not todo:
        return result
    try:
        images = _first_images(open_source(config.data, data_dir), todo, recorded_faces(run_dir, split),
                               per_person, config, result.problems)
    except DatasetError as exc:
        raise DatasetError(f"run {run_dir.name} was trained on '{config.data}', which cannot be used now "
                           f"({exc}). Put that dataset back as it was, or train a new run.") from None
    for name in todo:
        try:
            check_identity_name(name)
        except GalleryError as exc:
            result.problems.append(f"{name} was not enrolled: {exc}")
            continue
        if not images.get(name):
            result.problems.append(f"{name} was not enrolled: no readable image of them")
            continue
        try:
            gallery.enroll(name, images[name])
        except GalleryError as exc:  # the disk, not the person: the others would fail the same way
            done = len(result.enrolled)
            before = (f" for them; the {done} validation {'person' if done == 1 else 'people'} before them "
                      f"{'was' if done == 1 else 'were'} enrolled") if done else ""
            raise GalleryError(f"{exc}{before}") from None
        result.enrolled[name] = len(images[name])
    return result


def _gallery_name(name: str) -> str:
    """The folder name the gallery gives `name` (or the name itself when the gallery would refuse it)."""
    try:
        return check_identity_name(name)
    except GalleryError:
        return name


def _first_images(source, names: list[str], cut: str, count: int, config, problems: list[str]) -> dict:
    """name -> up to `count` PIL images of each, the run's way: files of its face cut for folders (an
    unreadable one is noted in `problems` and the next is taken), the decoded images for built-ins held
    as arrays."""
    if source.folder is None:
        dataset = source.load(config.input_size, config.colour, names)
        found: dict[str, list[Image.Image]] = {}
        for image, label in zip(dataset.images, dataset.labels):
            found.setdefault(dataset.identities[int(label)], []).append(to_pil(image))
        return {name: images[:count] for name, images in found.items()}
    files = source.files_of(names, cut).identities
    found = {}
    for name in names:
        found[name] = []
        for path in files.get(name, []):
            if len(found[name]) == count:
                break
            try:
                found[name].append(open_photo(path.read_bytes()))
            except (OSError, SiameseError) as exc:
                problems.append(f"{path} was skipped: {exc}")
    return found
