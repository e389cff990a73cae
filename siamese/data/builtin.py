"""The built-in datasets: scikit-learn's bundled digits (offline), its Olivetti faces, and LFW, which
download once into the data folder and say what to do when offline. LFW is used as the folder of
identity folders scikit-learn unpacks, at full resolution, with the benchmark's pairs files beside it."""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from .dataset import FaceDataset, from_arrays

BUILTIN_SOURCES = ("digits", "olivetti", "lfw")
# What a download of each costs, for people deciding whether to start one (bytes, about).
DOWNLOAD_BYTES = {"olivetti": 4_000_000, "lfw": 243_000_000}


def load_builtin(name: str, size: int, colour: str, data_dir: str | Path = "data") -> FaceDataset:
    """scikit-learn's bundled digits (offline), or its Olivetti / LFW fetchers cached under `data_dir`."""
    from sklearn import datasets as skd

    cache = Path(data_dir) / "sklearn"
    if name == "digits":
        digits = skd.load_digits()
        return from_arrays(digits.images, digits.target, size, colour, "digits",
                           [f"digit-{d}" for d in range(10)])
    cache.mkdir(parents=True, exist_ok=True)
    try:
        if name == "olivetti":
            faces = skd.fetch_olivetti_faces(data_home=str(cache))
            return from_arrays(faces.images, faces.target, size, colour, "olivetti",
                               [f"person-{i:02d}" for i in range(40)])
    except OSError as exc:
        raise _offline(name, exc, cache) from None
    raise DatasetError(f"unknown built-in dataset '{name}'; known: {', '.join(BUILTIN_SOURCES)}")


def builtin_folder(name: str, data_dir: str | Path = "data") -> Path | None:
    """The folder of identity folders of a built-in that is one (LFW: downloaded once, about 200 MB, with
    its pairs files); None for the built-ins held as arrays."""
    if name != "lfw":
        return None
    from sklearn.datasets._lfw import (
        _check_fetch_lfw,  # the fetcher's own download and unpacking
    )

    cache = Path(data_dir) / "sklearn"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _, folder = _check_fetch_lfw(data_home=str(cache), funneled=True, download_if_missing=True)
    except OSError as exc:
        raise _offline(name, exc, cache) from None
    return Path(folder)


def _offline(name: str, exc: Exception, cache: Path) -> DatasetError:
    return DatasetError(
        f"could not download the '{name}' dataset ({exc}). Connect to the internet once (it is then "
        f"cached under {cache}), or use a folder of identity folders, a .zip of them, or 'digits'.")


def builtin_is_cached(name: str, data_dir: str | Path = "data") -> bool:
    """Whether a fetched built-in (olivetti, lfw) is already on disk, so loading it needs no network."""
    cache = Path(data_dir) / "sklearn"
    marker = {"olivetti": "olivetti.pkz", "lfw": "lfw_home/lfw_funneled"}.get(name)
    return name == "digits" or (marker is not None and (cache / marker).exists())


class Download:
    """A built-in dataset fetched in a background thread, for a dashboard that must not wait: `running`,
    then `error` (a message) or done; `bytes_done()` follows the file being written."""

    def __init__(self, name: str, data_dir: str | Path = "data"):
        import threading

        self.name, self.data_dir, self.error = name, Path(data_dir), None
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"download-{name}")
        self.thread.start()

    def _run(self) -> None:
        try:
            if self.name == "lfw":
                builtin_folder(self.name, self.data_dir)
            else:
                load_builtin(self.name, 16, "grey", self.data_dir)
        except Exception as exc:  # noqa: BLE001 - a background thread must report, not vanish
            self.error = str(exc)

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    @property
    def total(self) -> int:
        return DOWNLOAD_BYTES.get(self.name, 0)

    def bytes_done(self) -> int:
        """Bytes of the download's partial files so far (scikit-learn writes `<file>.part_*` files)."""
        cache = self.data_dir / "sklearn"
        return sum(p.stat().st_size for p in cache.rglob("*.part_*") if p.is_file()) if cache.is_dir() else 0
