"""The webcam demo, measured: a run's validation people enrolled from three photos each, through the face
pipeline the Verify page uses, then their other photos checked at the run's saved threshold: claims of the
right name accepted, claims of another's name accepted, and who-is-this (1:N) answered right, both for
enrolled people and for people nobody enrolled (who should come out unknown)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from siamese.data.sources import open_source
from siamese.errors import ImageError
from siamese.faces.prepare import face_tensor, photo_cut, prepare_face
from siamese.gallery import Gallery
from siamese.runs.files import read_json
from siamese.runs.folder import RunPaths, decision_threshold
from siamese.runs.trained import load_trained

ENROLLED = 3          # photos enrolled of each person
PROBES = 5            # other photos of each person checked, at most
UNENROLLED = 0.25     # fraction of the validation people left out of the gallery, to check "unknown"


def webcam_demo(run: Path, data_dir: Path, seed: int = 0) -> dict:
    """Rates of the demo on the run's validation people (never seen in training); see the module."""
    trained = load_trained(run)
    threshold = decision_threshold(run)
    cut = photo_cut(trained.faces)
    photos = open_source(trained.config.data, data_dir).scan().identities
    people = [p for p in read_json(RunPaths(run).split)["validation"] if len(photos.get(p, [])) > ENROLLED]
    rng = np.random.default_rng(seed)
    rng.shuffle(people)
    outsiders = people[:max(1, round(len(people) * UNENROLLED))]
    members = people[len(outsiders):]
    counts = dict.fromkeys(("genuine", "genuine_accepted", "impostor", "impostor_accepted", "identify",
                            "identified", "unknown", "unknown_rejected", "no_face"), 0)

    def probe(path: Path):
        try:
            crop = prepare_face(path.read_bytes(), cut, allow_largest=True).crop
        except ImageError:
            counts["no_face"] += 1
            return None
        return face_tensor(crop, trained.config.input_size, trained.config.colour)

    with tempfile.TemporaryDirectory() as folder:
        gallery = Gallery(folder, trained)
        enrolled = []
        for person in members:
            crops = []
            for path in photos[person][:ENROLLED]:
                try:
                    crops.append(prepare_face(path.read_bytes(), cut, allow_largest=True).crop)
                except ImageError:
                    counts["no_face"] += 1
            if crops:
                gallery.enroll(person, crops)
                enrolled.append(person)
        for person in enrolled:
            for path in photos[person][ENROLLED:ENROLLED + PROBES]:
                image = probe(path)
                if image is None:
                    continue
                other = enrolled[(enrolled.index(person) + 1 + int(rng.integers(len(enrolled) - 1))) % len(enrolled)]
                _count(counts, "genuine", gallery.verify(image, person, threshold).accepted)
                _count(counts, "impostor", gallery.verify(image, other, threshold).accepted)
                _count(counts, "identify", gallery.identify(image, threshold).identity == person, "identified")
        for person in outsiders:
            for path in photos[person][:PROBES]:
                image = probe(path)
                if image is not None:
                    _count(counts, "unknown", gallery.identify(image, threshold).identity is None, "unknown_rejected")
    rate = lambda hit, total: counts[hit] / counts[total] if counts[total] else None  # noqa: E731
    return {"run": str(run), "people_enrolled": len(enrolled), "people_unenrolled": len(outsiders),
            "threshold": threshold, **counts,
            "genuine_accept_rate": rate("genuine_accepted", "genuine"),
            "impostor_accept_rate": rate("impostor_accepted", "impostor"),
            "identify_correct_rate": rate("identified", "identify"),
            "unknown_rejected_rate": rate("unknown_rejected", "unknown")}


def _count(counts: dict, total: str, hit: bool, name: str | None = None) -> None:
    counts[total] += 1
    counts[name or f"{total}_accepted"] += int(hit)
