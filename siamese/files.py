"""Files written safely: to a temporary file, flushed and renamed, so that a reader, or a crash, never sees
half a file; and JSON read back with a message that says which file is damaged. Shared by the run folder
(`runs.files`) and the decisions (`decisions.saved`), neither of which depends on the other."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import RunError


def atomic_write(path: Path, write) -> None:
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
    atomic_write(path, lambda h: h.write((json.dumps(value, indent=2) + "\n").encode()))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunError(f"{path} is missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is unreadable or corrupt ({exc})") from None
