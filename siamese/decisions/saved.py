"""A run's saved thresholds, `threshold.json` in its folder: read and written here and nowhere else.

    {"threshold": 1.22, "source": "eer", "saved": <time>,                  the 1:1 threshold
     "identification": {"threshold": 1.05, "fpir": 0.01, "gallery_size": 100,   the 1:N one, when saved
                        "protocol": "...", "strangers": [...], "saved": <time>}}

The trainer saves its validation EER threshold after each validation (source 'eer') until someone saves
another (the Threshold page: source in words), which training then keeps. A 1:N threshold holds for the
gallery size it was chosen at; `strangers` keeps the study's non-mated searches (their nearest distances,
thinned to quantiles) so that it can be converted for a gallery of another size (`rules`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RunError
from ..files import read_json, write_json

FILE = "threshold.json"
# Quantiles of the strangers' nearest distances kept with a 1:N threshold: dense in the low tail, where
# the false-positive identification rates a threshold is chosen at lie.
STRANGER_QUANTILES = np.unique(np.r_[0.0, np.geomspace(1e-4, 1.0, 400)])


@dataclass(frozen=True)
class SavedIdentification:
    """The run's 1:N threshold: FPIR `fpir` for a gallery of `gallery_size` people, measured on `protocol`;
    `strangers` (quantiles of the study's non-mated nearest distances, at STRANGER_QUANTILES) or None for
    a threshold saved before they were kept."""

    threshold: float
    fpir: float
    gallery_size: int
    protocol: str
    strangers: tuple[float, ...] | None = None


def _path(run_dir: Path) -> Path:
    return Path(run_dir) / FILE


def _record(run_dir: Path) -> dict:
    path = _path(run_dir)
    if not path.exists():
        return {}
    record = read_json(path)
    return record if isinstance(record, dict) else {}


def read_threshold(run_dir: Path) -> float | None:
    """The run's 1:1 threshold, None when none is saved yet; RunError saying what to do when the file is
    damaged (it is never silently replaced by another threshold)."""
    path = _path(run_dir)
    if not path.exists():
        return None
    try:
        record = read_json(path)
        if isinstance(record, dict) and "threshold" not in record and "identification" in record:
            return None  # only a 1:N threshold is saved yet
        value = float(record["threshold"])
    except (RunError, KeyError, TypeError, ValueError) as exc:
        raise RunError(f"the saved threshold {path} is damaged ({exc}); delete that file, then save a threshold "
                       "on the Threshold page (its EER preset is the one training chose)") from None
    if not math.isfinite(value):
        raise RunError(f"the saved threshold in {path} is {value}; delete that file, then save a threshold on "
                       "the Threshold page (its EER preset is the one training chose)")
    return value


def run_threshold(run_dir: Path) -> float:
    """The threshold the run decides with (1:1), RunError when it has none yet."""
    threshold = read_threshold(run_dir)
    if threshold is None:
        raise RunError(f"{run_dir} has no threshold yet: let training finish an epoch first")
    return threshold


def threshold_source(run_dir: Path) -> str:
    """What the run's 1:1 threshold was chosen on, in words."""
    source = _record(run_dir).get("source")
    if source in (None, "eer"):
        return f"the validation identities of run {Path(run_dir).name} (equal error rate)"
    return str(source)


def save_threshold(run_dir: Path, threshold: float, source: str) -> None:
    """Store the 1:1 threshold (a distance) and what it was chosen on (`source`, in words); a 1:N
    threshold saved before is kept."""
    write_json(_path(run_dir), {**_record(run_dir), "threshold": float(threshold), "source": source,
                                "saved": time.time()})


def save_validation_threshold(run_dir: Path, threshold: float) -> None:
    """The trainer's threshold after a validation (its EER threshold), unless one chosen otherwise is saved."""
    if _record(run_dir).get("source", "eer") == "eer":
        save_threshold(run_dir, threshold, "eer")


def save_identification_threshold(run_dir: Path, threshold: float, fpir: float, gallery_size: int,
                                  protocol: str, strangers: np.ndarray | None = None) -> None:
    """Store the run's 1:N threshold: the one that keeps the false-positive identification rate to `fpir`
    for a gallery of `gallery_size` people, measured on `protocol`'s searches, whose strangers' nearest
    distances are `strangers` (kept as quantiles, for galleries of other sizes)."""
    record = _record(run_dir)
    entry = {"threshold": float(threshold), "fpir": float(fpir), "gallery_size": int(gallery_size),
             "protocol": protocol, "saved": time.time()}
    if strangers is not None and len(strangers):
        entry["strangers"] = np.quantile(np.asarray(strangers, dtype=np.float64), STRANGER_QUANTILES).tolist()
    write_json(_path(run_dir), {**record, "identification": entry})


def read_identification_threshold(run_dir: Path) -> SavedIdentification | None:
    """The saved 1:N threshold, or None when none was saved; RunError saying what to do when it is damaged."""
    entry = _record(run_dir).get("identification")
    if entry is None:
        return None
    try:
        saved = SavedIdentification(float(entry["threshold"]), float(entry["fpir"]), int(entry["gallery_size"]),
                                    str(entry["protocol"]),
                                    tuple(map(float, entry["strangers"])) if "strangers" in entry else None)
        if not math.isfinite(saved.threshold) or saved.gallery_size < 1:
            raise ValueError("not a threshold for a gallery")
        if saved.strangers is not None and len(saved.strangers) != len(STRANGER_QUANTILES):
            raise ValueError("its strangers' distances are cut short")
        return saved
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"the saved 1:N threshold in {_path(run_dir)} is damaged ({exc}); save one again on the "
                       "Threshold page") from None
