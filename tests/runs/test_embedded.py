"""A run's images and their embeddings kept in the run folder (siamese/runs/embedded.py): written by the
trainer for its validation identities, read by every page instead of the dataset, recomputed when the
weights change, and never a reason for a read-only run to fail."""

from __future__ import annotations

import shutil

import pytest
import torch

from siamese.config import TrainConfig
from siamese.data import dataset as data_module
from siamese.errors import RunError
from siamese.runs import embedded
from siamese.runs.folder import RunPaths, list_snapshots, new_run_dir
from siamese.runs.trained import load_trained, run_embeddings
from siamese.train.loop import train


@pytest.fixture
def run_and_faces(make_identity_folders, tmp_path):
    faces = make_identity_folders(n_identities=8, n_images=4)
    config = TrainConfig(data=str(faces), embedding_dim=8, p=4, k=2, epochs=2, augment=False,
                         val_fraction=0.25, device="cpu")
    run = new_run_dir(tmp_path / "runs", "tiny")
    train(config, run)
    return run, faces


def no_decoding(monkeypatch):
    monkeypatch.setattr(data_module, "load_image", lambda *a, **k: pytest.fail("an image was decoded again"))


def test_the_trainer_keeps_the_validation_images_and_their_embeddings(run_and_faces, monkeypatch):
    run, faces = run_and_faces
    trained = load_trained(run, device="cpu")
    fresh = trained.embed(embedded.kept_images(run, "validation").images)
    no_decoding(monkeypatch)
    monkeypatch.setattr(type(trained), "embed", lambda *a: pytest.fail("embedded again"))
    vectors, images = run_embeddings(trained, "validation")
    assert images.identities == sorted(images.identities) and len(images) == 2 * 4
    assert torch.allclose(vectors, fresh, atol=1e-6)
    for _, snapshot in list_snapshots(run):  # each snapshot's too: the Embeddings page's slider
        assert run_embeddings(load_trained(run, snapshot, device="cpu"), "validation")[0].shape == vectors.shape


def test_a_run_keeps_its_images_when_its_dataset_folder_grows_or_goes(run_and_faces, make_identity_folders):
    run, faces = run_and_faces
    before, images = run_embeddings(load_trained(run, device="cpu"))
    make_identity_folders(faces, n_identities=10, n_images=6, seed=1)  # more people, more photos each
    after, grown = run_embeddings(load_trained(run, device="cpu"))
    assert grown.paths == images.paths and torch.equal(after, before)
    shutil.rmtree(faces)
    assert run_embeddings(load_trained(run, device="cpu"))[1].paths == images.paths


def test_embeddings_of_other_weights_are_computed_again_and_kept(run_and_faces):
    run, _ = run_and_faces
    trained = load_trained(run, device="cpu")
    kept = embedded.embeddings_file(run, "validation", trained.weights)
    embedded.save_embeddings(run, "validation", trained.weights, "another-checkpoint", torch.zeros(8, 8))
    vectors, _ = run_embeddings(trained)
    assert vectors.abs().sum() > 0
    assert torch.equal(embedded.kept_embeddings(run, "validation", trained.weights, trained.fingerprint), vectors)
    assert kept.is_file()


def test_a_run_folder_that_cannot_be_written_still_gives_its_embeddings(run_and_faces, monkeypatch, caplog):
    run, _ = run_and_faces
    shutil.rmtree(RunPaths(run).embeddings)

    def read_only(path, value):
        raise RunError(f"cannot write {path}: Read-only file system. Check that the folder is writable")

    monkeypatch.setattr(embedded, "save_torch", read_only)
    vectors, images = run_embeddings(load_trained(run, device="cpu"))
    assert vectors.shape == (len(images), 8) and not list(RunPaths(run).embeddings.iterdir())
    assert "were not kept in the run" in caplog.text and "Read-only file system" in caplog.text
