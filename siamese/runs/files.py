"""Writing and reading the files of a run safely.

Files other processes read while training goes on (status, checkpoint, threshold) are written to a
temporary file and renamed, so a reader, or a crash, never sees half a file. `metrics.jsonl` is only
appended to; a reader skips a line that is still being written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import RunError
from ..files import atomic_write, read_json, write_json  # noqa: F401 - the run's JSON files are written as every other


def save_torch(path: Path, value: dict) -> str:
    """Save `value` safely; returns the fingerprint `load_torch_with_digest` gives the file."""
    digest = hashlib.sha256()

    def write(handle) -> None:
        buffer = io.BytesIO()
        torch.save(value, buffer)
        digest.update(buffer.getbuffer())
        handle.write(buffer.getbuffer())

    atomic_write(path, write)
    return digest.hexdigest()[:16]


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


def file_fingerprint(path: Path) -> str:
    """Changes whenever the file is rewritten (path, size and modification time); '' when missing.
    Cheap enough to key caches with on every page load, unlike a hash of the contents."""
    try:
        stat = Path(path).stat()
    except OSError:
        return ""
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a text file ('' when it cannot be read)."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
