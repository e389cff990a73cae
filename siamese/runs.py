"""A run is a folder: `config.json`, `split.json`, `metrics.jsonl`, `status.json`, `checkpoint.pt`,
`threshold.json`, and `snapshots/epoch-NNNN.pt`. This module reads and writes them safely.

Files other processes read while training goes on (status, checkpoint, threshold) are written to a
temporary file and renamed, so a reader, or a crash, never sees half a file. `metrics.jsonl` is only
appended to; a reader skips a line that is still being written.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig
from .errors import RunError

RUNS_DIR = Path("runs")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
FINAL_STATUSES = ("finished", "stopped", "diverged", "failed", "interrupted")


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


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}. Check that the folder is writable "
                       "and the disk is not full.") from None


def write_json(path: Path, value: Any) -> None:
    _atomic_write(path, lambda h: h.write((json.dumps(value, indent=2) + "\n").encode()))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is unreadable or corrupt ({exc})") from None


def save_torch(path: Path, value: dict) -> None:
    _atomic_write(path, lambda h: torch.save(value, h))


def load_torch(path: Path) -> dict:
    """Load a checkpoint with `weights_only=True`: tensors and plain values only, never code."""
    return _load_torch(path, path)


def load_torch_with_digest(path: Path) -> tuple[dict, str]:
    """`load_torch`, and the first 16 hex digits of the file's SHA-256, from one read of the file."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RunError(f"{path} is missing: the run has not saved a checkpoint yet") from None
    except OSError as exc:
        raise RunError(f"{path} cannot be read ({exc.strerror or exc})") from None
    return _load_torch(io.BytesIO(raw), path), hashlib.sha256(raw).hexdigest()[:16]


def _load_torch(source, path: Path) -> dict:
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RunError(f"{path} is missing: the run has not saved a checkpoint yet") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt or unsafe files
        # torch's own message advises weights_only=False, which is exactly what must not be done with an
        # untrusted file, so only the exception type is passed on.
        raise RunError(f"{path} is not a checkpoint this tool can load safely ({type(exc).__name__}); it is "
                       "corrupt, or holds more than tensors and plain values. Use a checkpoint written by "
                       "this tool.") from None


# The fields a reader may index in each kind of metrics record; any other field is read with .get().
RECORD_FIELDS = {"step": ("epoch", "step", "loss", "images_per_second"),
                 "epoch": ("epoch", "val_auc", "val_eer"),
                 "end": ("status",)}


def append_metrics(path: Path, record: dict) -> None:
    """Append one record as a line. A last line without its newline was cut by a crash (a process killed
    mid-write): it is dropped first, so the file stays one JSON record a line after a resume."""
    try:
        with open(path, "a+b") as handle:
            _drop_torn_line(handle)
            handle.write((json.dumps(record) + "\n").encode("utf-8"))
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}. Check that the folder is writable "
                       "and the disk is not full.") from None


def _drop_torn_line(handle) -> None:
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    start = max(0, size - (1 << 16))
    handle.seek(start)
    tail = handle.read()
    cut = tail.rfind(b"\n")
    if cut < 0 and start > 0:  # a torn line longer than the window: look at the whole file
        handle.seek(0)
        tail, start = handle.read(), 0
        cut = tail.rfind(b"\n")
    handle.truncate(start + cut + 1)


def read_metrics(path: Path, kind: str | None = None) -> list[dict]:
    """Records of `metrics.jsonl`, optionally only those of one kind ('step', 'epoch', 'end').
    A last line without its newline is being written (or was cut by a crash) and is skipped, and so is
    any line that is not a record with the fields of its kind (garbage left by a disk fault)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records = []
    for line in text.split("\n")[:-1]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not _well_formed(record):
            continue
        if kind is None or record.get("kind") == kind:
            records.append(record)
    return records


def _well_formed(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    needed = RECORD_FIELDS.get(record.get("kind"), ())
    return all(name in record and (name == "status" or _is_number(record[name])) for name in needed)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def new_run_dir(runs_dir: Path = RUNS_DIR, name: str | None = None) -> Path:
    """Create a fresh run folder. Without a name, one from the time; never reuses an existing folder,
    so two trainings started at once get two folders."""
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {runs_dir}: {exc.strerror or exc}") from None
    base = name or time.strftime("%Y%m%d-%H%M%S")
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
            raise RunError(f"cannot create {candidate}: {exc.strerror or exc}") from None
    raise RunError(f"could not find a free run folder name under {runs_dir}")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(run_dir: Path) -> dict:
    """The run's status record; a 'running' run whose process is gone is reported as 'interrupted'."""
    path = RunPaths(Path(run_dir)).status
    if not path.exists():
        return {"status": "new"}
    try:
        status = read_json(path)
    except RunError as exc:
        return {"status": "unknown", "message": str(exc)}
    if status.get("status") == "running" and not _still_training(status):
        status = {**status, "status": "interrupted",
                  "message": "the training process ended without finishing; resume it to go on"}
    return status


