"""A decision rule: the threshold a decision is made at, where it comes from, what it was calibrated on,
its target rate, the error rates to expect and how sure that promise is, and how sure a decision at a
distance is: one object, which the Verify page, the command line, the benchmark and the gallery decide by.

Three tasks: 'compare' (two photos), 'verify' (1:1, a claimed identity) and 'identify' (1:N, who is this,
or nobody enrolled). A threshold comes from one of two places:

- the gallery (the default): calibrated on comparisons among the people enrolled (`calibration.py`),
  faces from the camera the decisions are made on, at a target false-accept rate (compare, verify) or a
  target false-positive identification rate for the gallery's current size (identify), as NIST's FRVT
  defines FPIR: the share of strangers' searches that return anyone;
- the run: the threshold saved with it (`saved.py`), chosen on another set of faces (its validation
  pairs, or a dataset studied on the Threshold page). It says so when the gallery's faces disagree with it.

The rates a rule expects are measured on the gallery's comparisons by the evaluation's own functions, at
the gallery's size for every source. Each comes with its one-sided 95 % upper bound (Clopper and Pearson's,
on the count of comparisons accepted): how far the rate on photos taken later may lie above the one the
enrolment photos give (docs/BENCHMARKS.md measures how often it holds).

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
from ..evaluate.metrics import rates_at_threshold, threshold_at_rate
from .calibration import Comparisons, GalleryCalibration
from .saved import STRANGER_QUANTILES, SavedIdentification, read_identification_threshold, run_threshold
from .saved import threshold_source

TASKS = ("compare", "verify", "identify")
SOURCES = ("gallery", "run")
DEFAULT_TARGET = 1e-2
BOUND_CONFIDENCE = 0.95
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
    comparisons: int = 0             # the gallery's comparisons of the wrong kind behind the expected rates
    expected: dict = field(default_factory=dict)  # FAR and FRR, or FPIR and FNIR, on the gallery at the threshold
    bound: float | None = None       # the 95 % upper bound of the expected FAR or FPIR
    confidence: Calibration | None = None         # p(same | distance) on the gallery's comparisons
    notes: tuple[str, ...] = ()      # what to know: an unresolved target, a disagreement, what to enrol

    def accepts(self, distance):
        """Whether a pair (or a claim, or a search's nearest person) at `distance` is accepted as one person;
        for an array of distances, an array of decisions."""
        return distance <= self.threshold

    def confidence_at(self, distance: float) -> float | None:
        """p(same person) of a decision at `distance`: the gallery's fit at the odds the threshold sets (one
        half at the threshold), so an accepted decision is over one half and a rejected one under; a
        threshold at FAR 1 % rejects pairs the evenly weighed fit would call likely the same."""
        return self.confidence.confidence(distance, even_at=self.threshold) if self.confidence is not None else None

    @property
    def promise(self) -> str:
        """The rate the rule expects of the wrong kind and how sure that is, in words ('' when unmeasured)."""
        name = wrong_rate(self.task)
        if self.expected.get(name) is None:
            return ""
        bound = f", at most {self.bound:.1%} with 95% confidence" if self.bound is not None else ""
        return f"{name} {self.expected[name]:.1%}{bound} ({self.comparisons:,} {_kind(self.task)[0]})"

    def to_dict(self) -> dict:
        """The rule as plain data, for JSON: the confidence as the comparisons it was fitted on."""
        return {"task": self.task, "threshold": self.threshold, "source": self.source, "basis": self.basis,
                "target": self.target, "comparisons": self.comparisons, "expected": self.expected,
                "bound": self.bound, "confidence_fitted_on": self.confidence.pairs if self.confidence else None,
                "notes": list(self.notes)}


def _kind(task: str) -> tuple[str, str]:
    """(the gallery's comparisons of the wrong kind for this task, one of them)."""
    return {"compare": ("impostor pairs", "impostor pair"), "verify": ("impostor claims", "impostor claim"),
            "identify": ("strangers' searches", "stranger's search")}[task]


def wrong_rate(task: str) -> str:
    """The rate a task's target is of: FAR (compare, verify) or FPIR (identify)."""
    return "FPIR" if task == "identify" else "FAR"


def fpir_at_size(fpir: float, measured_at: int, size: int) -> float:
    """The FPIR of a threshold at a gallery of `size` people, from the FPIR it has at `measured_at`: a
    stranger is compared with each person independently, so 1 - FPIR is the chance of passing them all."""
    return 1 - (1 - fpir) ** (size / measured_at) if measured_at > 0 else fpir


def upper_bound(accepted: int, total: int, confidence: float = BOUND_CONFIDENCE) -> float:
    """The one-sided Clopper-Pearson upper bound of a rate seen as `accepted` of `total`."""
    from scipy.stats import beta  # scipy comes with scikit-learn; imported here, only when a rule is made

    return 1.0 if accepted >= total else float(beta.ppf(confidence, accepted + 1, total - accepted))


def _comparisons(calibration: GalleryCalibration, task: str) -> Comparisons:
    return calibration.pairs if task == "compare" else calibration.claims


def _wrong(calibration: GalleryCalibration, task: str) -> np.ndarray:
    """The gallery's distances of the wrong kind for `task`: impostor pairs or claims, strangers' nearest."""
    return calibration.searches.non_mated_best if task == "identify" else _comparisons(calibration, task).impostor


def expected_rates(calibration: GalleryCalibration, task: str, threshold: float) -> tuple[dict, float]:
    """The rates `task` gives on the gallery's comparisons at `threshold` (FAR and FRR, or FPIR and FNIR;
    None where nothing measures one), and the 95 % upper bound of the FAR or FPIR. FPIR is measured on
    searches against N - 1 people (each left out of their own) and brought to the gallery's N."""
    wrong = _wrong(calibration, task)
    accepted = int(np.sum(wrong <= threshold))
    if task == "identify":
        searches, n = calibration.searches, calibration.people
        fpir = fpir_at_size(accepted / len(wrong), n - 1, n)
        bound = fpir_at_size(upper_bound(accepted, len(wrong)), n - 1, n)
        return {"FPIR": fpir, "FNIR": searches.fnir(threshold) if searches.mated else None}, bound
    comparisons = _comparisons(calibration, task)
    rates = rates_at_threshold(np.r_[comparisons.genuine, wrong],
                               np.r_[np.ones(len(comparisons.genuine), int), np.zeros(len(wrong), int)], threshold)
    return ({"FAR": rates["far"], "FRR": rates["frr"] if len(comparisons.genuine) else None},
            upper_bound(accepted, len(wrong)))


def too_small(calibration: GalleryCalibration | None) -> str | None:
    """Why the gallery cannot calibrate a threshold (and what to enrol), or None when it can."""
    people = calibration.people if calibration else 0
    if people >= 2:
        return None
    return (f"The gallery has {'nobody' if people == 0 else '1 person'} enrolled: a threshold is calibrated on "
            "comparisons between different people, so enrol at least 2 people (3 or more images each, from the "
            "camera the decisions are made on)")


def _confidence(calibration: GalleryCalibration, task: str) -> Calibration | None:
    return calibration.pair_confidence if task == "compare" else calibration.claim_confidence


def gallery_rule(calibration: GalleryCalibration | None, task: str, target: float = DEFAULT_TARGET) -> Rule:
    """The threshold of `task` calibrated on the gallery at `target`; GalleryError saying what to enrol
    when the gallery is too small."""
    if task not in TASKS:
        raise GalleryError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if not 0 < target < 1:
        raise GalleryError(f"the target rate must be between 0 and 1, not {target}")
    if (problem := too_small(calibration)) is not None:
        raise GalleryError(problem)
    wrong = _wrong(calibration, task)
    n = calibration.people
    # A stranger's search here meets N - 1 people; one to the whole gallery meets N: the target is
    # brought to N - 1 so that it holds at N.
    threshold = threshold_at_rate(wrong, fpir_at_size(target, n, n - 1) if task == "identify" else target)
    expected, bound = expected_rates(calibration, task, threshold)
    name, one = _kind(task)
    notes = []
    if target * len(wrong) < 1:
        notes.append(f"{wrong_rate(task)} {target:g} needs at least {math.ceil(1 / target):,} {name} to be measured; "
                     f"the gallery gives {len(wrong):,}, so the threshold is the strictest it can measure: below its "
                     f"nearest {one}. Enrol more people, or more images of each.")
    notes += _gallery_notes(calibration, task, expected)
    basis = (f"the gallery: {len(wrong):,} {name} among {n} people, {wrong_rate(task)} {target:g}"
             + (f" at {n} people" if task == "identify" else ""))
    return Rule(task, threshold, "gallery", basis, target, len(wrong), expected, bound, _confidence(calibration, task),
                tuple(notes))


def _gallery_notes(calibration: GalleryCalibration, task: str, expected: dict) -> list[str]:
    """What to know of a rule on this gallery: no confidence yet, many genuine decisions missed, look-alikes."""
    notes = []
    if _confidence(calibration, task) is None:
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
    return notes


def _saved_for_size(saved: SavedIdentification, size: int | None) -> tuple[float, str]:
    """A saved 1:N threshold for a gallery of `size` people, and what was done to it, in words: as saved
    at its own size; converted, from the study's strangers, to keep its FPIR at another size; or, for one
    saved without them, kept with the FPIR it has at that size."""
    where = f"FPIR {saved.fpir:g} at {saved.gallery_size} people on {saved.protocol}"
    if size is None or size == saved.gallery_size:
        return saved.threshold, f"the run's 1:N threshold, {where}"
    if saved.strangers is None:
        at_size = fpir_at_size(saved.fpir, saved.gallery_size, size)
        return saved.threshold, (f"the run's 1:N threshold, {where}: at {size} people it names about {at_size:.1%} "
                                 "of strangers (save it again on the Threshold page to have it converted)")
    # The study's strangers met `gallery_size` people; at `size` the same FPIR needs this rate there.
    rate = fpir_at_size(saved.fpir, size, saved.gallery_size)
    threshold = float(np.interp(rate, STRANGER_QUANTILES, saved.strangers))
    return threshold, f"the run's 1:N threshold, {where}, converted to keep FPIR {saved.fpir:g} at {size} people"


def run_rule(run_dir: Path, task: str, calibration: GalleryCalibration | None = None) -> Rule:
    """The run's saved threshold for `task` (its 1:N one for identify, when one was saved, converted for
    the gallery's size), with the error rates it gives on the gallery's comparisons and a note when the
    gallery's faces disagree with it."""
    run_dir = Path(run_dir)
    saved = read_identification_threshold(run_dir) if task == "identify" else None
    usable = calibration is not None and too_small(calibration) is None
    if saved is not None:
        threshold, basis = _saved_for_size(saved, calibration.people if calibration and calibration.people else None)
    else:
        threshold, basis = run_threshold(run_dir), f"the run's threshold, chosen on {threshold_source(run_dir)}"
    if not usable:
        return Rule(task, threshold, "run", basis)
    expected, bound = expected_rates(calibration, task, threshold)
    wrong = _wrong(calibration, task)
    accepted = expected[wrong_rate(task)]  # the share of the gallery's wrong comparisons the threshold lets in
    notes = ()
    if accepted > DISAGREEMENT:
        notes = (f"The gallery's faces disagree with the run's threshold: at {threshold:.4f}, {accepted:.0%} of the "
                 f"gallery's {len(wrong):,} {_kind(task)[0]} would be accepted. This camera's faces lie closer "
                 "together than those the threshold was chosen on: use the gallery's threshold.",)
    return Rule(task, threshold, "run", basis, None, len(wrong), expected, bound, _confidence(calibration, task), notes)


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
            fallback = run_rule(run_dir, task, calibration)
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
