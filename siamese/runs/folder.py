"""Run folders: their file names, the one function that names a new run, listing, and the saved threshold."""

from __future__ import annotations

import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainConfig
from ..errors import RunError
from .files import read_json, read_metrics, write_json

RUNS_DIR = Path("runs")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class RunPaths:
    root: Path

    @property
    def config(self) -> Path: return self.root / "config.json"
    @property
    def split(self) -> Path: return self.root / "split.json"
    @property
    def metrics(self) -> Path: return self.root / "metrics.jsonl"
    @property
    def status(self) -> Path: return self.root / "status.json"
    @property
    def checkpoint(self) -> Path: return self.root / "checkpoint.pt"
    @property
    def threshold(self) -> Path: return self.root / "threshold.json"
    @property
    def stop(self) -> Path: return self.root / "STOP"
    @property
    def snapshots(self) -> Path: return self.root / "snapshots"
    @property
    def log(self) -> Path: return self.root / "train.log"
    @property
    def embeddings(self) -> Path: return self.root / "embeddings"


def new_run_dir(runs_dir: Path = RUNS_DIR, name: str | None = None, base: str | None = None) -> Path:
    """Create a fresh run folder: the one place runs are named. Without a name, `base` or one from the
    time, with '-1', '-2', ... when taken. The name is claimed by creating the folder, so two trainings
    started in the same second (two tabs, or the command line and the dashboard) get two folders."""
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {runs_dir}: {exc.strerror or exc}. Check that {runs_dir} is a folder "
                       "that is writable and the disk is not full.") from None
    base = name or base or time.strftime("%Y%m%d-%H%M%S")
    if not RUN_ID.match(base):
        raise RunError(f"run name {base!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    for attempt in range(1000):
        candidate = runs_dir / (base if attempt == 0 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            if name:
                raise RunError(f"{candidate} already exists; pick another name or resume it") from None
        except OSError as exc:
            raise RunError(f"cannot create {candidate}: {exc.strerror or exc}. Check that {runs_dir} is a "
                           "folder that is writable and the disk is not full.") from None
    raise RunError(f"could not find a free run folder name under {runs_dir}")


def create_run(config: TrainConfig, runs_dir: Path = RUNS_DIR, name: str | None = None) -> Path:
    """A new run folder holding `config.json`: what `python -m siamese train --run DIR` trains. A folder
    whose configuration cannot be written is removed again."""
    run_dir = new_run_dir(runs_dir, name)
    try:
        write_json(RunPaths(run_dir).config, config.to_dict())
    except RunError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir


def list_runs(runs_dir: Path = RUNS_DIR) -> list[Path]:
    """Run folders (those with a config.json), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [p for p in runs_dir.iterdir() if (p / "config.json").is_file()]
    return sorted(runs, key=_mtime, reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile, from another tab or the command line
        return 0.0


def run_config(run_dir: Path) -> TrainConfig:
    path = RunPaths(Path(run_dir)).config
    if not path.is_file():
        raise RunError(f"{run_dir} is not a run folder (no config.json); train one with "
                       "`python -m siamese train --out runs/NAME`")
    return TrainConfig.load(path)



def training_identities(run_dir: Path) -> set[str]:
    """The identities the run trained on, from its split: the people its figures must not include."""
    return set(read_json(RunPaths(Path(run_dir)).split)["train"])


def list_snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    """The per-epoch snapshots of a run as (epoch, path), oldest first."""
    folder = RunPaths(Path(run_dir)).snapshots
    found = []
    for path in folder.glob("epoch-*.pt") if folder.is_dir() else []:
        try:
            found.append((int(path.stem.split("-")[1]), path))
        except (IndexError, ValueError):
            continue
    return sorted(found)


def read_threshold(run_dir: Path) -> float | None:
    """The saved decision threshold, None when none was saved; RunError saying what to do when the file
    is damaged (it is never silently replaced by another threshold)."""
    path = RunPaths(Path(run_dir)).threshold
    if not path.exists():
        return None
    try:
        value = float(read_json(path)["threshold"])
    except (RunError, KeyError, TypeError, ValueError) as exc:
        raise RunError(f"the saved threshold {path} is damaged ({exc}); delete that file to fall back to the "
                       "threshold chosen in training, then set one again on the Threshold page") from None
    if not math.isfinite(value):
        raise RunError(f"the saved threshold in {path} is {value}; delete that file to fall back to the "
                       "threshold chosen in training")
    return value


def save_threshold(run_dir: Path, threshold: float, source: str) -> None:
    """Store the 1:1 decision threshold (a distance) chosen for this run, and what it was chosen on
    (`source`, in words); a 1:N threshold saved before is kept."""
    record = _threshold_record(run_dir)
    write_json(RunPaths(Path(run_dir)).threshold, {**record, "threshold": float(threshold), "source": source,
                                                   "saved": time.time()})


def save_identification_threshold(run_dir: Path, threshold: float, fpir: float, gallery_size: int,
                                  protocol: str) -> None:
    """Store the run's 1:N threshold: the one that keeps the false-positive identification rate to `fpir`
    for a gallery of `gallery_size` people, measured on `protocol`'s searches."""
    record = _threshold_record(run_dir)
    if "threshold" not in record:
        record.update(threshold=decision_threshold(run_dir), source=threshold_source(run_dir))
    record["identification"] = {"threshold": float(threshold), "fpir": float(fpir), "gallery_size": int(gallery_size),
                                "protocol": protocol, "saved": time.time()}
    write_json(RunPaths(Path(run_dir)).threshold, record)


def read_identification_threshold(run_dir: Path) -> dict | None:
    """The saved 1:N threshold record (threshold, fpir, gallery_size, protocol), or None when none was
    saved; RunError saying what to do when it is damaged."""
    record = _threshold_record(run_dir).get("identification")
    if record is None:
        return None
    try:
        if not math.isfinite(float(record["threshold"])):
            raise ValueError("not finite")
        return {"threshold": float(record["threshold"]), "fpir": float(record["fpir"]),
                "gallery_size": int(record["gallery_size"]), "protocol": str(record["protocol"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"the saved 1:N threshold in {RunPaths(Path(run_dir)).threshold} is damaged ({exc}); save "
                       "one again on the Threshold page") from None


def threshold_source(run_dir: Path) -> str:
    """What the run's 1:1 threshold was chosen on, in words."""
    source = _threshold_record(run_dir).get("source")
    if source in (None, "eer"):
        return f"the validation identities of run {Path(run_dir).name} (equal error rate)"
    return str(source)


def _threshold_record(run_dir: Path) -> dict:
    path = RunPaths(Path(run_dir)).threshold
    if not path.exists():
        return {}
    record = read_json(path)
    return record if isinstance(record, dict) else {}


def decision_threshold(run_dir: Path) -> float:
    """The threshold verification decides with: the saved one, else the last validation EER threshold.
    Read from the run each time a decision is made, so saving a new one changes the next decision and
    reloads nothing."""
    threshold = read_threshold(run_dir)
    if threshold is not None:
        return threshold
    epochs = read_metrics(RunPaths(Path(run_dir)).metrics, "epoch")
    if not epochs or "threshold" not in epochs[-1]:
        raise RunError(f"{run_dir} has no threshold yet: let training finish an epoch first")
    return float(epochs[-1]["threshold"])
