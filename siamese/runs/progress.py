"""What a live view of a run shows, read from its folder; cheap enough to call every second."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .files import read_metrics
from .folder import RunPaths
from .status import FINAL_STATUSES, LIVE_STATUSES, read_status


def clock(seconds: float | None) -> str:
    """Seconds as mm:ss (h:mm:ss past an hour); '--:--' when unknown (None or NaN before the first step)."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes:02d}:{secs:02d}"


@dataclass
class Progress:
    status: str                       # new, starting, running, finished, stopped, diverged, failed, ...
    message: str
    steps: list[int] = field(default_factory=list)        # step numbers of the loss curve
    losses: list[float] = field(default_factory=list)     # training loss per step (thinned for long runs)
    epochs: list[dict] = field(default_factory=list)      # the 'epoch' records: val_auc, val_eer, ...
    epoch: int = 0
    epochs_total: int = 0
    fraction: float = 0.0             # of the planned steps or the time budget, whichever ends first
    elapsed: float = 0.0              # seconds of training
    remaining: float | None = None    # seconds, estimated
    images_per_second: float | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


def read_progress(run_dir: str | Path, max_points: int = 2000) -> Progress:
    """Everything a live view shows, read from the run folder."""
    run_dir = Path(run_dir)
    state = read_status(run_dir)
    records = read_metrics(RunPaths(run_dir).metrics)
    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    progress = Progress(state.get("status", "unknown"), state.get("message", ""), epochs=epochs,
                        epochs_total=int(state.get("epochs") or 0))
    stride = max(1, math.ceil(len(steps) / max_points))
    progress.steps = [r["step"] for r in steps[::stride]]
    progress.losses = [r["loss"] for r in steps[::stride]]
    last = (steps or epochs or [{}])[-1]
    progress.epoch = int(last.get("epoch", 0))
    progress.elapsed = float(max((r.get("elapsed", 0.0) for r in records), default=0.0))
    if steps:
        total = max(int(steps[-1].get("steps_total") or 1), 1)
        fraction = steps[-1]["step"] / total
        budget = state.get("max_seconds")
        if budget:
            fraction = max(fraction, progress.elapsed / float(budget))
        progress.fraction = min(fraction, 1.0)
        progress.images_per_second = statistics.median(r["images_per_second"] for r in steps[-20:])
    if progress.status in FINAL_STATUSES and progress.status != "interrupted":
        progress.fraction = 1.0 if progress.status == "finished" else progress.fraction
        progress.remaining = 0.0
    elif progress.fraction > 0:
        progress.remaining = progress.elapsed * (1 - progress.fraction) / progress.fraction
    return progress

