"""The webcam demo, measured: people never seen in training enrolled from three photos each through the
face pipeline the Verify page uses, then their other photos checked: claims of the right name accepted,
claims of another's name accepted, who-is-this (1:N) answered right, and strangers (people nobody enrolled)
answered "unknown". Each at the run's saved threshold and at the thresholds calibrated on the gallery (the
people enrolled), and with each threshold's confidence measured for how well it is calibrated (expected
calibration error on the checked claims, genuine and impostor alike). With an adaptation, the same again
after the model is adapted to the people enrolled (a short run on their enrolment photos)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from siamese.errors import ImageError
from siamese.evaluate.calibration import expected_calibration_error
from siamese.evaluate.run import validation_scores
from siamese.faces.prepare import face_tensor, photo_cut, prepare_face
from siamese.gallery import Gallery, decision_rule
from siamese.gallery.adapt import create_adaptation
from siamese.runs.folder import run_config
from siamese.runs.trained import load_trained
from siamese.train.loop import train

ENROLLED = 3          # photos enrolled of each person
PROBES = 5            # other photos of each person checked, at most
UNENROLLED = 0.25     # fraction of the people left out of the gallery, to check "unknown"
TARGET = 1e-2         # the gallery's targets: FAR 1 % (1:1), FPIR 1 % (1:N)


def webcam_demo(run: Path, photos: dict[str, list[Path]], data_dir: Path, seed: int = 0,
                adapt_seconds: float | None = None) -> dict:
    """Rates of the demo on `photos` (person -> photo files) of people the run never trained on; with
    `adapt_seconds`, the same people and photos again after the run is adapted to the enrolled people
    for that long (`gallery.adapt`), at the gallery's thresholds calibrated anew: under "adapted"."""
    trained = load_trained(run)
    cut = photo_cut(trained.faces)
    people = [p for p, files in sorted(photos.items()) if len(files) > ENROLLED]
    rng = np.random.default_rng(seed)
    rng.shuffle(people)
    outsiders = people[:max(1, round(len(people) * UNENROLLED))]
    members = people[len(outsiders):]
    no_face = [0]

    def crop(path: Path):
        try:
            return prepare_face(path.read_bytes(), cut, allow_largest=True).crop
        except ImageError:
            no_face[0] += 1
            return None

    enrolment = {person: [c for path in photos[person][:ENROLLED] if (c := crop(path)) is not None]
                 for person in members}
    probe_crops = [(person, c) for person in members for path in photos[person][ENROLLED:ENROLLED + PROBES]
                   if (c := crop(path)) is not None]
    stranger_crops = [c for person in outsiders for path in photos[person][:PROBES] if (c := crop(path)) is not None]
    with tempfile.TemporaryDirectory() as folder:
        gallery = Gallery(Path(folder) / "gallery", trained)
        for person, crops in enrolment.items():
            if crops:
                gallery.enroll(person, crops)
        enrolled = gallery.now()
        names = list(enrolled.identities())
        if len(names) < 2:
            return {"run": str(run), "skipped": f"faces were found for {len(names)} people: too few for a demo",
                    "no_face": no_face[0]}
        result = {"run": str(run), "people_enrolled": len(names), "people_unenrolled": len(outsiders),
                  "images_enrolled": len(enrolled.names), "no_face": no_face[0],
                  **_measured(trained, enrolled, names, probe_crops, stranger_crops, data_dir, seed)}
        if adapt_seconds:
            adapted = create_adaptation(run, gallery.root, Path(folder) / "runs", adapt_seconds, seed)
            trained_for = train(run_config(adapted), adapted, data_dir=data_dir)
            model = load_trained(adapted)
            again = Gallery(gallery.root, model).now()
            result["adapted"] = {"seconds": adapt_seconds, "epochs": trained_for.epochs, "steps": trained_for.steps,
                                 **_measured(model, again, names, probe_crops, stranger_crops, data_dir, seed)}
    return result


def _measured(trained, enrolled, names, probe_crops, stranger_crops, data_dir: Path, seed: int) -> dict:
    """The demo's rows at the run's and the gallery's thresholds, and the calibration error of each fit."""
    rng = np.random.default_rng(seed + 1)
    size, colour = trained.config.input_size, trained.config.colour
    probes = [(person, trained.embed(face_tensor(c, size, colour))) for person, c in probe_crops if person in names]
    strangers = [trained.embed(face_tensor(c, size, colour)) for c in stranger_crops]
    run = trained.run_dir
    validation_fit = validation_scores(trained, data_dir)[0].calibration
    rows = {}
    for source in ("run", "gallery"):
        verify = decision_rule(enrolled.calibration, run, "verify", source, TARGET)
        identify = decision_rule(enrolled.calibration, run, "identify", source, TARGET)
        rows[source] = _checked(enrolled, names, probes, strangers, verify, identify, rng)
        rows[source]["verify_threshold"], rows[source]["identify_threshold"] = verify.threshold, identify.threshold
    claims = rows["gallery"].pop("claims")
    rows["run"].pop("claims")
    distances, same = np.array([d for d, _ in claims]), np.array([s for _, s in claims])
    gallery_fit = decision_rule(enrolled.calibration, run, "verify", "gallery", TARGET).confidence
    calibration = {"gallery_fit_ece": expected_calibration_error([gallery_fit.confidence(d) for d in distances], same)
                   if gallery_fit else None,
                   "validation_fit_ece": expected_calibration_error(
                       [validation_fit.confidence(d) for d in distances], same)}
    return {"probes": len(probes), "stranger_probes": len(strangers), **rows, **calibration}


def _checked(enrolled, names, probes, strangers, verify, identify, rng) -> dict:
    """Counts and rates of the demo's decisions under one pair of rules; 'claims' keeps (distance, same)
    of every 1:1 claim, for the calibration error."""
    counts = dict.fromkeys(("genuine", "genuine_accepted", "impostor", "impostor_accepted", "identify",
                            "identified", "unknown", "unknown_rejected"), 0)
    claims = []
    for person, vector in probes:
        other = names[(names.index(person) + 1 + int(rng.integers(len(names) - 1))) % len(names)]
        own, wrong = enrolled.verify(vector, person, verify), enrolled.verify(vector, other, verify)
        claims += [(own.distance, 1), (wrong.distance, 0)]
        _count(counts, "genuine", own.accepted)
        _count(counts, "impostor", wrong.accepted)
        _count(counts, "identify", enrolled.identify(vector, identify).identity == person, "identified")
    for vector in strangers:
        _count(counts, "unknown", enrolled.identify(vector, identify).identity is None, "unknown_rejected")
    rate = lambda hit, total: counts[hit] / counts[total] if counts[total] else None  # noqa: E731
    return {**counts, "claims": claims,
            "genuine_accept_rate": rate("genuine_accepted", "genuine"),
            "impostor_accept_rate": rate("impostor_accepted", "impostor"),
            "identify_correct_rate": rate("identified", "identify"),
            "unknown_rejected_rate": rate("unknown_rejected", "unknown")}


def _count(counts: dict, total: str, hit: bool, name: str | None = None) -> None:
    counts[total] += 1
    counts[name or f"{total}_accepted"] += int(hit)
