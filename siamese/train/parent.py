"""Starting from what was learned: a run whose embedding network begins with another run's weights (its
checkpoint, or one of its snapshots), fine-tuned on new people. Only the network is taken; the loss's
own parameters (the class centres of CosFace and ArcFace, the BCE head) belong to the parent's people and
start new: imprinted (Qi, Brown and Lowe 2018), each new person's centre the mean of their embeddings
by the parent's network, so the first steps refine features instead of tearing them apart to fit
random centres. Resuming is another thing: it carries on one run with its optimiser, sampler and clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import TrainConfig
from ..data.dataset import FaceDataset, ImageFiles
from ..errors import RunError, SiameseError
from ..models import embed_images
from ..runs.files import load_torch, read_json
from ..runs.folder import RunPaths, run_config
from ..runs.lineage import parent_files
from ..runs.status import is_live

# The fields that make the network: a parent that differs in any cannot lend its weights.
NETWORK_FIELDS = ("model", "embedding_dim", "input_size", "colour", "normalize")
# The fields a run started from another keeps as its own: what it trains on, and for how long. It takes
# every other field from its parent (the network and the recipe that trained it), unless told otherwise;
# `faces` among them: the network learned faces cut one way (ORL's crops aligned as LFW's photos were:
# LFW -> ORL AUC 0.991; taken whole: 0.918).
OWN_FIELDS = ("data", "more_data", "exclude_people", "val_fraction", "validate_from", "singletons",
              "epochs", "max_seconds", "seed", "device", "init_from", "freeze_epochs", "data_loading",
              "loader_workers")


# The fine-tuning preset: the early layers frozen for the first epochs while the last stage and the
# embedding layer adapt to the new people, then everything, at a tenth of the parent's learning rate, so
# the steps refine what was learned rather than overwrite it. ORL from the LFW default, 60 s, seed 0: a
# quarter of the rate lost 0.002 of AUC on its start, a tenth gained (docs/BENCHMARKS.md).
FINE_TUNE = {"freeze_epochs": 2}
FINE_TUNE_LR_FACTOR = 0.1
FINE_TUNE_WHY = ("start from a trained run: its network and recipe, the early layers frozen for the first "
                 f"{FINE_TUNE['freeze_epochs']} epochs and a tenth of its learning rate, so what it learned "
                 "is refined, not overwritten; the loss's class centres start from the new people's embeddings")


@dataclass
class Parent:
    """The weights a run starts from, and where they come from."""

    run_dir: Path
    weights: Path
    config: TrainConfig
    state: dict          # the network's state_dict
    faces: str           # how the parent's faces were cut ('align' or 'whole')


def load_parent(init_from: str | Path) -> Parent:
    """The parent's network weights; RunError saying what to do when there is no such run, it is still
    training, it has no checkpoint yet, or its file cannot be loaded."""
    run_dir, weights = parent_files(init_from)
    if not run_dir.is_dir():
        raise RunError(f"init_from: {init_from} is not a run folder; name the folder of a trained run "
                       "(or one of its snapshot files)")
    config = run_config(run_dir)
    if is_live(run_dir):
        raise RunError(f"init_from: {run_dir.name} is still training; wait until it ends (or stop it) to start "
                       "from its final weights, or name one of its snapshot files")
    if not weights.is_file():
        raise RunError(f"init_from: {run_dir.name} has no checkpoint yet ({weights.name} is missing): it never "
                       "trained an epoch. Start from a run that did")
    saved = load_torch(weights)
    if not isinstance(saved.get("model"), dict):
        raise RunError(f"init_from: {weights} holds no network weights; name a checkpoint or snapshot of a run")
    split = read_json(RunPaths(run_dir).split) if RunPaths(run_dir).split.is_file() else {}
    return Parent(run_dir, weights, config, saved["model"], split.get("faces", "whole"))


def fine_tune(values: dict, init_from: str | Path) -> dict:
    """The fine-tuning preset: `values` started from `init_from` (`inherit`), with the early layers frozen
    for the first epochs and a tenth of the parent's learning rate."""
    started = inherit(values, init_from)
    return TrainConfig.from_dict({**started, **FINE_TUNE, "lr": started["lr"] * FINE_TUNE_LR_FACTOR}).to_dict()


