"""Training in a separate process, started from a run folder that already holds its configuration.

`launch` makes the run folder (`folder.create_run`: config.json), writes a `starting` status, and starts
`python -m siamese train --run DIR`, detached from the caller (a dashboard must never block on it, and
closing the browser must not end it), with its output in the run's `train.log`. Whoever looks later,
from another tab or after a reload, finds the run by its folder (`status.read_status`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..config import TrainConfig
from ..errors import RunError
from .files import load_torch
from .folder import RUNS_DIR, RunPaths, create_run, run_config
from .status import pid_alive, read_status, request_stop, write_status

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def training_threads(cores: int | None = None) -> int:
    """Threads for a training started from the dashboard: one core fewer than the machine has, so the
    dashboard and the browser watching it keep one. Measured on 2 cores with one of them busy: 2 threads
    made 33 steps in 15 s (OpenMP's threads wait on each other while one is descheduled), 1 thread 141."""
    return max(1, (cores or os.cpu_count() or 1) - 1)


def launch(config: TrainConfig, runs_dir: str | Path = RUNS_DIR, data_dir: str | Path = "data",
           name: str | None = None) -> Path:
    """Create a run for `config` and start training it in a new process; returns the run folder."""
    run_dir = create_run(config, Path(runs_dir), name)
    start_training(run_dir, data_dir)
    return run_dir


def resumable(run_dir: str | Path) -> bool:
    """Whether a run can be carried on: it has ended (stopped, pruned, interrupted, or finished and may be given
    more epochs or seconds) and has a checkpoint to carry on from."""
    return read_status(Path(run_dir)).get("status") in ("stopped", "pruned", "interrupted", "finished") \
        and RunPaths(Path(run_dir)).checkpoint.exists()


def resume_training(run_dir: str | Path, data_dir: str | Path = "data", epochs: int | None = None,
                    max_seconds: float | None = None) -> int:
    """Carry a stopped or interrupted run on from its checkpoint in a new process (`python -m siamese
    train --resume DIR`, with `epochs` or the time budget raised when given); its curves and its clock
    carry on in the same metrics."""
    run_dir = Path(run_dir)
    if not RunPaths(run_dir).checkpoint.exists():
        raise RunError(f"{run_dir.name} has no checkpoint to resume from; start a new run")
    if read_status(run_dir).get("status") in ("starting", "running"):
        raise RunError(f"{run_dir.name} is still training")
    saved, config = load_torch(RunPaths(run_dir).checkpoint), run_config(run_dir)
    if saved["epoch"] >= (epochs or config.epochs):
        raise RunError(f"{run_dir.name} has trained {saved['epoch']} of its {config.epochs} epochs; raise the "
                       "epochs to train it further")
    budget = max_seconds or config.max_seconds
    if budget is not None and saved.get("elapsed", 0.0) >= budget:
        raise RunError(f"{run_dir.name} has used its time budget of {budget:g} s; raise the budget to train it "
                       "further")
    extra = (["--epochs", str(epochs)] if epochs else []) + (["--max-seconds", str(max_seconds)] if max_seconds else [])
    return start_training(run_dir, data_dir, ["--resume", str(run_dir), *extra])


def start_training(run_dir: str | Path, data_dir: str | Path = "data", how: list[str] | None = None) -> int:
    """Start `python -m siamese train --run DIR` (or `how`, the options after `train`) on a run folder
    holding `config.json`; returns its process id. The `starting` status names the process, so a training
    nobody could find is never left running: when the status cannot be written, the process is killed."""
    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    command = [sys.executable, "-m", "siamese", "--data-dir", str(data_dir), "train", "--quiet",
               *(how or ["--run", str(run_dir)])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("OMP_NUM_THREADS", str(training_threads()))
    try:
        write_status(run_dir, "starting", "starting the training process")
        with open(paths.log, "ab") as log:  # a resumed run's output follows the first part's
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)
    except (OSError, RunError) as exc:
        raise RunError(f"cannot start training in {run_dir}: {getattr(exc, 'strerror', None) or exc}. Check "
                       f"that {run_dir.parent} is a folder that is writable and the disk is not full.") from None
    # Collect the process when it ends, so it never lingers as a zombie that looks alive.
    threading.Thread(target=proc.wait, name=f"wait-{proc.pid}", daemon=True).start()
    try:
        write_status(run_dir, "starting", "loading the dataset", pid=proc.pid)
    except RunError as exc:
        proc.kill()
        raise RunError(f"cannot record the training started in {run_dir} ({exc}); it was stopped. Check that "
                       "the disk is not full.") from None
    return proc.pid


def stop_training(run_dir: str | Path) -> None:
    """Ask the run to stop after its current step; it saves a checkpoint and the threshold first. A run
    still loading its data has no step to finish: its process is asked to end now (SIGTERM), and says so
    in its status."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is not a run folder")
    status = read_status(run_dir)
    if status.get("status") == "starting" and pid_alive(status.get("pid")):
        os.kill(status["pid"], signal.SIGTERM)
        return
    request_stop(run_dir)
