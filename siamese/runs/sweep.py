"""A sweep: one field of a configuration tried at a few values, the runs queued and trained one after
another in one process (`python -m siamese sweep --sweep FILE`), which goes on when the dashboard is
closed or reloaded; stopped as a whole; compared by their final figures against the swept value.

A sweep is a file beside its runs, `runs/<name>.sweep.json`: the field, the values, the run of each value
and the process id of the runner. Each run is an ordinary run folder, `queued` until its turn.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainConfig, coerce
from ..errors import ConfigError, RunError, SiameseError
from .files import read_json, read_metrics, write_json
from .folder import RUNS_DIR, RunPaths, create_run, run_config
from .launch import PROJECT_ROOT, stop_training, training_threads
from .status import LIVE_STATUSES, pid_alive, read_status, running_runs, write_status

SUFFIX = ".sweep.json"
MAX_VALUES = 12


@dataclass
class Sweep:
    path: Path
    field: str
    values: list
    runs: list[str]             # run folder names, in the order of `values`
    pid: int | None

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    @property
    def stop_file(self) -> Path:
        return self.path.with_name(self.name + ".STOP")

    @property
    def live(self) -> bool:
        return pid_alive(self.pid) and not self.stop_file.exists()


def plan_sweep(config: TrainConfig, field: str, values: str | list[str]) -> list[TrainConfig]:
    """One configuration per value of `field` (a list, or text as typed: '0.1, 0.2; 0.5'), the rest as
    `config`. ConfigError naming the field, the value and the reason for a value the configuration
    refuses, before anything is made."""
    if isinstance(values, str):
        values = re.split(r"[,;]", values)
    if field in ("data", "device") or field not in config.to_dict():
        raise ConfigError(f"sweep: {field!r} is not a field that can be swept")
    texts = [v.strip() for v in values if str(v).strip()]
    if not 2 <= len(texts) <= MAX_VALUES:
        raise ConfigError(f"sweep: give between 2 and {MAX_VALUES} values of {field}, not {len(texts)}")
    configs = []
    for text in texts:
        try:
            configs.append(TrainConfig.from_dict({**config.to_dict(), field: coerce(field, text)}))
        except ConfigError as exc:
            raise ConfigError(f"sweep: the value {text!r} of {field} is refused: {exc}") from None
    if len({getattr(c, field) for c in configs}) < len(configs):
        raise ConfigError(f"sweep: the values of {field} repeat; give each once")
    return configs


def start_sweep(configs: list[TrainConfig], field: str, runs_dir: str | Path = RUNS_DIR,
                data_dir: str | Path = "data") -> Sweep:
    """Make the sweep's runs (queued) and start the process that trains them one after another. Refused
    while a run trains: the machine trains one at a time."""
    runs_dir = Path(runs_dir)
    if running_runs(runs_dir) or any(s.live for s in list_sweeps(runs_dir)):
        raise RunError("a run is in progress; stop it or wait for it to end before starting a sweep")
    path = _claim(runs_dir, time.strftime(f"sweep-{field}-%Y%m%d-%H%M%S"))
    name = path.name.removesuffix(SUFFIX)
    runs = [create_run(config, runs_dir, f"{name}-{k + 1}") for k, config in enumerate(configs)]
    for run in runs:
        write_status(run, "queued", f"waiting its turn in sweep {name}", pid=os.getpid())
    write_json(path, {"field": field, "values": [getattr(c, field) for c in configs],
                      "runs": [r.name for r in runs], "pid": None, "created": time.time()})
    command = [sys.executable, "-m", "siamese", "--data-dir", str(data_dir), "sweep", "--sweep", str(path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("OMP_NUM_THREADS", str(training_threads()))
    with open(path.with_name(name + ".sweep.log"), "ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    threading.Thread(target=proc.wait, daemon=True).start()  # no zombie that looks alive
    record = read_json(path)
    write_json(path, {**record, "pid": proc.pid})
    for run in runs:
        write_status(run, "queued", f"waiting its turn in sweep {name}", pid=proc.pid)
    return read_sweep(path)


def _claim(runs_dir: Path, base: str) -> Path:
    """A sweep record's path nobody uses, claimed by creating the file (two tabs in one second)."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1000):
            path = runs_dir / f"{base if attempt == 0 else f'{base}-{attempt}'}{SUFFIX}"
            try:
                path.open("x").close()
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise RunError(f"cannot start a sweep in {runs_dir}: {exc.strerror or exc}. Check that the folder is "
                       "writable and the disk is not full.") from None
    raise RunError(f"could not find a free sweep name under {runs_dir}")


def run_sweep(path: str | Path, data_dir: str | Path = "data") -> Sweep:
    """Train the sweep's runs one after another in this process, which pays for importing torch once
    rather than once a run; a stop request (`stop_sweep`), Ctrl-C or SIGTERM ends the current run cleanly
    and cancels the rest. A run that fails (its data, its configuration) is marked so, and the next runs."""
    from ..train.loop import train

    sweep = read_sweep(path)
    signalled = False
    for name in sweep.runs:
        run = Path(path).parent / name
        if sweep.stop_file.exists() or signalled:
            write_status(run, "cancelled", "the sweep was stopped before its turn")
            continue
        if read_status(run).get("status") != "queued":
            continue
        write_status(run, "starting", "loading the dataset", pid=os.getpid())
        try:
            result = train(run_config(run), run, data_dir=data_dir)
        except SiameseError as exc:
            write_status(run, "failed", str(exc))
            continue
        signalled = result.message.startswith("stopped by SIG")
    return sweep


def stop_sweep(sweep: Sweep) -> None:
    """Stop a sweep as a whole: its current run ends after its step (with a checkpoint), the queued ones
    are cancelled."""
    try:
        sweep.stop_file.touch()
    except OSError as exc:
        raise RunError(f"cannot stop sweep {sweep.name}: {exc.strerror or exc}") from None
    for name in sweep.runs:
        run = sweep.path.parent / name
        status = read_status(run).get("status")
        if status in LIVE_STATUSES:
            stop_training(run)
        elif status == "queued":
            write_status(run, "cancelled", "the sweep was stopped before its turn")


def read_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    record = read_json(path)
    try:
        return Sweep(path, str(record["field"]), list(record["values"]), [str(r) for r in record["runs"]],
                     record.get("pid"))
    except (KeyError, TypeError) as exc:
        raise RunError(f"{path} is not a sweep record ({exc})") from None


def list_sweeps(runs_dir: str | Path = RUNS_DIR) -> list[Sweep]:
    """The sweeps of a runs folder, newest first; unreadable records are skipped."""
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

