"""The sweep records of an older version, `runs/<name>.sweep.json` (a field, its values and the run of
each, trained by a queue of our own), read so that the Runs page still lists their runs and compares them.
They are no longer run: a sweep is now a grid study (`siamese.search.sweep`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import RunError
from .files import read_json, read_metrics
from .folder import RUNS_DIR, RunPaths
from .status import read_status

SUFFIX = ".sweep.json"
UNSUPPORTED = ("a sweep of an older version: its runs are listed here, but it is no longer run; start it again "
               "as a sweep or a search on the Train page")


@dataclass
class Sweep:
    path: Path
    field: str
    values: list
    runs: list[str]             # run folder names, in the order of `values`

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)


def read_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    record = read_json(path)
    try:
        return Sweep(path, str(record["field"]), list(record["values"]), [str(r) for r in record["runs"]])
    except (KeyError, TypeError) as exc:
        raise RunError(f"{path} is not a sweep record ({exc})") from None


def list_sweeps(runs_dir: str | Path = RUNS_DIR) -> list[Sweep]:
    """The old sweeps of a runs folder, newest first; unreadable records are skipped."""
    found = []
    for path in sorted(Path(runs_dir).glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            found.append(read_sweep(path))
        except RunError:
            continue
    return found


def sweep_table(sweep: Sweep) -> list[dict]:
    """One row per value: the value and its final validation figures first (what a sweep is compared
    by), then the epochs trained, the status and the run."""
    rows = []
    for value, name in zip(sweep.values, sweep.runs):
        run = sweep.path.parent / name
        epochs = read_metrics(RunPaths(run).metrics, "epoch")
        final = epochs[-1] if epochs else {}
        rows.append({sweep.field: value, "val_auc": final.get("val_auc"), "val_eer": final.get("val_eer"),
                     "oneshot": final.get("oneshot_accuracy"), "epochs": final.get("epoch", 0),
                     "status": read_status(run).get("status"), "run": name})
    return rows
