"""The status of a run, written by whoever is responsible for it at the moment, and read by this one
reader: `new` (configured, not started), `queued` (waiting its turn in a sweep), `starting` (a process
was started and is loading its data), `running`, and the final ones (`pruned`: a search's trial its
pruner stopped on its validation curve). A process that ended without writing
a final status is reported for what it is: `failed` (it ended while starting, with the last lines it
printed), `interrupted`, or `cancelled` (a queued run whose sweep is gone)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import RunError
from .files import read_json, tail, write_json
from .folder import RunPaths

FINAL_STATUSES = ("finished", "stopped", "pruned", "diverged", "failed", "interrupted", "cancelled")
LIVE_STATUSES = ("starting", "running")
# Seconds a 'starting' status without a process id may stand: the launcher writes the id right after the
# process starts, so an older one is a launch that never completed.
LAUNCH_GRACE = 30.0
# Seconds: a process's start time from /proc is exact to a clock tick, but the boot time it is counted
# from can be off by a second or so; a reboot, or a reused id, comes much later than this.
PID_REUSE_SLACK = 10.0


def write_status(run_dir: Path, status: str, message: str, **fields) -> None:
    """Rewrite `status.json`, keeping when the run was first started."""
    previous = read_status(run_dir)  # tolerates a damaged status.json, which this rewrites
    write_json(RunPaths(Path(run_dir)).status, {
        "status": status, "message": message, **fields,
        "started": previous.get("started", time.time()), "updated": time.time(),
    })


def read_status(run_dir: Path) -> dict:
    """The run's status record, with what its process turned out to be: a 'starting' run whose process
    is gone is 'failed' (its message the last lines it printed), a 'running' one 'interrupted'."""
    paths = RunPaths(Path(run_dir))
    if not paths.status.exists():
        return {"status": "new"} if paths.root.is_dir() else {"status": "gone"}
    try:
        status = read_json(paths.status)
    except RunError as exc:
        return {"status": "unknown", "message": str(exc)}
    if not isinstance(status, dict):
        return {"status": "unknown", "message": f"{paths.status} does not hold a status record"}
    if status.get("status") == "starting" and not _still_starting(status):
        output = tail(paths.log)
        status = {**status, "status": "failed",
                  "message": output or "the training process ended before it began training"}
    elif status.get("status") == "running" and not _alive(status):
        status = {**status, "status": "interrupted",
                  "message": "the training process ended without finishing; resume it to go on"}
    elif status.get("status") == "queued" and not _alive(status):
        status = {**status, "status": "cancelled", "message": "its sweep ended before its turn came"}
    return status


def _still_starting(status: dict) -> bool:
    if status.get("pid") is None:
        return time.time() - float(status.get("updated") or 0) < LAUNCH_GRACE
    return _alive(status)


def _alive(status: dict) -> bool:
    """Whether the process that wrote a status is alive. A live process with the same id that started
    well after the status was written is another one (ids are reused, after a reboot above all)."""
    pid, written = status.get("pid"), status.get("updated")
    if not pid_alive(pid):
        return False
    started = process_start_time(pid)
    return started is None or not isinstance(written, (int, float)) or started <= written + PID_REUSE_SLACK


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists and has not ended (a zombie, ended but not yet collected by
    its parent, counts as ended)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # not Linux: os.kill said it exists


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


def is_live(run_dir: Path) -> bool:
    return read_status(run_dir).get("status") in LIVE_STATUSES


def running_runs(runs_dir: Path) -> list[Path]:
    """Run folders whose training is starting or running (started here, in another tab or from the
    command line), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    live = [(p, read_status(p)) for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    live = [(p, s) for p, s in live if s.get("status") in LIVE_STATUSES]
    return [p for p, s in sorted(live, key=lambda item: item[1].get("started", 0), reverse=True)]


def request_stop(run_dir: Path) -> None:
    """Ask a training process to stop after its current step (it saves a checkpoint first)."""
    RunPaths(Path(run_dir)).stop.touch()
