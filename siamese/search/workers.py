"""Running a study: in this process, or as `--workers N` processes that each join it by name (as a worker
on another machine does: `python -m siamese search --storage URL --study NAME`), each with its share of
the cores (and of the GPUs, where there are several); and a search started from the dashboard, detached
from it, found again by its study, and stopped as a whole.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import optuna

from ..errors import RunError, SearchError, SiameseError
from ..runs.launch import PROJECT_ROOT, training_threads
from ..runs.status import pid_alive, running_runs
from .objective import TrialRun, fail_dead_trials, stop_local_trials
from .study import MACHINE_FIELDS, WORKER, Plan, joined_plan, open_study, request_stop, shown, stop_requested

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
LOGS = ".searches"  # under the runs folder: what a search started from the dashboard printed


def run_search(name: str, url: str, plan: Plan | None = None, overrides: dict | None = None,
               trials: int | None = None, timeout: float | None = None, runs_dir: str | Path = "runs",
               data_dir: str | Path = "data", workers: int = 1,
               on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None) -> optuna.Study:
    """Create or join study `name` in `url` and run `trials` trials (all of them, shared out among
    `workers` processes) or until `timeout` seconds; `on_trial` is told of each trial that ends."""
    study, plan = open_study(name, url, plan)
    plan = joined_plan(plan, overrides or {})
    fail_dead_trials(study)
    if workers > 1:
        machine = {f: v for f, v in (overrides or {}).items() if f in MACHINE_FIELDS}  # the rest is the study's
        processes = start_workers(name, url, workers, trials, timeout, runs_dir, data_dir, machine)
        watch(study, processes, on_trial)
        return study
    started = time.time()
    run = TrialRun(plan, name, shown(url), Path(runs_dir), Path(data_dir), lambda: stop_requested(study, started))

    def after(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if on_trial:
            on_trial(trial)
        if stop_requested(study, started):
            study.stop()

    study.optimize(run, n_trials=trials, timeout=timeout, catch=(SiameseError, OSError), callbacks=[after])
    return study


def shares(trials: int | None, workers: int) -> list[int | None]:
    """Each worker's trials: `trials` shared out as evenly as they go (16 over 3: 6, 5, 5)."""
    if trials is None:
        return [None] * workers
    return [trials // workers + (k < trials % workers) for k in range(workers)]


def worker_env(index: int, workers: int, cores: int | None = None, gpus: int = 0) -> dict:
    """A worker's environment: its share of the cores as threads, and one GPU of several, in turn."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    env["OMP_NUM_THREADS"] = str(max(1, (cores or os.cpu_count() or 1) // workers))
    env[WORKER] = str(index)
    if gpus > 1:
        env["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
    return env


def start_workers(name: str, url: str, workers: int, trials: int | None, timeout: float | None,
                  runs_dir: str | Path, data_dir: str | Path, overrides: dict) -> list[subprocess.Popen]:
    """`workers` processes joining study `name`, each running its share of the trials."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    processes = []
    for index, share in enumerate(shares(trials, workers)):
        if share == 0:
            continue
        command = worker_command(name, url, share, timeout, runs_dir, data_dir, overrides)
        processes.append(subprocess.Popen(command, env=worker_env(index, workers, gpus=gpus),
                                          stdin=subprocess.DEVNULL))
    return processes


def worker_command(name: str, url: str, trials: int | None, timeout: float | None, runs_dir: str | Path,
                   data_dir: str | Path, overrides: dict) -> list[str]:
    flags = [f"--{field.replace('_', '-')}={value}" for field, value in overrides.items() if value is not None]
    return [sys.executable, "-m", "siamese", "--data-dir", str(data_dir), "search", "--storage", url,
            "--study", name, "--out", str(runs_dir), "--quiet", *flags,
            *(["--trials", str(trials)] if trials else []), *(["--timeout", str(timeout)] if timeout else [])]


def watch(study: optuna.Study, processes: list[subprocess.Popen],
          on_trial: Callable[[optuna.trial.FrozenTrial], None] | None) -> None:
    """Wait for the workers to end, telling `on_trial` of each trial as it ends (whoever ran it), and
    failing the trials of a worker that was killed."""
    told: set[int] = set()
    while True:
        ended = all(p.poll() is not None for p in processes)
        fail_dead_trials(study)
        for trial in study.get_trials(deepcopy=False, states=FINISHED):
            if trial.number not in told:
                told.add(trial.number)
                if on_trial:
                    on_trial(trial)
        if ended:
            return
        time.sleep(1.0)


def launch_search(name: str, url: str, plan: Plan, trials: int | None, timeout: float | None, workers: int,
                  runs_dir: str | Path, data_dir: str | Path) -> int:
    """Create study `name` for `plan` and start a detached `python -m siamese search` on it (the dashboard
    never blocks on it, and a closed browser does not end it); returns its process id. Refused while this
    machine trains, or while the study's own search runs."""
    if running_runs(Path(runs_dir)):
        raise RunError("a run is in progress; stop it or wait for it to end before starting a search")
    study, _ = open_study(name, url, plan)
    if search_live(study):
        raise SearchError(f"study {name!r} is running already (another tab or worker); watch it, or stop it first")
    log = Path(runs_dir) / LOGS / f"{name}.log"
    command = worker_command(name, url, trials, timeout, runs_dir, data_dir, {})
    command[command.index("--quiet")] = f"--workers={workers}"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=worker_env(0, 1, training_threads()), start_new_session=True)
    except OSError as exc:
        raise RunError(f"cannot start the search: {exc.strerror or exc}. Check that {runs_dir} is writable "
                       "and the disk is not full.") from None
    threading.Thread(target=proc.wait, daemon=True).start()  # no zombie that looks alive
    study.set_user_attr("process", {"host": socket.gethostname(), "pid": proc.pid, "started": time.time()})
    return proc.pid


def search_live(study: optuna.Study) -> bool:
    """Whether the study is being searched: its dashboard-started process is alive here, or a trial runs
    (after failing those whose worker died)."""
    process = study.user_attrs.get("process") or {}
    if process.get("host") == socket.gethostname() and pid_alive(process.get("pid")):
        return True
    fail_dead_trials(study)
    return bool(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))


def live_studies(url: str) -> list[str]:
    """The studies of a storage being searched now, newest first."""
    from .study import list_studies, open_storage

    studies = list_studies(url)
    storage = open_storage(url) if studies else None
    return [s.study_name for s in studies if search_live(optuna.load_study(study_name=s.study_name, storage=storage))]


def stop_search(study: optuna.Study) -> None:
    """Stop a search as a whole: no new trial starts anywhere; the running ones end after their step here,
    after their epoch on other machines."""
    request_stop(study)
    stop_local_trials(study)


def search_log(runs_dir: str | Path, name: str) -> str:
    path = Path(runs_dir) / LOGS / f"{name}.log"
    try:
        return path.read_text(errors="replace")[-4000:]
    except OSError:
        return ""
