"""Zip archives of identity folders, imported safely: everything unsafe is refused before a byte is
written (paths that leave the folder, symbolic links, zip bombs), and an import is all or nothing.

`import_zip` is for uploads (a new folder under the data folder, named after the upload made safe);
`extracted_zip` is for a zip given by path (extracted once, reused while the zip is unchanged).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
import zlib
from pathlib import Path

from ..errors import DatasetError
from .folders import IGNORED_FOLDERS

# Limits: enough for LFW (13k images, 180 MB), small enough to stop a zip bomb.
MAX_ZIP_FILES = 50_000
MAX_ZIP_BYTES = 2_000_000_000
MAX_ZIP_RATIO = 200
EXTRACTED_MARKER = ".extracted-from"


def extract_zip(archive: str | Path | bytes, target: str | Path) -> Path:
    """Extract a zip of identity folders into `target`, all or nothing. Anything unsafe is refused before a
    byte is written: absolute paths, `..`, symlinks, too many files, or a total or ratio that marks a zip
    bomb. Members go to a hidden staging folder beside `target` and are moved into it only once every one
    was read intact, so a member that fails (corrupt, encrypted, disk full) leaves nothing behind."""
    target = Path(target)
    try:
        handle = zipfile.ZipFile(io.BytesIO(archive) if isinstance(archive, bytes) else archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DatasetError(f"not a readable zip file ({exc}); upload a .zip of identity folders") from None
    with handle:
        members = handle.infolist()
        _check_zip_members(members)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
        except OSError as exc:
            raise DatasetError(f"cannot write into {target.parent}: {exc.strerror or exc}; check that it is "
                               "writable and the disk is not full") from None
        try:
            for member in members:
                _extract_member(handle, member, staging.resolve())
            _move_into(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _dataset_root(target)


def import_zip(archive: str | Path | bytes, data_dir: str | Path, filename: str) -> Path:
    """Extract an uploaded zip into a new folder under `data_dir` named after the upload's `filename` (made
    safe: no path, no control characters), never into an existing folder. Returns the dataset root."""
    data_dir = Path(data_dir)
    base = folder_name(filename)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1000):
            target = data_dir / (base if attempt == 0 else f"{base}-{attempt}")
            try:
                target.mkdir()  # reserves the name, even against an import running in another tab
                break
            except FileExistsError:
                continue
        else:
            raise DatasetError(f"could not find a free folder name for {base!r} under {data_dir}")
    except OSError as exc:
        raise DatasetError(f"cannot write into {data_dir}: {exc.strerror or exc}; check that it is writable "
                           "and the disk is not full") from None
    try:
        return extract_zip(archive, target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def folder_name(filename: str, default: str = "upload") -> str:
    """A folder name from an uploaded file's name: its last path component without `.zip`, control and
    reserved characters replaced by '_', no leading dot, at most 100 characters."""
    name = unicodedata.normalize("NFC", re.split(r"[\\/]", filename)[-1])
    name = name[:-4] if name.lower().endswith(".zip") else name
    name = "".join("_" if unicodedata.category(ch)[0] == "C" or ch in '<>:"|?*' else ch for ch in name)
    return name.strip().lstrip(".").strip()[:100] or default


def _extract_member(handle: zipfile.ZipFile, member: zipfile.ZipInfo, root: Path) -> None:
    destination = (root / member.filename).resolve()
    try:
        if member.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            return
        destination.parent.mkdir(parents=True, exist_ok=True)
        with handle.open(member) as src, open(destination, "wb") as dst:
            _copy_limited(src, dst, member.file_size)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: a compression method zipfile lacks.
        raise DatasetError(f"zip member {member.filename!r} cannot be extracted ({exc}); nothing was imported. "
                           "Make the zip again without a password, with ordinary (deflate) compression") from None
    except OSError as exc:
        raise DatasetError(f"zip member {member.filename!r} cannot be written ({exc.strerror or exc}); "
                           "nothing was imported. Check that the data folder is writable and the disk is not "
                           "full") from None


def _move_into(staging: Path, target: Path) -> None:
    """Move a fully extracted staging folder to `target`: a rename, or when `target` exists already (the
    same zip extracted again), file by file over it."""
    try:
        if not target.exists():
            staging.rename(target)
            return
        for path in sorted(staging.rglob("*")):
            destination = target / path.relative_to(staging)
            if path.is_dir():
                destination.mkdir(exist_ok=True)
            else:
                os.replace(path, destination)
    except OSError as exc:
        raise DatasetError(f"cannot move the extracted files into {target}: {exc.strerror or exc}") from None


def extracted_zip(path: Path, data_dir: str | Path) -> Path:
    """The dataset root of a zip file extracted under `data_dir`: extracted once into `<name>/` (or
    `<name>-1/`, ... when that folder holds something else, which is never written over) and reused
    while the zip is unchanged. A marker file in the folder records which zip, of what size and time."""
    path = Path(path)
    stat = path.stat()
    stamp = f"{path.resolve()}\n{stat.st_size}\n{stat.st_mtime_ns}\n"
    base = folder_name(path.name)
    for attempt in range(1000):
        target = Path(data_dir) / (base if attempt == 0 else f"{base}-{attempt}")
        marker = target / EXTRACTED_MARKER
        if marker.is_file() and marker.read_text(errors="replace") == stamp:
            return _dataset_root(target)
        if not target.exists():
            root = extract_zip(path, target)
            try:
                marker.write_text(stamp)
            except OSError:
                pass  # only costs an extraction next time
            return root
    raise DatasetError(f"could not find a free folder for {path.name} under {data_dir}")


def _check_zip_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_ZIP_FILES:
        raise DatasetError(f"zip holds {len(members):,} entries; the limit is {MAX_ZIP_FILES:,}")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > MAX_ZIP_BYTES:
        raise DatasetError(f"zip would expand to {total / 1e9:.1f} GB; the limit is {MAX_ZIP_BYTES / 1e9:.0f} GB")
    if packed and total / packed > MAX_ZIP_RATIO and total > 10_000_000:
        raise DatasetError(f"zip expands {total / packed:.0f}-fold, which marks a zip bomb; refused")
    for member in members:
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
            raise DatasetError(f"zip entry {member.filename!r} points outside the folder; refused")
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise DatasetError(f"zip entry {member.filename!r} is a symbolic link; refused")


def _copy_limited(src, dst, declared: int) -> None:
    # A zip can lie about sizes in its directory: stop at the declared size, whatever the stream says.
    remaining = declared
    while chunk := src.read(min(1 << 20, remaining + 1)):
        remaining -= len(chunk)
        if remaining < 0:
            raise ValueError("member is larger than its declared size")
        dst.write(chunk)


def _dataset_root(folder: Path) -> Path:
    """A zip often wraps its identity folders in one top folder: descend through single folders."""
    current = folder
    while True:
        children = [p for p in current.iterdir() if not p.name.startswith(IGNORED_FOLDERS)]
        if len(children) == 1 and children[0].is_dir() and any(c.is_dir() for c in children[0].iterdir()):
            current = children[0]
            continue
        return current
