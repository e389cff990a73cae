"""Starting a run from another's network (siamese/train/parent.py): the weights it takes and those it makes
new, the epoch it is measured at before any step, the layers it keeps frozen, and the parents it refuses."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from siamese.errors import RunError
from siamese.models import early_layers
from siamese.runs.files import load_torch, read_metrics, write_json
from siamese.runs.folder import RunPaths, new_run_dir
from siamese.train.loop import resume, train
from siamese.train.parent import fine_tune, imprint_centres, inherit, load_parent, network_differences


@pytest.fixture
def parent(tmp_path, faces, small_config):
    """A run trained for 4 epochs on the 12 synthetic people of `faces`."""
    run = new_run_dir(tmp_path / "runs", "parent")
    train(small_config(faces, epochs=4), run, data_dir=tmp_path / "data")
    return run


@pytest.fixture
def new_people(make_identity_folders, tmp_path):
    """12 other synthetic people (another seed: other pictures of other stripes and blobs)."""
    return make_identity_folders(tmp_path / "new", n_identities=12, n_images=6, seed=5)


def child(tmp_path, config, name="child"):
    run = new_run_dir(tmp_path / "runs", name)
    return run, train(config, run, data_dir=tmp_path / "data")


def epochs_of(run):
    return [r for r in read_metrics(RunPaths(run).metrics) if r["kind"] == "epoch"]


def test_a_started_run_begins_with_its_parents_network_and_is_measured_before_any_step(
        tmp_path, parent, new_people, small_config):
    run, result = child(tmp_path, small_config(new_people, epochs=2, init_from=str(parent), seed=1))
    first = epochs_of(run)[0]
    assert first["epoch"] == 0 and first["step"] == 0 and first["train_loss"] is None
    assert [r["epoch"] for r in epochs_of(run)] == [0, 1, 2]
    started = load_torch(RunPaths(run).snapshots / "epoch-0000.pt")["model"]
    for name, value in load_torch(RunPaths(parent).checkpoint)["model"].items():
        assert torch.equal(started[name], value), name
    split = json.loads(RunPaths(run).split.read_text())
    assert split["parent"]["run"] == str(parent)
    assert json.loads(RunPaths(run).config.read_text())["init_from"] == str(parent)
    assert result.status == "finished"


def noisy(root, seed):
    rng = np.random.default_rng(seed)
    for path in sorted(root.rglob("*.png")):
        pixels = np.asarray(Image.open(path), dtype=np.float64)
        Image.fromarray(np.clip(pixels + rng.normal(0, 0.3 * 255, pixels.shape), 0, 255).astype(np.uint8)).save(path)
    return root


def test_what_the_parent_learned_carries_over_to_people_it_never_saw(tmp_path, noisy_faces, make_identity_folders,
                                                                     small_config):
    """On noisy pictures an untrained network separates people poorly (AUC about 0.75); a network trained on
    12 people separates 12 others it never saw better from its first epoch, before any step on them."""
    others = noisy(make_identity_folders(tmp_path / "others", n_identities=12, n_images=6, seed=5), 1)
    learned, _ = child(tmp_path, small_config(noisy_faces, epochs=8, augment=True), "learned")
    started, _ = child(tmp_path, small_config(others, epochs=1, init_from=str(learned), seed=1), "started")
    untrained, _ = child(tmp_path, small_config(others, epochs=1, seed=1, lr=1e-9), "untrained")
    assert epochs_of(started)[0]["val_auc"] > epochs_of(untrained)[0]["val_auc"] + 0.03


def test_class_centres_start_from_the_new_peoples_embeddings(tmp_path, parent, new_people, small_config):
    from siamese.losses import build_loss
    from siamese.runs.trained import load_trained
    from siamese.train.inputs import prepare_data

    trained = load_trained(parent)
    train_set, _, _ = prepare_data(small_config(new_people), tmp_path / "data")
    loss = build_loss(trained.config, len(train_set.identities))
    assert imprint_centres(loss, trained.model, train_set, torch.device("cpu"))
    embeddings = F.normalize(trained.embed(train_set.images), dim=1)
    for c in range(len(train_set.identities)):
        mean = F.normalize(embeddings[train_set.labels == c][:5].mean(0), dim=0)
        assert torch.allclose(F.normalize(loss.centres[c], dim=0), mean, atol=1e-5)


def test_the_early_layers_stay_frozen_for_the_first_epochs_only(tmp_path, parent, new_people, small_config):
    run, _ = child(tmp_path, small_config(new_people, epochs=2, init_from=str(parent), freeze_epochs=1, seed=1))
    snaps = [load_torch(RunPaths(run).snapshots / f"epoch-{e:04d}.pt")["model"] for e in (0, 1, 2)]
    from siamese.models import build_model
    from siamese.runs.folder import run_config

    model = build_model(run_config(run))
    early = {f"backbone.{n}" for layer in early_layers(model) for n, _ in layer.named_parameters()}
    early = {name for name in snaps[0] if any(name.startswith(prefix.rsplit(".", 1)[0] + ".") for prefix in early)}
    assert early and len(early) < len(snaps[0])
    for name in snaps[0]:
        if name in early:  # weights and batch-norm statistics alike
            assert torch.equal(snaps[0][name], snaps[1][name]), f"{name} changed while frozen"
    assert any(not torch.equal(snaps[0][n], snaps[1][n]) for n in snaps[0] if n not in early)
    assert any(not torch.equal(snaps[1][n], snaps[2][n]) for n in early if snaps[1][n].is_floating_point())


def test_a_started_run_resumes_from_its_own_checkpoint(tmp_path, parent, new_people, small_config):
    run, _ = child(tmp_path, small_config(new_people, epochs=2, init_from=str(parent), seed=1))
    own = load_torch(RunPaths(run).checkpoint)["model"]
    result = resume(run, data_dir=tmp_path / "data", epochs=3)
    assert result.status == "finished" and result.epochs == 3
    assert [r["epoch"] for r in epochs_of(run)] == [0, 1, 2, 3]  # no second epoch 0: it carried on
    assert any(not torch.equal(own[n], v) for n, v in load_torch(RunPaths(run).checkpoint)["model"].items())


def test_a_parent_with_another_network_is_refused_naming_what_differs(tmp_path, parent, new_people,
                                                                       small_config):
    with pytest.raises(RunError, match=r"embedding_dim 16 \(this run: 8\); input_size 32 \(this run: 48\)"):
        child(tmp_path, small_config(new_people, init_from=str(parent), input_size=48, embedding_dim=8))


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a run folder"),
    ("training", "is still training"),
    ("no checkpoint", "has no checkpoint yet"),
    ("corrupt", "is not a checkpoint this tool can load safely"),
])
def test_a_parent_that_cannot_lend_its_weights_is_refused_with_what_to_do(tmp_path, parent, case, message):
    if case == "missing":
        target = tmp_path / "runs" / "nothing-here"
    else:
        target = parent
    if case == "training":
        write_json(RunPaths(parent).status, {"status": "running", "message": "training", "pid": os.getpid()})
    if case == "no checkpoint":
        RunPaths(parent).checkpoint.unlink()
    if case == "corrupt":
        RunPaths(parent).checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match=message):
        load_parent(target)


def test_a_snapshot_can_be_the_starting_point(tmp_path, parent, new_people, small_config):
    snapshot = RunPaths(parent).snapshots / "epoch-0002.pt"
    loaded = load_parent(snapshot)
    assert loaded.run_dir == parent and loaded.weights == snapshot
    run, _ = child(tmp_path, small_config(new_people, epochs=1, init_from=str(snapshot), seed=1))
    started = load_torch(RunPaths(run).snapshots / "epoch-0000.pt")["model"]
    assert all(torch.equal(started[n], v) for n, v in load_torch(snapshot)["model"].items())


def test_a_parent_trained_on_faces_cut_another_way_gets_a_warning(tmp_path, parent, new_people, small_config):
    split = json.loads(RunPaths(parent).split.read_text())
    write_json(RunPaths(parent).split, {**split, "faces": "align"})
    run, _ = child(tmp_path, small_config(new_people, epochs=1, init_from=str(parent), seed=1))
    problems = json.loads(RunPaths(run).split.read_text())["problems"]
    assert any("cut 'align'" in p and "'whole'" in p for p in problems)


def test_inherit_takes_the_parents_network_and_recipe_and_keeps_the_new_runs_data(parent, new_people):
    values = {"data": str(new_people), "model": "koch", "input_size": 105, "lr": 0.5, "epochs": 7}
    started = inherit(values, parent, keep=("lr",))
    assert (started["model"], started["input_size"], started["embedding_dim"]) == ("compact", 32, 16)
    assert started["data"] == str(new_people) and started["epochs"] == 7 and started["lr"] == 0.5
    assert started["init_from"] == str(parent)
    tuned = fine_tune(values, parent)
    assert tuned["freeze_epochs"] == 2 and tuned["lr"] == pytest.approx(3e-3 * 0.1)


def test_network_differences_names_each_field():
    from siamese.config import TrainConfig

    assert network_differences(TrainConfig(), TrainConfig()) == []
    assert network_differences(TrainConfig(colour="rgb"), TrainConfig()) == ["colour rgb (this run: grey)"]
