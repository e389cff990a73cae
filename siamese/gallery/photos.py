"""Photos made ready for the gallery and compared: a person enrolled from photos, all or nothing, and a
webcam burst sorted, their faces found as every photo's are (`faces.prepare.faces_of`);
two photos compared (the first demo of a Siamese network); and a run's validation people enrolled from the
images the run itself uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..data.images import to_pil
from ..data.sources import open_source
from ..errors import DatasetError, GalleryError, SiameseError
from ..faces.prepare import FaceCrop, faces_of, open_photo
from ..runs.files import read_json
from ..runs.folder import RunPaths, run_config
from ..decisions import Rule
from ..runs.trained import Probe, TrainedModel, recorded_faces
from .store import Gallery, check_identity_name


def enrol_photos(gallery: Gallery, name: str, photos: list[tuple[str, bytes]], detect: bool = True,
                 allow_largest: bool = False) -> int:
    """Enrol a person from photos, (label, bytes) each, all or nothing: every face is found and cut as for
    verification, the way the run's faces were cut (`faces.prepare.photo_cut`), and a photo without
    exactly one face stops the lot, named with its reason. Returns how many images the person now has."""
    try:
        check_identity_name(name)
    except GalleryError as exc:
        raise GalleryError(f"Nothing was enrolled: {exc}") from None
    faces, problems = faces_of([data for _, data in photos], gallery.model.cut(detect), allow_largest)
    if problems:
        raise GalleryError("Nothing was enrolled. Remove or replace these images and try again:\n" +
                           "\n".join(f"- {photos[i][0]}: {reason}" for i, reason in problems.items()))
    return gallery.enroll(name, [face.crop for face in faces])  # its own failures say that nothing was enrolled


@dataclass
class Comparison:
    """Two photos compared. `probes` holds each photo's face, input and embedding, None when it was not
    given or has no usable face (`problems` says which and why); the rest is None until both have one."""

    probes: tuple[Probe | None, Probe | None]
    rule: Rule
    problems: list[str] = field(default_factory=list)
    distance: float | None = None
    same: bool | None = None        # the rule accepts the distance: the same person
    confidence: float | None = None  # p(same person) at this distance, fitted on the gallery; None: no fit

    @property
    def faces(self) -> tuple[FaceCrop | None, FaceCrop | None]:
        return tuple(probe.face if probe is not None else None for probe in self.probes)

    @property
    def threshold(self) -> float:
        return self.rule.threshold


def compare_photos(trained: TrainedModel, first: bytes | Image.Image | None, second: bytes | Image.Image | None,
                   rule: Rule, detect: bool = True, allow_largest: bool = False) -> Comparison:
    """Are the two photos of one person? Each is made into a probe by the run's own step (its face found
    and cut the run's way, unless `detect` is off, then embedded), and their distance decided by `rule` (a
    'compare' rule: `decisions.decision_rule`). A photo that is None is not given yet; one without exactly
    one face is named in `problems`, never raised, so the other photo still shows."""
    probes, problems = trained.probes([first, second], detect, allow_largest)
    result = Comparison((probes[0], probes[1]), rule,
                        [f"{('First', 'Second')[i]} photo: {reason}" for i, reason in problems.items()])
    if probes[0] is None or probes[1] is None:
        return result
    result.distance = float(trained.distance(probes[0].embedding, probes[1].embedding)[0])
    result.same = rule.accepts(result.distance)
    result.confidence = rule.confidence_at(result.distance)
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
