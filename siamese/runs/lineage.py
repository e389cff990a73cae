"""Where a run started (its lineage): from new weights, from another run's checkpoint or snapshot
(`init_from`), or as an adaptation of another run to the people of a gallery, which keeps a copy of
their crops in its `people/` folder (`gallery.adapt`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import SiameseError
from .folder import RUNS_DIR, RunPaths, list_runs, run_config

PEOPLE_FOLDER = "people"  # an adaptation's copy of the enrolled people's crops, one folder a person


def parent_files(init_from: str | Path) -> tuple[Path, Path]:
    """(the parent's run folder, its weights file) for `init_from`: a run folder (its checkpoint) or one of
    its weights files (a snapshot)."""
    path = Path(init_from).expanduser()
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "snapshots" else path.parent
        return run_dir, path
    return path, RunPaths(path).checkpoint


def adapted_people(run_dir: str | Path) -> list[str]:
    """The people an adapted run trained on (empty for any other run)."""
    folder = Path(run_dir) / PEOPLE_FOLDER
    config = run_config(Path(run_dir))
    if not config.more_data or str(folder.resolve()) not in config.more_data or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def run_lineage(run_dir: Path) -> dict | None:
    """Where a run started: None for one trained from new weights; else {'parent': the parent run's name,
    'parent_dir': its folder, 'weights': 'checkpoint' or the snapshot file it started from, 'exists': whether
    the parent is still there, 'adapted_to': the enrolled people it was adapted to (empty unless it is an
    adaptation, `gallery.adapt`)}."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    if not config.init_from:
        return None
    parent_dir, weights = parent_files(config.init_from)
    return {"parent": parent_dir.name, "parent_dir": parent_dir,
            "weights": "checkpoint" if weights == RunPaths(parent_dir).checkpoint else weights.name,
            "exists": RunPaths(parent_dir).config.is_file(), "adapted_to": adapted_to(run_dir)}


def lineage_text(lineage: dict | None) -> str:
    """A lineage in a few words: 'new weights', 'tiny', 'tiny (epoch-0004.pt)', 'tiny, adapted to 3 enrolled
    people', with '(deleted)' for a parent that is gone."""
    if lineage is None:
        return "new weights"
    text = lineage["parent"] + ("" if lineage["weights"] == "checkpoint" else f" ({lineage['weights']})")
    if not lineage["exists"]:
        text += " (deleted)"
    people = len(lineage["adapted_to"])
    if people:
        text += f", adapted to {people} enrolled {'person' if people == 1 else 'people'}"
    return text


def adapted_to(run_dir: Path) -> list[str]:
    """The enrolled people a run was adapted to (`gallery.adapt`): empty for any other run, and for one whose
    configuration cannot be read (its page says why elsewhere)."""
    try:
        return adapted_people(run_dir)
    except SiameseError:
        return []


def adaptations_of(run_dir: Path, runs_dir: Path = RUNS_DIR) -> list[Path]:
    """The adaptations of a run's model to enrolled people (`gallery.adapt`), newest first: the runs under
    `runs_dir` that started from `run_dir` and trained on people of a gallery. Unreadable runs are skipped."""
    found = []
    for other in list_runs(runs_dir):
        try:
            lineage = run_lineage(other)
        except SiameseError:
            continue
        if lineage and lineage["adapted_to"] and _same_folder(lineage["parent_dir"], Path(run_dir)):
            found.append(other)
    return found


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b
