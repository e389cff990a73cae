"""What a dataset name stands for, decided in this one place: a built-in ('digits', 'olivetti', 'lfw'), a
dataset folder under the data folder, a folder path, or a .zip (extracted under the data folder first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DatasetError
from ..faces.cache import prepare_faces
from .builtin import BUILTIN_SOURCES, builtin_folder, load_builtin
from .dataset import FaceDataset, decode_identities
from .folders import FolderScan, find_datasets, scan_folder
from .zips import extracted_zip

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Source:
    """A dataset by where it comes from: `folder` holds its identity folders, or is None for a built-in."""

    name: str
    folder: Path | None
    data_dir: Path

    @property
    def label(self) -> str:
        """The dataset's short name: the built-in's, or the folder's name."""
        return self.name if self.name in BUILTIN_SOURCES or self.folder is None else self.folder.name

    def scan(self) -> FolderScan:
        """The image files of each identity (by name only, nothing decoded). Folders only."""
        if self.folder is None:
            raise DatasetError(f"'{self.name}' is a built-in dataset, not a folder")
        return scan_folder(self.folder)

    def images(self, cut: str = "whole", progress: Progress | None = None,
               scan: FolderScan | None = None) -> FolderScan:
        """The image files to decode, by identity: the folder's own, or with cut 'align' its aligned face
        crops (`faces.cache.prepare_faces`: prepared once, then cached). `scan`: the folder's listing,
        when the caller has made it (a folder is listed once a call). Folders only."""
        scan = scan or self.scan()
        if cut != "align":
            return scan
        prepared = prepare_faces(self.folder, self.data_dir, progress, scan=scan)
        crops = FolderScan(dict(prepared.crops.identities), prepared.crops.skipped_files)
        crops.problems = scan.problems + prepared.problems
        return crops

    def load(self, size: int, colour: str, identities: list[str] | None = None, cut: str = "whole",
             progress: Progress | None = None) -> FaceDataset:
        """The dataset decoded at `size` pixels and `colour`: every identity, or only those named (in that
        order), so a large folder is not read whole when a run needs part of it. With cut 'align', the
        faces are the folder's aligned crops."""
        if self.folder is None:
            if cut == "align":
                raise DatasetError(f"'{self.name}' holds face crops, not photographs to find faces in; set "
                                   "faces to 'whole'")
            dataset = load_builtin(self.name, size, colour, self.data_dir)
            return dataset if identities is None else dataset.subset(identities)
        files = self.files_of(identities, cut, progress)
        return decode_identities(files.identities, size, colour, self.label, files.problems)

    def files_of(self, identities: list[str] | None, cut: str = "whole", progress: Progress | None = None
                 ) -> FolderScan:
        """The files to decode of the identities named (in that order; every identity when None), cut as
        `cut` says; the folder is listed once. DatasetError when it no longer holds one of them. Folders
        only."""
        scan = self.scan()
        missing = [name for name in identities or [] if name not in scan.identities]
        if missing:
            raise DatasetError(f"{self.folder} no longer holds identities the run used: {', '.join(missing[:5])}")
        files = self.images(cut, progress, scan)
        names = list(files.identities) if identities is None else identities
        return FolderScan({name: files.identities.get(name, []) for name in names}, files.skipped_files,
                          files.problems)


def open_source(source: str, data_dir: str | Path = "data") -> Source:
    """The `Source` a dataset name stands for; DatasetError listing what is known when it names nothing."""
    data_dir = Path(data_dir)
    if source in BUILTIN_SOURCES:
        return Source(source, builtin_folder(source, data_dir), data_dir)
    path = Path(source).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        return Source(source, extracted_zip(path, data_dir), data_dir)
    if path.is_dir():
        return Source(source, path, data_dir)
    named = find_datasets(data_dir)
    if source in named:
        return Source(source, named[source], data_dir)
    known = list(BUILTIN_SOURCES) + sorted(named)
    raise DatasetError(f"no dataset '{source}': give a folder of identity folders, a .zip of them, "
                       f"or one of: {', '.join(known)}")


def load_dataset(source: str, size: int, colour: str = "grey", data_dir: str | Path = "data") -> FaceDataset:
    """Every image of the dataset `source` names, decoded (see `open_source`)."""
    return open_source(source, data_dir).load(size, colour)


def source_options(data_dir: str | Path = "data") -> list[str]:
    """Dataset names the user can pick: identity-folder datasets under `data_dir`, then the built-ins."""
    return sorted(find_datasets(data_dir)) + list(BUILTIN_SOURCES)
