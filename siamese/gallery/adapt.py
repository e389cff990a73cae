"""Adapting a model to the people enrolled: a short run that starts from the gallery's model and trains on
the enrolled people's own face crops, from the user's own camera, beside a sample of the model's own
dataset so that what it learned there is not forgotten. The result is a new run; the gallery is then
embedded by it (its embeddings are kept per model, so it is never half embedded by two models) and its
thresholds are calibrated on it again.

Figures on the enrolled people are no longer figures on people the model never saw: it has trained on
them. The run says so (`ADAPTED_NOTE`), and so does every page that shows it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import SOURCE_SEPARATOR, TrainConfig
from ..data.images import IMAGE_EXTENSIONS
from ..data.mix import split_cut
from ..errors import GalleryError, RunError
from ..runs.files import write_json
from ..runs.folder import RUNS_DIR, RunPaths, new_run_dir
from ..runs.lineage import PEOPLE_FOLDER
from ..train.parent import FINE_TUNE, load_parent

# The adaptation's recipe over its parent's: fine-tuning (`train.parent.FINE_TUNE`), on the base dataset
# sampled to BASE_PEOPLE people so the enrolled people are a fair share of each batch; validation stays on
# the base dataset's people, and people enrolled from one photo train too. The budget is in seconds.
ADAPTATION = {**FINE_TUNE, "validate_from": "data", "singletons": "classes", "epochs": 1000}
BASE_PEOPLE = 300
# The rate is lower than fine-tuning's: the gallery's thresholds are calibrated on its people compared
# with each other, and once the model has trained on them it pushes them apart more than it does people it
# never saw, so a stranger passes the calibrated 1:N threshold more often. ORL, 30 enrolled, 60 s, strangers
# answered "unknown": 82 % at a tenth of the parent's rate, 94 % at a twentieth, 98 % at 0.03 (100 % before).
LR_FACTOR = 0.03
ADAPTED_NOTE = ("this model was adapted to the people enrolled: it has trained on their enrolment photos, so "
                "its figures on them are no longer figures on people it never saw")


def enrolled_people(gallery_root: str | Path) -> dict[str, list[Path]]:
    """The gallery's people and their stored face crops, by name; GalleryError when fewer than two people
    are enrolled (an adaptation learns to tell people apart: one person gives it nothing to separate)."""
    identities = Path(gallery_root) / "identities"
    people = {folder.name: sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
              for folder in sorted(identities.iterdir()) if folder.is_dir()} if identities.is_dir() else {}
    people = {name: files for name, files in people.items() if files}
    if len(people) < 2:
        raise GalleryError(f"{'nobody is' if not people else 'one person is'} enrolled in {gallery_root}: an "
                           "adaptation learns to tell the enrolled people apart, so it needs two people or more. "
                           "Enrol more people first")
    return people


def adaptation_config(parent: TrainConfig, parent_run: str | Path, people: Path, max_seconds: float | None,
                      seed: int = 0, epochs: int | None = None) -> TrainConfig:
    """The configuration of an adaptation: the parent's, trained on the parent's datasets (its first
    sampled) and the enrolled people's crops (taken whole: they are cut already), starting from the
    parent's network."""
    return TrainConfig.from_dict({
        **parent.to_dict(), **ADAPTATION, "init_from": str(parent_run),
        "more_data": SOURCE_SEPARATOR.join([*_kept_sources(parent, parent_run), f"{people}@whole"]),
        "lr": parent.lr * LR_FACTOR, "data_people": BASE_PEOPLE, "max_seconds": max_seconds, "seed": seed,
        **({"epochs": epochs} if epochs else {}),
    })


def _kept_sources(parent: TrainConfig, parent_run: str | Path) -> list[str]:
    """The parent's other datasets, less the people it was itself adapted to: the gallery's copy in this
    adaptation has them (two copies would make each of them two people, each the other's impostor)."""
    own = str((Path(parent_run) / PEOPLE_FOLDER).resolve())
    return [given for given in parent.sources[1:] if split_cut(given)[0] != own]


def create_adaptation(run_dir: str | Path, gallery_root: str | Path, runs_dir: str | Path = RUNS_DIR,
                      max_seconds: float | None = 60.0, seed: int = 0, name: str | None = None,
                      epochs: int | None = None) -> Path:
    """A new run folder that adapts `run_dir`'s model to the gallery's people, ready to train (`python -m
    siamese train --run DIR`) for `max_seconds` or `epochs`, whichever ends first, named `name` or
    `<run>-adapted` (`-1`, ... when taken): its configuration, and a copy of the enrolled crops as they are now (a person
    enrolled or removed meanwhile changes neither the training nor the run's record of it). RunError when
    the parent cannot lend its weights, GalleryError when fewer than two people are enrolled."""
    people = enrolled_people(gallery_root)
    parent = load_parent(run_dir)
    new = new_run_dir(Path(runs_dir), name, base=f"{parent.run_dir.name}-adapted")
    try:
        folder = new / PEOPLE_FOLDER
        for person, files in people.items():
            (folder / person).mkdir(parents=True)
            for path in files:
                shutil.copy2(path, folder / person / path.name)
        config = adaptation_config(parent.config, parent.run_dir, folder.resolve(), max_seconds, seed, epochs)
        write_json(RunPaths(new).config, config.to_dict())
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise RunError(f"cannot prepare the adaptation in {new}: {exc.strerror or exc}; check that the disk is "
                       "not full") from None
    return new

