"""The webcam demo, measured: people never seen in training enrolled from three photos each through the
face pipeline the Verify page uses, then their other photos checked: claims of their own name accepted,
claims of every other enrolled person's name accepted, who-is-this (1:N) answered right, and strangers
(people nobody enrolled) answered "unknown". Each at the run's saved threshold and at the thresholds
calibrated on the gallery (the people enrolled), over several random draws of who is enrolled and which
of their photos, with the rate each rule promised (and its 95 % upper bound) beside the rate the later
photos reached, and each confidence measured for how well it is calibrated (expected calibration error on
the checked claims, one genuine and one impostor claim a photo). With an adaptation, the first draw again
after the model is adapted to the people enrolled (a short run on their enrolment photos)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from siamese.decisions import decision_rule
from siamese.errors import ImageError
from siamese.evaluate.calibration import expected_calibration_error
from siamese.evaluate.run import validation_scores
from siamese.faces.prepare import prepare_face
from siamese.gallery import Gallery
from siamese.gallery.adapt import create_adaptation
from siamese.runs.folder import run_config
from siamese.runs.trained import load_trained
from siamese.train.loop import train

ENROLLED = 3          # photos enrolled of each person
PROBES = 7            # other photos of each person checked, at most
UNENROLLED = 0.25     # fraction of the people left out of the gallery, to check "unknown"
TARGET = 1e-2         # the gallery's targets: FAR 1 % (1:1), FPIR 1 % (1:N)
COUNTS = ("genuine", "genuine_accepted", "impostor", "impostor_accepted", "identify", "identified", "unknown",
          "unknown_rejected")


def webcam_demo(run: Path, photos: dict[str, list[Path]], data_dir: Path, seed: int = 0, draws: int = 1,
                adapt_seconds: float | None = None) -> dict:
    """Rates of the demo on `photos` (person -> photo files) of people the run never trained on, pooled over
    `draws` draws of who is enrolled (each draw's promise and reach kept under "draws"); with
    `adapt_seconds`, the first draw's people and photos again after the run is adapted to its enrolled
    people for that long (`gallery.adapt`), at the gallery's thresholds calibrated anew: under "adapted"."""
    trained = load_trained(run)
    cut = trained.cut()
    no_face = [0]

    def crop(path: Path):
        try:
            return prepare_face(path.read_bytes(), cut, allow_largest=True).crop
        except ImageError:
            no_face[0] += 1
            return None

    # Each photo's face is found once; a draw chooses among them.
    faces = {person: [c for path in files[:ENROLLED + PROBES] if (c := crop(path)) is not None]
             for person, files in sorted(photos.items()) if len(files) > ENROLLED}
    faces = {person: crops for person, crops in faces.items() if len(crops) > ENROLLED}
    if len(faces) < 3:
        return {"run_dir": str(run), "skipped": f"faces were found for {len(faces)} people: too few for a demo",
                "no_face": no_face[0]}
    validation_fit = validation_scores(trained, data_dir)[0].calibration
    rng = np.random.default_rng(seed)
    result, per_draw = None, []
    with tempfile.TemporaryDirectory() as folder:
        for draw in range(draws):
            enrolment, probes, strangers = _draw(faces, rng)
            gallery = Gallery(Path(folder) / f"gallery-{draw}", trained)
            for person, crops in enrolment.items():
                gallery.enroll(person, crops)
            measured = _measured(trained, gallery.now(), probes, strangers, validation_fit, seed + draw)
            per_draw.append(measured)
            if draw == 0:
                result = {"run_dir": str(run), "people_enrolled": len(enrolment), "people_unenrolled":
                          len({p for p, _ in strangers}), "images_enrolled": len(gallery.now().names),
                          "no_face": no_face[0], "draws": draws}
                if adapt_seconds:
                    result["adapted"] = _adapted(run, gallery, Path(folder), adapt_seconds, probes, strangers,
                                                 data_dir, seed)
    result.update(_pooled(per_draw))
    return result


def _draw(faces: dict[str, list], rng: np.random.Generator) -> tuple[dict, list, list]:
    """Who is enrolled (three quarters of the people, at random) with which photos (ENROLLED, at random);
    the others' photos are the strangers'. (enrolment: person -> crops, probes: (person, crop), strangers)."""
    people = list(rng.permutation(sorted(faces)))
    outsiders = people[:max(1, round(len(people) * UNENROLLED))]
    enrolment, probes = {}, []
    for person in people[len(outsiders):]:
        order = rng.permutation(len(faces[person]))
        enrolment[person] = [faces[person][k] for k in order[:ENROLLED]]
        probes += [(person, faces[person][k]) for k in order[ENROLLED:]]
    strangers = [(person, c) for person in outsiders for c in faces[person][:PROBES]]
    return enrolment, probes, strangers


def _adapted(run, gallery, folder: Path, seconds: float, probes, strangers, data_dir: Path, seed: int) -> dict:
    adapted = create_adaptation(run, gallery.root, folder / "runs", seconds, seed)
    trained_for = train(run_config(adapted), adapted, data_dir=data_dir)
    model = load_trained(adapted)
    again = Gallery(gallery.root, model).now()
    fit = validation_scores(model, data_dir)[0].calibration
    return {"seconds": seconds, "epochs": trained_for.epochs, "steps": trained_for.steps,
            **_pooled([_measured(model, again, probes, strangers, fit, seed)])}


def _measured(trained, enrolled, probe_crops, stranger_crops, validation_fit, seed: int) -> dict:
    """One draw's rows at the run's and the gallery's thresholds: the counts, what each rule promised
    (FAR and FPIR with their bounds), and the calibration error of each fit on the draw's claims."""
    rng = np.random.default_rng(seed + 1)
    names = list(enrolled.identities())
    probes = list(zip([person for person, _ in probe_crops], trained.embed_crops([c for _, c in probe_crops])))
    strangers = trained.embed_crops([c for _, c in stranger_crops])
    rows = {}
    for source in ("run", "gallery"):
        verify = decision_rule(enrolled.calibration, trained.run_dir, "verify", source, TARGET)
        identify = decision_rule(enrolled.calibration, trained.run_dir, "identify", source, TARGET)
        rows[source] = _checked(enrolled, names, probes, strangers, verify, identify, rng)
        rows[source].update(verify_threshold=verify.threshold, identify_threshold=identify.threshold,
                            promised_far=verify.expected.get("FAR"), far_bound=verify.bound,
                            promised_fpir=identify.expected.get("FPIR"), fpir_bound=identify.bound)
    claims = rows["gallery"].pop("claims")
    rows["run"].pop("claims")
    distances, same = np.array([d for d, _ in claims]), np.array([s for _, s in claims])
    gallery_fit = decision_rule(enrolled.calibration, trained.run_dir, "verify", "gallery", TARGET).confidence
    return {"probes": len(probes), "stranger_probes": len(strangers), **rows,
            "gallery_fit_ece": expected_calibration_error([gallery_fit.confidence(d) for d in distances], same)
            if gallery_fit else None,
            "validation_fit_ece": expected_calibration_error([validation_fit.confidence(d) for d in distances], same)}


def _checked(enrolled, names, probes, strangers, verify, identify, rng) -> dict:
    """Counts of the demo's decisions under one pair of rules: every probe's claim of its own name and of
    every other enrolled name, its search, and each stranger's search; 'claims' keeps (distance, same) of
    its own claim and of one other name drawn at random, for the calibration error."""
    counts = dict.fromkeys(COUNTS, 0)
    claims = []
    for person, vector in probes:
        drawn = names[(names.index(person) + 1 + int(rng.integers(len(names) - 1))) % len(names)]
        own = enrolled.verify(vector, person, verify)
        claims.append((own.distance, 1))
        _count(counts, "genuine", own.accepted)
        # Every other name claimed: a claim is decided at the claimed person's nearest image, which a search
        # ranking everyone gives for all of them at once.
        for match in enrolled.identify(vector, verify, top_k=len(names)).candidates:
            if match.identity != person:
                _count(counts, "impostor", verify.accepts(match.distance))
                if match.identity == drawn:
                    claims.append((match.distance, 0))
        _count(counts, "identify", enrolled.identify(vector, identify).identity == person, "identified")
    for vector in strangers:
        _count(counts, "unknown", enrolled.identify(vector, identify).identity is None, "unknown_rejected")
    return {**counts, "claims": claims}


def _count(counts: dict, total: str, hit: bool, name: str | None = None) -> None:
    counts[total] += 1
    counts[name or f"{total}_accepted"] += int(hit)


def _rates(counts: dict) -> dict:
    rate = lambda hit, total: counts[hit] / counts[total] if counts[total] else None  # noqa: E731
    return {"genuine_accept_rate": rate("genuine_accepted", "genuine"),
            "impostor_accept_rate": rate("impostor_accepted", "impostor"),
            "identify_correct_rate": rate("identified", "identify"),
            "unknown_rejected_rate": rate("unknown_rejected", "unknown")}


def _pooled(draws: list[dict]) -> dict:
    """The draws' counts added up, their rates, and per draw what each rule promised beside what it reached:
    the FAR and FPIR promised, their 95 % bounds, and the impostor claims and strangers' searches accepted."""
    out = {"probes": sum(d["probes"] for d in draws), "stranger_probes": sum(d["stranger_probes"] for d in draws)}
    for source in ("run", "gallery"):
        counts = {name: sum(d[source][name] for d in draws) for name in COUNTS}
        kept = [{"promised_far": d[source]["promised_far"], "far_bound": d[source]["far_bound"],
                 "reached_far": _rates(d[source])["impostor_accept_rate"],
                 "promised_fpir": d[source]["promised_fpir"], "fpir_bound": d[source]["fpir_bound"],
                 "reached_fpir": 1 - _rates(d[source])["unknown_rejected_rate"],
                 "verify_threshold": d[source]["verify_threshold"],
                 "identify_threshold": d[source]["identify_threshold"]} for d in draws]
        out[source] = {**counts, **_rates({**counts}), "per_draw": kept,
                       "verify_threshold": float(np.median([k["verify_threshold"] for k in kept])),
                       "identify_threshold": float(np.median([k["identify_threshold"] for k in kept]))}
    for fit in ("gallery_fit_ece", "validation_fit_ece"):
        values = [d[fit] for d in draws if d[fit] is not None]
        out[fit] = float(np.mean(values)) if values else None
    return out