def _still_training(status: dict) -> bool:
    """Whether the process that wrote a 'running' status is alive. A live process with the same id that
    started well after the status was written is another one (ids are reused, after a reboot above all)."""
    pid, written = status.get("pid"), status.get("updated")
    if not pid_alive(pid):
        return False
    started = process_start_time(pid)
    return started is None or not isinstance(written, (int, float)) or started <= written + PID_REUSE_SLACK


# Seconds: a process's start time from /proc is exact to a clock tick, but the boot time it is counted
# from can be off by a second or so; a reboot, or a reused id, comes much later than this.
PID_REUSE_SLACK = 10.0


def process_start_time(pid: int) -> float | None:
    """When process `pid` started, in seconds since the epoch; None where /proc does not tell (not Linux)."""
    try:
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(after_name[19])  # field 22, starttime, in clock ticks after boot
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def request_stop(run_dir: Path) -> None:
    """Ask a training process to stop after its current step (it saves a checkpoint first)."""
    RunPaths(Path(run_dir)).stop.touch()


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
    """Store the decision threshold (a distance) that verification uses with this run."""
    write_json(RunPaths(Path(run_dir)).threshold, {"threshold": float(threshold), "source": source,
                                                   "saved": time.time()})


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


def file_fingerprint(path: Path) -> str:
    """Changes whenever the file is rewritten (path, size and modification time); '' when missing.
    Cheap enough to key caches with on every page load, unlike a hash of the contents."""
    try:
        stat = Path(path).stat()
    except OSError:
        return ""
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def run_summary(run_dir: Path) -> dict:
    """One row of the runs table: the configuration that matters, status, final validation figures and
    duration (seconds)."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    records = read_metrics(RunPaths(run_dir).metrics)
    epochs = [r for r in records if r.get("kind") == "epoch"]
    final = epochs[-1] if epochs else {}
    status = read_status(run_dir)
    return {
        "run": run_dir.name, "status": status.get("status", "unknown"), "data": config.data,
        "model": config.model, "loss": config.loss, "distance": config.distance, "dim": config.embedding_dim,
        "lr": config.lr, "batch": f"{config.p}x{config.k}", "processes": status.get("processes", 1),
        "epochs": final.get("epoch", 0),
        "val_auc": final.get("val_auc"), "val_eer": final.get("val_eer"),
        "oneshot": final.get("oneshot_accuracy"),
        "seconds": max((r.get("elapsed", 0.0) for r in records), default=0.0),
        "started": status.get("started"),
    }


def runs_table(runs_dir: Path = RUNS_DIR) -> list[dict]:
    """`run_summary` of every run, newest first; unreadable runs get a row saying why."""
    rows = []
    for run_dir in list_runs(runs_dir):
        try:
            rows.append(run_summary(run_dir))
        except Exception as exc:  # noqa: BLE001 - one broken run must not hide the others
            rows.append({"run": run_dir.name, "status": f"unreadable: {exc}"})
    return rows


def delete_run(run_dir: Path) -> None:
    """Delete a run folder (and its launch record). Refuses a run that is still training."""
    import shutil

    run_dir = Path(run_dir)
    if not (RunPaths(run_dir).config.is_file() or RunPaths(run_dir).status.is_file()):
        raise RunError(f"{run_dir} is not a run folder; nothing was deleted")
    if read_status(run_dir).get("status") == "running":
        raise RunError(f"{run_dir.name} is still training; stop it first")
    try:
        shutil.rmtree(run_dir)
        for leftover in (run_dir.parent / ".launches").glob(f"{run_dir.name}.*"):
            leftover.unlink(missing_ok=True)
    except OSError as exc:
        raise RunError(f"cannot delete {run_dir}: {exc.strerror or exc} ({exc.filename}); some of its files "
                       "may remain. Check that the runs folder is writable.") from None
