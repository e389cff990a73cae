"""Training in a separate process, and its live progress read back from the run folder.

`start_training` runs `python -m siamese train ...` detached from the caller (a dashboard must never block
on it, and closing the browser must not end it). Whoever looks later, from another tab or after a reload,
finds the run by its folder: `status.json` says 'running' with the process id, and `metrics.jsonl` holds the
curves. Until the process has written its status, a launch record under `runs/.launches/` stands in, so a
run being set up is already visible and not started twice.
"""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from .config import TrainConfig
from .errors import RunError
from .runs import (FINAL_STATUSES, RUN_ID, RUNS_DIR, RunPaths, pid_alive, read_metrics, read_status,
                   request_stop, write_json)

LAUNCHES = ".launches"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_children: dict[int, subprocess.Popen] = {}


def _reap() -> None:
    """Collect our finished children, so an ended process is not mistaken for a live one (a zombie)."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def process_alive(pid: int | None) -> bool:
    _reap()
    return pid_alive(pid)


def config_arguments(config: TrainConfig) -> list[str]:
    """`python -m siamese train` options that rebuild `config` exactly."""
    args = []
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        flag = "--" + f.name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + f.name.replace("_", "-"))
        else:
            args += [flag, str(value)]
    return args


def training_threads(cores: int | None = None) -> int:
    """Threads for a training started from the dashboard: one core fewer than the machine has, so the
    dashboard and the browser watching it keep one. Measured on 2 cores with one of them busy: 2 threads
    made 33 steps in 15 s (OpenMP's threads wait on each other while one is descheduled), 1 thread 141."""
    return max(1, (cores or os.cpu_count() or 1) - 1)


def _reserve_name(runs_dir: Path, name: str | None) -> str:
    """A run name nobody uses, claimed by creating its launch record exclusively: two tabs starting in the
    same second get two names. The placeholder names this process until the child's pid replaces it."""
    base = name or time.strftime("%Y%m%d-%H%M%S")
    if not RUN_ID.match(base):
        raise RunError(f"run name {base!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    for attempt in range(1000):
        candidate = base if attempt == 0 else f"{base}-{attempt}"
        if not (runs_dir / candidate).exists():
            try:
                with open(runs_dir / LAUNCHES / f"{candidate}.json", "x") as handle:
                    handle.write(json.dumps({"pid": os.getpid(), "started": time.time()}))
                return candidate
            except FileExistsError:
                pass
        if name:
            raise RunError(f"a run named {name!r} already exists; pick another name")
    raise RunError(f"could not find a free run name under {runs_dir}")


def start_training(config: TrainConfig, runs_dir: str | Path = RUNS_DIR, data_dir: str | Path = "data",
                   name: str | None = None) -> Path:
    """Start training `config` in a new process; returns the run folder it will write (it appears within
    a second or so). Output of the process goes to `runs/.launches/<name>.log`."""
    runs_dir = Path(runs_dir)
    try:
        (runs_dir / LAUNCHES).mkdir(parents=True, exist_ok=True)
        name = _reserve_name(runs_dir, name)
        run_dir = runs_dir / name
        log_path = runs_dir / LAUNCHES / f"{name}.log"
        command = [sys.executable, "-m", "siamese", "--data-dir", str(data_dir), "train", "--quiet",
                   "--out", str(run_dir), *config_arguments(config)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
        env.setdefault("OMP_NUM_THREADS", str(training_threads()))
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)
    except OSError as exc:
        raise RunError(f"cannot start training in {runs_dir}: {exc.strerror or exc}. Check that the folder is "
                       "writable and the disk is not full.") from None
    _children[proc.pid] = proc
    record = {"pid": proc.pid, "run_dir": str(run_dir), "started": time.time(), "log": str(log_path),
              "command": command}
    try:
        write_json(runs_dir / LAUNCHES / f"{name}.json", record)
    except (OSError, RunError) as exc:
        proc.kill()  # a training nobody can find or stop must not run on
        raise RunError(f"cannot record the training started in {runs_dir} ({exc}); it was stopped. Check that "
                       "the disk is not full.") from None
    return run_dir


def launch_record(run_dir: str | Path) -> dict | None:
    run_dir = Path(run_dir)
    path = run_dir.parent / LAUNCHES / f"{run_dir.name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def launch_log(run_dir: str | Path, lines: int = 20) -> str:
    """The last lines the training process printed (errors end up here)."""
    record = launch_record(run_dir)
    if not record:
        return ""
    try:
        return "\n".join(Path(record["log"]).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_state(run_dir: str | Path) -> dict:
    """`read_status`, plus 'starting' for a launched process that has not written its status yet and
    'failed' (with the process output as message) for one that ended before it did."""
    run_dir = Path(run_dir)
    _reap()
    if RunPaths(run_dir).status.exists():
        return read_status(run_dir)
    record = launch_record(run_dir)
    if record is None:
        return {"status": "new"}
    if pid_alive(record["pid"]):
        return {"status": "starting", "pid": record["pid"], "message": "loading the dataset",
                "started": record["started"]}
    return {"status": "failed", "message": launch_log(run_dir) or "the training process ended at once"}


def running_runs(runs_dir: str | Path = RUNS_DIR) -> list[Path]:
    """Run folders whose training process is alive (started here, in another tab or from the command
    line), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    candidates = {p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")}
    candidates |= {runs_dir / p.stem for p in (runs_dir / LAUNCHES).glob("*.json")}
    live = [p for p in candidates if run_state(p)["status"] in ("running", "starting")]
    return sorted(live, key=lambda p: (launch_record(p) or {}).get("started", 0) or _mtime(p), reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def stop_training(run_dir: str | Path) -> None:
    """Ask the run to stop after its current step; it saves a checkpoint and the threshold first."""
    run_dir = Path(run_dir)
    record = launch_record(run_dir)
    if not RunPaths(run_dir).status.exists() and record and process_alive(record["pid"]):
        # Still loading its data: the process clears any STOP file when it starts, so end it instead.
        os.kill(record["pid"], signal.SIGTERM)
        return
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is not a run folder")
    request_stop(run_dir)


def clock(seconds: float | None) -> str:
    """Seconds as mm:ss (h:mm:ss past an hour); '--:--' when unknown (None or NaN before the first step)."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes:02d}:{secs:02d}"


@dataclass
class Progress:
    status: str                       # starting, running, finished, stopped, diverged, failed, interrupted
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
        return self.status in ("starting", "running")


def read_progress(run_dir: str | Path, max_points: int = 2000) -> Progress:
    """Everything a live view shows, read from the run folder; cheap enough to call every second."""
    run_dir = Path(run_dir)
    state = run_state(run_dir)
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
