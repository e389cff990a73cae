"""Several datasets trained on at once (LFW with a folder of one's own people, LFW with ORL): each keeps its
own face cut, and its people stay its own. The first dataset (`data`) keeps its people's names, so LFW's
protocol files still name them; the people of every other dataset are named `source/person`, so two `s1`
folders are two people and a reader can tell which dataset an identity came from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DatasetError
from ..faces import FACE_CUTS
from ..faces.cache import resolve_cut
from .dataset import FaceDataset, concat_datasets
from .folders import FolderScan
from .sources import Progress, Source, open_source


@dataclass(frozen=True)
class TrainingSource:
    """One dataset of a run: as given, opened, the prefix of its people's names and how its faces are cut."""

    given: str
    source: Source
    prefix: str
    cut: str
    reason: str

    def record(self) -> dict:
        return {"data": self.given, "label": self.source.label, "prefix": self.prefix, "faces": self.cut,
                "faces_reason": self.reason}


def split_cut(given: str) -> tuple[str, str]:
    """(dataset, cut) of a `more_data` entry: 'NAME@whole' or 'NAME@align' sets how its faces are cut (the
    gallery's stored crops are large, yet cut already); plain 'NAME' is 'auto'."""
    for cut in FACE_CUTS:
        if given.endswith(f"@{cut}"):
            return given[:-len(cut) - 1], cut
    return given, "auto"


def training_sources(names: list[str], faces: str, data_dir: str | Path = "data") -> list[TrainingSource]:
    """The datasets `names` stands for, in order: the first cut as `faces` says, the others as their entry
    says (`split_cut`), by default as their images need ('auto': a folder of face crops whole, photographs
    aligned). DatasetError naming a dataset given twice, or one that cannot be opened."""
    opened, seen, labels = [], {}, set()
    for i, given in enumerate(names):
        name, own_cut = (given, faces) if i == 0 else split_cut(given)
        try:
            source = open_source(name, data_dir)
        except DatasetError as exc:
            raise DatasetError(f"dataset {i + 1} of {len(names)} ('{name}'): {exc}") from None
        key = str(source.folder.resolve()) if source.folder is not None else source.name
        if key in seen:
            raise DatasetError(f"'{name}' is the same dataset as '{seen[key]}', given twice; its people would "
                               "count as two sets of people. Give each dataset once")
        seen[key] = name
        cut, reason = resolve_cut(own_cut, source.folder, source.name)
        prefix = "" if i == 0 else _prefix(source.label, labels)
        labels.add(prefix)
        opened.append(TrainingSource(name, source, prefix, cut, reason))
    return opened


def _prefix(label: str, taken: set[str]) -> str:
    prefix, n = f"{label}/", 2
    while prefix in taken:
        prefix, n = f"{label}-{n}/", n + 1
    return prefix


def source_of(identity: str, sources: list[dict]) -> dict:
    """The recorded source (`TrainingSource.record()`) an identity name belongs to."""
    for record in sources[1:]:
        if identity.startswith(record["prefix"]):
            return record
    return sources[0]


def scan_source(part: TrainingSource, progress: Progress | None = None) -> FolderScan | None:
    """A folder dataset's image files by prefixed identity, its faces cut as `part` says; None for a
    built-in without a folder (decoded instead, by `load_builtin_source`)."""
    if part.source.folder is None:
        return None
    scan = part.source.images(part.cut, progress)
    if not part.prefix:
        return scan
    return FolderScan({part.prefix + name: files for name, files in scan.identities.items()}, scan.skipped_files,
                      [f"{part.source.label}: {problem}" for problem in scan.problems])


def load_builtin_source(part: TrainingSource, size: int, colour: str) -> FaceDataset:
    """A built-in source without a folder (scikit-learn's digits), decoded at `size` and `colour`, its
    identities prefixed; folders are listed (`scan_source`) and decoded together by the caller."""
    dataset = part.source.load(size, colour)
    return replace(dataset, identities=[part.prefix + name for name in dataset.identities])


def load_recorded(sources: list[dict], identities: list[str], size: int, colour: str,
                  data_dir: str | Path = "data") -> FaceDataset:
    """The named identities (in that order) of a run's recorded sources, each source's faces cut as it was
    in training: what a reader of a run trained on several datasets decodes."""
    datasets = []
    for record in sources:
        mine = [name for name in identities if source_of(name, sources) is record]
        if not mine:
            continue
        source = open_source(record["data"], data_dir)
        own = [name[len(record["prefix"]):] for name in mine]
        datasets.append(replace(source.load(size, colour, own, cut=record["faces"]), identities=mine))
    if not datasets:
        raise DatasetError("none of the identities asked for belong to the run's datasets")
    joined = datasets[0] if len(datasets) == 1 else concat_datasets(datasets, sources[0]["label"])
    return joined.subset(identities)


def describe_mix(names: list[str], faces: str, data_dir: str | Path = "data") -> list[str]:
    """One line per dataset trained beside the first: its people and images (counted by name, nothing
    decoded or detected) and how its faces are cut; DatasetError as `training_sources` raises it."""
    lines = []
    for part in training_sources(names, faces, data_dir)[1:]:
        if part.source.folder is None:
            lines.append(f"{part.source.label} (built-in), its people named {part.prefix}…, faces {part.cut}")
            continue
        scan = part.source.scan()
        lines.append(f"{part.source.label}: {len(scan.identities):,} people, {scan.images:,} images, its people "
                     f"named {part.prefix}…, faces {part.cut} ({part.reason})")
    return lines
