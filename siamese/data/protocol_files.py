"""The files of the LFW benchmark's protocols, read strictly: pairs files (View 1: `pairsDevTest.txt`,
one set; View 2: `pairs.txt`, ten folds) and people files (`peopleDevTest.txt`, `people.txt`, or simply one
name a line). Every malformed line is refused with its number, and every pair's images are found before
anything is scored.

Pairs format: a header line, `N` (one set) or `FOLDS N` (folds), then per set or fold N matched lines
`name n1 n2` followed by N mismatched lines `name1 n1 name2 n2`; image n of `name` is the file
`name/name_NNNN.<ext>` (numbers from 1, four digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .images import IMAGE_EXTENSIONS

# Where a pairs file's images are looked for, relative to the file, when no folder is given.
IMAGE_FOLDERS = ("images", "lfw_funneled", "lfw-deepfunneled", "lfw", ".")


@dataclass
class PairsFile:
    """The pairs of a protocol file: `left`, `right` image paths and `same` (1 matched, 0 mismatched),
    each (M,), with `fold` (M,) the fold of each pair (0 for a file of one set)."""

    path: Path
    images: Path                 # the folder of identity folders the images were found in
    left: list[Path]
    right: list[Path]
    same: np.ndarray
    fold: np.ndarray
    folds: int                   # 1 for a single set (View 1), 10 for View 2

    @property
    def people(self) -> set[str]:
        return {p.parent.name for p in self.left + self.right}


# What each kind of protocol file is, for a message about a file that is not one.
PAIRS_FILE = ("a pairs file is text in LFW's format: a first line with the number of pairs of each kind "
              "('500', or '10 300' for ten folds), then a pair a line, 'name n1 n2' for two photos of one "
              "person or 'name1 n1 name2 n2' for two people (pairsDevTest.txt, pairs.txt)")
PEOPLE_FILE = ("a people file is text: one name a line, LFW's 'name count' lines (peopleDevTest.txt, "
               "people.txt), or a pairs file")


def _fields(path: Path, kind: str) -> list[tuple[int, list[str]]]:
    """The non-blank lines of a protocol file, split into fields; `kind` says what the file should be."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not a text file (byte {exc.object[exc.start]:#04x} at position "
                           f"{exc.start} is not UTF-8); {kind}") from None
    except OSError as exc:
        raise DatasetError(f"{path} cannot be read ({exc.strerror or exc}); {kind}") from None
    return [(number, line.split()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _number(path: Path, line: int, value: str, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise DatasetError(f"{path}, line {line}: {what} {value!r} is not a whole number") from None
    if number < 1:
        raise DatasetError(f"{path}, line {line}: {what} {number} must be 1 or more")
    return number


def read_pairs(path: str | Path, images: str | Path | None = None) -> PairsFile:
    """Read a pairs file and find every image it names, in `images` or in a folder next to the file."""
    path = Path(path)
    lines = _fields(path, PAIRS_FILE)
    if not lines:
        raise DatasetError(f"{path} is empty; give an LFW pairs file (pairsDevTest.txt or pairs.txt)")
    number, header = lines[0]
    if len(header) not in (1, 2):
        raise DatasetError(f"{path}, line {number}: the first line must be the number of pairs of each kind "
                           "('500') or the folds and that number ('10 300'), not "
                           f"{' '.join(header)!r}")
    folds = _number(path, number, header[0], "the number of folds") if len(header) == 2 else 1
    per_kind = _number(path, number, header[-1], "the number of pairs")
    body = lines[1:]
    if len(body) != 2 * per_kind * folds:
        raise DatasetError(f"{path}: the header promises {folds} x ({per_kind} matched + {per_kind} mismatched) "
                           f"= {2 * per_kind * folds} pairs, but {len(body)} lines follow")
    root = find_image_folder(path, images)
    left, right, same, fold = [], [], [], []
    for k, (line, fields) in enumerate(body):
        matched = (k // per_kind) % 2 == 0
        expected = 3 if matched else 4
        if len(fields) != expected:
            kind = "matched 'name n1 n2'" if matched else "mismatched 'name1 n1 name2 n2'"
            raise DatasetError(f"{path}, line {line}: a {kind} pair was expected here ({expected} fields), "
                               f"not {len(fields)} fields: the file mixes formats or its counts are wrong")
        a_name, a_n = fields[0], fields[1]
        b_name, b_n = (fields[0], fields[2]) if matched else (fields[2], fields[3])
        left.append(_image(path, line, root, a_name, _number(path, line, a_n, "image number")))
        right.append(_image(path, line, root, b_name, _number(path, line, b_n, "image number")))
        same.append(int(matched))
        fold.append(k // (2 * per_kind))
    return PairsFile(path, root, left, right, np.array(same, np.int64), np.array(fold, np.int64), folds)


def find_image_folder(pairs: Path, images: str | Path | None) -> Path:
    """The folder of identity folders a pairs file's images are in: `images` when given, else the first
    of IMAGE_FOLDERS next to the file that holds identity folders."""
    if images is not None:
        folder = Path(images)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder for the images of {pairs.name}")
        return folder
    for name in IMAGE_FOLDERS:
        folder = (pairs.parent / name).resolve()
        if folder.is_dir() and any(child.is_dir() for child in folder.iterdir()):
            return folder
    raise DatasetError(f"found no folder of images next to {pairs} (looked for "
                       f"{', '.join(IMAGE_FOLDERS[:-1])}); give the folder of identity folders with --data")


def _image(path: Path, line: int, root: Path, name: str, number: int) -> Path:
    stem = f"{name}_{number:04d}"
    for extension in sorted(IMAGE_EXTENSIONS):
        candidate = root / name / (stem + extension)
        if candidate.is_file():
            return candidate
    if not (root / name).is_dir():
        raise DatasetError(f"{path}, line {line}: {name} is not in {root} (no folder {name}/)")
    raise DatasetError(f"{path}, line {line}: {name} has no image {number} in {root / name} (no file {stem}.*)")


def read_people(path: str | Path) -> list[str]:
    """The names in a people file: LFW's (`peopleDevTest.txt`: a count, then `name count` lines;
    `people.txt`: the same in folds, a count line before each), one name a line, or the names of a pairs
    file."""
    path = Path(path)
    lines = _fields(path, PEOPLE_FILE)
    if not lines:
        raise DatasetError(f"{path} is empty; give a people file (one name a line, or LFW's format)")
    if any(len(fields) in (3, 4) for _, fields in lines[1:]):
        return sorted(set(_pair_names(path, lines)))
    names = []
    for line, fields in lines:
        if len(fields) == 1 and fields[0].isdigit():
            continue  # a count line
        if len(fields) == 2 and fields[1].isdigit():
            names.append(fields[0])
        elif len(fields) == 1:
            names.append(fields[0])
        else:
            raise DatasetError(f"{path}, line {line}: expected a name, or 'name count', not {' '.join(fields)!r}")
    return names


def _pair_names(path: Path, lines: list[tuple[int, list[str]]]) -> list[str]:
    """The people of a pairs file, without looking for its images."""
    names = []
    for line, fields in lines[1:]:
        if len(fields) == 3:
            names.append(fields[0])
        elif len(fields) == 4:
            names += [fields[0], fields[2]]
        else:
            raise DatasetError(f"{path}, line {line}: a pair line has 3 or 4 fields, not {len(fields)}")
    return names


def read_people_folds(path: str | Path) -> list[list[str]]:
    """The folds of LFW's `people.txt` (View 2): a fold count, then for each fold a count of people and
    that many `name count` lines. The names of each fold, in order; a malformed file is refused with the
    line at fault."""
    path = Path(path)
    lines = _fields(path, PEOPLE_FILE)
    if not lines or len(lines[0][1]) != 1:
        raise DatasetError(f"{path}: expected a fold count on the first line (LFW's people.txt)")
    folds, at = [], 1
    for _ in range(_number(path, lines[0][0], lines[0][1][0], "the fold count")):
        if at >= len(lines) or len(lines[at][1]) != 1:
            raise DatasetError(f"{path}: fold {len(folds) + 1} has no count line "
                               f"(line {lines[at][0] if at < len(lines) else 'end of file'})")
        size = _number(path, lines[at][0], lines[at][1][0], "the count of people")
        rows = lines[at + 1:at + 1 + size]
        bad = next(((line, fields) for line, fields in rows if len(fields) != 2 or not fields[1].isdigit()), None)
        if len(rows) < size or bad:
            where = f"line {bad[0]}: expected 'name count', not {' '.join(bad[1])!r}" if bad else "too few lines"
            raise DatasetError(f"{path}, fold {len(folds) + 1} of {size} people: {where}")
        folds.append([fields[0] for _, fields in rows])
        at += 1 + size
    return folds
