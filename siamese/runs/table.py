"""Every run in one table (with where it started: `lineage`), what went wrong with a run in words, its loss
curve, and deleting a run."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..decisions.saved import read_threshold
from ..errors import RunError
from ..losses import LOSSES
from .files import read_json, read_metrics
from .folder import RUNS_DIR, RunPaths, list_runs, run_config
from .lineage import lineage_text, run_lineage
from .status import LIVE_STATUSES, read_status

# Statuses whose message says what went wrong, and how loudly to show it.
PROBLEMS = {"failed": "error", "diverged": "error", "interrupted": "warning", "unknown": "warning"}


def run_summary(run_dir: Path) -> dict:
    """One row of the runs table: the configuration that matters, status, the run it started from
    (`lineage_text`), final validation figures and duration (seconds)."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    records = read_metrics(RunPaths(run_dir).metrics)
    epochs = [r for r in records if r.get("kind") == "epoch"]
    final = epochs[-1] if epochs else {}
    status = read_status(run_dir)
    # The figures first: what people sort and compare runs by.
    return {
        "run": run_dir.name, "val_auc": final.get("val_auc"), "val_eer": final.get("val_eer"),
        "oneshot": final.get("oneshot_accuracy"), "status": status.get("status", "unknown"),
        "started_from": lineage_text(run_lineage(run_dir)),  # the run whose network it began with
        "epochs": final.get("epoch", 0), "seconds": max((r.get("elapsed", 0.0) for r in records), default=0.0),
        "data": config.data, "model": config.model, "loss": config.loss,
        "margin": config.margin if config.margin is not None else LOSSES[config.loss].default_margin,
        "distance": config.distance, "dim": config.embedding_dim, "lr": config.lr,
        "batch": f"{config.p}x{config.k}", "processes": status.get("processes", 1), "started": status.get("started"),
    }


def split_people(run_dir: Path) -> tuple[int, int]:
    """(training identities, validation identities) of a run, as its split records them."""
    split = read_json(RunPaths(Path(run_dir)).split)
    return len(split.get("train", [])), len(split.get("validation", []))


def runs_table(runs_dir: Path = RUNS_DIR) -> list[dict]:
    """`run_summary` of every run, newest first; unreadable runs get a row saying why."""
    rows = []
    for run_dir in list_runs(runs_dir):
        try:
            rows.append(run_summary(run_dir))
        except Exception as exc:  # noqa: BLE001 - one broken run must not hide the others
            rows.append({"run": run_dir.name, "status": f"unreadable: {exc}"})
    return rows


def run_problem(run_dir: Path) -> tuple[str, str] | None:
    """('error' or 'warning', what went wrong) for a run that failed, diverged, was interrupted or whose
    status cannot be read; None for one that is fine."""
    status = read_status(Path(run_dir))
    level = PROBLEMS.get(status.get("status"))
    if level is None or not status.get("message"):
        return None
    return level, f"{Path(run_dir).name} {status['status']}: {status['message']}"


def next_step(run_dir: Path | None) -> tuple[str, str]:
    """(page, why): where to go next with the current run: train one, watch it, tune its threshold, or
    verify people with it."""
    if run_dir is None:
        return "Train", "No run yet: train a model on the current dataset."
    status = read_status(Path(run_dir)).get("status")
    if status in LIVE_STATUSES:
        return "Train", f"Run {Path(run_dir).name} is training: watch its curves."
    if not RunPaths(Path(run_dir)).checkpoint.exists():
        return "Train", f"Run {Path(run_dir).name} has no trained model ({status}): train one."
    if status != "finished" or not has_threshold(Path(run_dir)):
        return "Threshold", f"Run {Path(run_dir).name} is trained: choose its decision threshold on the ROC curve."
    return "Verify", f"Run {Path(run_dir).name} is ready: enrol people and verify them."


def has_threshold(run_dir: Path) -> bool:
    """Whether the run has a 1:1 threshold to decide with (a damaged one is not)."""
    try:
        return read_threshold(run_dir) is not None
    except RunError:
        return False


def epoch_losses(run_dir: Path) -> tuple[list[int], list[float | None]]:
    """(epochs, mean training loss of each): the loss curve of a whole run."""
    epochs = read_metrics(RunPaths(Path(run_dir)).metrics, "epoch")
    return [r["epoch"] for r in epochs], [r.get("train_loss") for r in epochs]


def delete_run(run_dir: Path) -> None:
    """Delete a run folder. Refuses a run that is still training."""
    run_dir = Path(run_dir)
    if not (RunPaths(run_dir).config.is_file() or RunPaths(run_dir).status.is_file()):
        raise RunError(f"{run_dir} is not a run folder; nothing was deleted")
    if read_status(run_dir).get("status") in LIVE_STATUSES:
        raise RunError(f"{run_dir.name} is still training; stop it first")
    try:
        shutil.rmtree(run_dir)
    except OSError as exc:
        raise RunError(f"cannot delete {run_dir}: {exc.strerror or exc} ({exc.filename}); some of its files "
                       "may remain. Check that the runs folder is writable.") from None