def parent_choices(runs: list[Path]) -> list[tuple[Path, str]]:
    """The runs a new run can start from, among `runs` (newest first): those that ended with a checkpoint,
    each with a label naming its data and network."""
    choices = []
    for run_dir in runs:
        try:
            config = run_config(run_dir)
        except SiameseError:  # an unreadable run: the Runs page says what is wrong with it
            continue
        if is_live(run_dir) or not RunPaths(run_dir).checkpoint.is_file():
            continue
        choices.append((run_dir, f"{run_dir.name} ({Path(config.data).name}, {config.model} "
                                 f"{config.embedding_dim}-d, {config.input_size} px {config.colour})"))
    return choices


def network_differences(parent: TrainConfig, config: TrainConfig) -> list[str]:
    """What of the network differs between a parent's configuration and a new run's: 'input_size 64 (this
    run: 32)', ...; empty when the weights fit."""
    return [f"{name} {getattr(parent, name)} (this run: {getattr(config, name)})" for name in NETWORK_FIELDS
            if getattr(parent, name) != getattr(config, name)]


def check_fit(parent: Parent, config: TrainConfig, faces: str) -> list[str]:
    """RunError naming what differs when the parent's network does not fit this run's; the warnings worth
    showing otherwise (a parent trained on faces cut another way)."""
    differences = network_differences(parent.config, config)
    if differences:
        raise RunError(f"init_from: {parent.run_dir.name}'s network does not fit this run: "
                       f"{'; '.join(differences)}. Start from a run with the same network, or leave these "
                       "fields unset: a run started from another takes its network (the command line's "
                       "--init-from and the Train form's 'Start from' do)")
    if parent.faces != faces:
        return [f"{parent.run_dir.name} was trained on faces cut '{parent.faces}' and this run cuts them "
                f"'{faces}': its features fit the new faces less well at first"]
    return []


def inherit(values: dict, init_from: str | Path, keep: tuple[str, ...] = ()) -> dict:
    """The field values of a new run started from `init_from`: `values` (the new run's, its dataset's
    defaults included), with every field that is not its own (`OWN_FIELDS`) and not in `keep` (what the
    user set) taken from the parent's configuration: its network and the recipe that trained it."""
    run_dir, _ = parent_files(init_from)
    parent = run_config(run_dir).to_dict()
    taken = {name: value for name, value in parent.items() if name not in OWN_FIELDS and name not in keep}
    return TrainConfig.from_dict({**values, **taken, "init_from": str(init_from)}).to_dict()


# Images of each training identity embedded to imprint its centre: enough for a steady mean, few enough
# that a large dataset is embedded in seconds.
IMPRINT_IMAGES_PER_IDENTITY = 5


@torch.no_grad()
def imprint_centres(loss_fn: torch.nn.Module, model: torch.nn.Module, train_set: FaceDataset | ImageFiles,
                    device: torch.device) -> bool:
    """Set a classification loss's class centres (C, D) to the mean unit-length embedding of each training
    identity by `model`; False for a loss without centres (pair and triplet losses, BCE)."""
    centres = getattr(loss_fn, "centres", None)
    if centres is None:
        return False
    labels = train_set.labels
    chosen = torch.cat([torch.nonzero(labels == c).flatten()[:IMPRINT_IMAGES_PER_IDENTITY]
                        for c in range(len(train_set.identities))])
    if isinstance(train_set, FaceDataset):
        images = train_set.images[chosen]
    else:
        images = torch.stack([train_set[int(i)][0] for i in chosen])
    embeddings = F.normalize(embed_images(model, images, device), dim=1)
    sums = torch.zeros(len(train_set.identities), embeddings.shape[1]).index_add_(0, labels[chosen], embeddings)
    centres.copy_(F.normalize(sums, dim=1).to(centres.device, centres.dtype))
    return True
