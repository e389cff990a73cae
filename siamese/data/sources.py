"""What a dataset name stands for, decided in this one place: a built-in ('digits', 'olivetti', 'lfw'), a
dataset folder under the data folder, a folder path, or a .zip (extracted under the data folder first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError
from .builtin import BUILTIN_SOURCES, load_builtin
from .dataset import FaceDataset, decode_identities
from .folders import FolderScan, find_datasets, scan_folder
from .zips import extracted_zip


@dataclass(frozen=True)
class Source:
    """A dataset by where it comes from: `folder` holds its identity folders, or is None for a built-in."""

    name: str
    folder: Path | None
    data_dir: Path

    @property
    def label(self) -> str:
        """The dataset's short name: the folder's name, or the built-in's."""
        return self.folder.name if self.folder is not None else self.name

    def scan(self) -> FolderScan:
        """The image files of each identity (by name only, nothing decoded). Folders only."""
        if self.folder is None:
            raise DatasetError(f"'{self.name}' is a built-in dataset, not a folder")
        return scan_folder(self.folder)

    def load(self, size: int, colour: str, identities: list[str] | None = None) -> FaceDataset:
        """The dataset decoded at `size` pixels and `colour`: every identity, or only those named (in that
        order), so a large folder is not read whole when a run needs part of it."""
        if self.folder is None:
            dataset = load_builtin(self.name, size, colour, self.data_dir)
            return dataset if identities is None else dataset.subset(identities)
        scan = self.scan()
        if identities is None:
            return decode_identities(scan.identities, size, colour, self.label, scan.problems)
        missing = [name for name in identities if name not in scan.identities]
        if missing:
            raise DatasetError(f"{self.folder} no longer holds identities the run used: {', '.join(missing[:5])}")
        return decode_identities({name: scan.identities[name] for name in identities}, size, colour,
                                 self.label, scan.problems)


def open_source(source: str, data_dir: str | Path = "data") -> Source:
    """The `Source` a dataset name stands for; DatasetError listing what is known when it names nothing."""
    data_dir = Path(data_dir)
    if source in BUILTIN_SOURCES:
        return Source(source, None, data_dir)
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
