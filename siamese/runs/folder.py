"""Run folders: their file names, the one function that names a new run, and listing. (Its saved thresholds,
`threshold.json`, are the decisions' own: `siamese.decisions.saved`.)"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainConfig
from ..errors import RunError
from .files import read_json, write_json

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
