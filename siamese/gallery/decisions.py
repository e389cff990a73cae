"""A decision rule: the threshold a decision is made at, where it comes from, what it was calibrated on,
its target rate, the error rates to expect, and how sure a decision at a distance is: one object, shared
by the Verify page, the command line and the benchmark.

Three tasks: 'compare' (two photos), 'verify' (1:1, a claimed identity) and 'identify' (1:N, who is this,
or nobody enrolled). A threshold comes from one of two places:

- the gallery (the default): calibrated on comparisons among the people enrolled (`calibration.py`),
  faces from the camera the decisions are made on, at a target false-accept rate (compare, verify) or a
  target false-positive identification rate for the gallery's current size (identify), as NIST's FRVT
  defines FPIR: the share of strangers' searches that return anyone;
- the run: the threshold saved with it, chosen on another set of faces (its validation pairs, or a
  dataset studied on the Threshold page). It says so when the gallery's faces disagree with it.

A confidence is given only when it can be fitted on the gallery's own comparisons; never one fitted on
another dataset's pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import GalleryError
from ..evaluate.calibration import Calibration
from ..evaluate.metrics import threshold_at_rate
from ..runs.folder import decision_threshold, read_identification_threshold, threshold_source
from .calibration import Comparisons, GalleryCalibration

TASKS = ("compare", "verify", "identify")
SOURCES = ("gallery", "run")
DEFAULT_TARGET = 1e-2
# The gallery's impostors mostly accepted at the run's threshold: the two disagree.
DISAGREEMENT = 0.5
# An expected share of genuine decisions missed (FRR, FNIR) from which the page says so in plain words.
MISSED_NOTE = 0.2


@dataclass(frozen=True)
class Rule:
    """How a decision of `task` is made: accept when the distance is at most `threshold`."""

    task: str
    threshold: float
    source: str                      # 'gallery' or 'run'
    basis: str                       # where the threshold comes from, in words
    target: float | None = None      # the target FAR (compare, verify) or FPIR (identify), when calibrated
    comparisons: int = 0             # the gallery's comparisons behind the threshold (0 for the run's)
    expected: dict = field(default_factory=dict)  # FAR and FRR, or FPIR and FNIR, on the gallery at the threshold
    confidence: Calibration | None = None         # p(same | distance) on the gallery's comparisons
    notes: tuple[str, ...] = ()      # what to know: an unresolved target, a disagreement, what to enrol

    def confidence_at(self, distance: float) -> float | None:
        """p(same person) of a decision at `distance`: the gallery's fit at the odds the threshold sets (one
        half at the threshold), so an accepted decision is over one half and a rejected one under; a
        threshold at FAR 1 % rejects pairs the evenly weighed fit would call likely the same."""
        return self.confidence.confidence(distance, even_at=self.threshold) if self.confidence is not None else None

    def to_dict(self) -> dict:
        """The rule as plain data, for JSON: the confidence as the comparisons it was fitted on."""
        return {"task": self.task, "threshold": self.threshold, "source": self.source, "basis": self.basis,
                "target": self.target, "comparisons": self.comparisons, "expected": self.expected,
                "confidence_fitted_on": self.confidence.pairs if self.confidence else None, "notes": list(self.notes)}


def _kind(task: str) -> tuple[str, str, str]:
    """(the gallery's comparisons of this task, one of them, the rate the target is of)."""
    return {"compare": ("impostor pairs", "impostor pair", "FAR"), "verify": ("impostor claims", "impostor claim", "FAR"),
            "identify": ("strangers' searches", "stranger's search", "FPIR")}[task]


def too_small(calibration: GalleryCalibration | None) -> str | None:
    """Why the gallery cannot calibrate a threshold (and what to enrol), or None when it can."""
    people = calibration.people if calibration else 0
    if people >= 2:
        return None
    return (f"The gallery has {'nobody' if people == 0 else '1 person'} enrolled: a threshold is calibrated on "
            "comparisons between different people, so enrol at least 2 people (3 or more images each, from the "
            "camera the decisions are made on)")


def gallery_rule(calibration: GalleryCalibration | None, task: str, target: float = DEFAULT_TARGET) -> Rule:
    """The threshold of `task` calibrated on the gallery at `target`; GalleryError saying what to enrol
    when the gallery is too small."""
    if task not in TASKS:
        raise GalleryError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if not 0 < target < 1:
        raise GalleryError(f"the target rate must be between 0 and 1, not {target}")
    if (problem := too_small(calibration)) is not None:
        raise GalleryError(problem)
    name, one, rate = _kind(task)
    if task == "identify":
        searches = calibration.searches
        n = calibration.people
        # Each stranger's search is made against the other N - 1 people; a stranger to the whole gallery
        # meets N: the target is brought to N - 1 so that the rate holds at N (independent comparisons).
        wrong = searches.non_mated_best
        threshold = threshold_at_rate(wrong, 1 - (1 - target) ** ((n - 1) / n))
        reached = 1 - (1 - float(np.mean(wrong <= threshold))) ** (n / (n - 1))
        fnir = searches.fnir(threshold) if searches.mated else None
        expected = {"FPIR": reached, "FNIR": fnir}
        confidence = calibration.claim_confidence
    else:
        comparisons: Comparisons = calibration.pairs if task == "compare" else calibration.claims
        wrong = comparisons.impostor
        threshold = threshold_at_rate(wrong, target)
        far = float(np.mean(wrong <= threshold))
        frr = float(np.mean(comparisons.genuine > threshold)) if len(comparisons.genuine) else None
        expected = {"FAR": far, "FRR": frr}
        confidence = calibration.pair_confidence if task == "compare" else calibration.claim_confidence
    notes = []
    if target * len(wrong) < 1:
        notes.append(f"{rate} {target:g} needs at least {math.ceil(1 / target):,} {name} to be measured; the gallery "
                     f"gives {len(wrong):,}, so the threshold is the strictest it can measure: below its nearest "
                     f"{one}. Enrol more people, or more images of each.")
    if confidence is None:
        notes.append("No confidence is given: it is fitted on the gallery's genuine comparisons too, so enrol "
                     "2 or more images of a few people.")
    missed = expected.get("FRR" if task != "identify" else "FNIR")
    if missed is not None and missed >= MISSED_NOTE:
        what = ("genuine claims of the enrolled people will be rejected" if task != "identify" else
                "searches by the enrolled people will come out unknown or as someone else")
        notes.append(f"At this threshold about {missed:.0%} of {what} (the gallery's own comparisons say so): the "
                     "model does not yet tell these people apart at this target. Enrol more people and more photos "
                     "of each, relax the target, or adapt the model to them.")
    for first, second in calibration.look_alikes:
        notes.append(f"{first} and {second} are nearer each other than themselves: one person enrolled under two "
                     "names? Their comparisons count as impostors and pull the thresholds down: remove one of them.")
    basis = (f"the gallery: {len(wrong):,} {name} among {calibration.people} people, {rate} {target:g}"
             + (f" at {calibration.people} people" if task == "identify" else ""))
    return Rule(task, threshold, "gallery", basis, target, len(wrong), expected, confidence, tuple(notes))


def run_rule(run_dir: Path, task: str, calibration: GalleryCalibration | None = None) -> Rule:
    """The run's saved threshold for `task` (its 1:N one for identify, when one was saved), with the error
    rates it gives on the gallery's comparisons and a note when the gallery's faces disagree with it."""
    run_dir = Path(run_dir)
    saved = read_identification_threshold(run_dir) if task == "identify" else None
    threshold = saved["threshold"] if saved else decision_threshold(run_dir)
    basis = (f"the run's 1:N threshold, FPIR {saved['fpir']:g} at {saved['gallery_size']} people on "
             f"{saved['protocol']}" if saved else f"the run's threshold, chosen on {threshold_source(run_dir)}")
    if calibration is None or too_small(calibration) is not None:
        return Rule(task, threshold, "run", basis)
    name, _, _ = _kind(task)
    if task == "identify":
        wrong = calibration.searches.non_mated_best
        expected = {"FPIR": float(np.mean(wrong <= threshold)),
                    "FNIR": calibration.searches.fnir(threshold) if calibration.searches.mated else None}
        confidence = calibration.claim_confidence
    else:
        comparisons = calibration.pairs if task == "compare" else calibration.claims
        wrong = comparisons.impostor
        expected = {"FAR": float(np.mean(wrong <= threshold)),
                    "FRR": float(np.mean(comparisons.genuine > threshold)) if len(comparisons.genuine)
                    else None}
        confidence = calibration.pair_confidence if task == "compare" else calibration.claim_confidence
    accepted = float(np.mean(wrong <= threshold))
    notes = ()
    if accepted > DISAGREEMENT:
        notes = (f"The gallery's faces disagree with the run's threshold: at {threshold:.4f}, {accepted:.0%} of the "
                 f"gallery's {len(wrong):,} {name} would be accepted. This camera's faces lie closer together than "
                 "those the threshold was chosen on: use the gallery's threshold.",)
    return Rule(task, threshold, "run", basis, None, 0, expected, confidence, notes)


def decision_rule(calibration: GalleryCalibration | None, run_dir: Path, task: str, source: str = "gallery",
                  target: float = DEFAULT_TARGET) -> Rule:
    """The rule `task` is decided by: from the gallery at `target` (the run's threshold, saying why and
    what to enrol, while the gallery is too small to calibrate), or from the run. RunError when the run
    has no threshold yet."""
    if source not in SOURCES:
        raise GalleryError(f"the threshold comes from one of: {', '.join(SOURCES)}; not {source!r}")
    if source == "gallery":
        try:
            return gallery_rule(calibration, task, target)
        except GalleryError as exc:
            if too_small(calibration) is None:
                raise
            fallback = run_rule(run_dir, task)
            return replace(fallback, notes=(f"{exc}. Until then the run's threshold is used.",) + fallback.notes)
    return run_rule(run_dir, task, calibration)


def confidence_text(confidence: float | None) -> str:
    """A decision's confidence for people: '93% likely the same person', or why there is none. Never 0 %
    or 100 %: a fit only approaches them, and a page that says 100 % overstates."""
    if confidence is None:
        return "no confidence: none can be fitted on this gallery yet"
    if confidence < 0.01:
        return "under 1% likely the same person"
    if confidence > 0.99:
        return "over 99% likely the same person"
    return f"{confidence:.0%} likely the same person"

