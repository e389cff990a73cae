"""A trained run put to use (siamese/runs/trained.py): the images of its split, decoded without the rest, and the
one step that makes a photo into what the model decides on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from siamese.config import TrainConfig
from siamese.data import dataset as data_module
from siamese.errors import DatasetError, RunError
from siamese.faces.align import ALIGNED_SIZE
from siamese.faces.prepare import face_tensor, open_photo
from siamese.gallery import Gallery, enrol_photos
from siamese.runs.folder import RunPaths, new_run_dir
from siamese.runs.trained import load_trained, run_dataset
from siamese.train.loop import train


@pytest.fixture
def trained_run(make_identity_folders, tmp_path):
    faces = make_identity_folders(n_identities=8, n_images=4)
    config = TrainConfig(data=str(faces), embedding_dim=8, p=4, k=2, epochs=1, augment=False,
                         val_fraction=0.25, device="cpu")
    run = new_run_dir(tmp_path / "runs", "tiny")
    train(config, run)
    return run, faces, json.loads((run / "split.json").read_text())


def test_run_dataset_gives_the_recorded_identities_in_order(trained_run):
    run, faces, split = trained_run
    validation = run_dataset(run, "validation")
    assert validation.identities == split["validation"] and len(validation) == 2 * 4
    assert validation.labels.tolist() == [0] * 4 + [1] * 4
    training = run_dataset(run, "train")
    assert training.identities == split["train"] and len(training) == 6 * 4
    assert len(run_dataset(run, "all")) == 8 * 4


def test_run_dataset_reads_only_the_identities_it_needs(trained_run, monkeypatch):
    run, faces, split = trained_run
    opened = []
    real_load_image = data_module.load_image
    monkeypatch.setattr(data_module, "load_image", lambda path, *a, **k: opened.append(path) or
                        real_load_image(path, *a, **k))
    validation = run_dataset(run, "validation")
    assert len(validation) == 8
    assert sorted(opened) == sorted(p for name in split["validation"] for p in (faces / name).iterdir())


def test_run_dataset_says_which_identities_are_gone(trained_run):
    run, faces, split = trained_run
    shutil.rmtree(faces / split["validation"][0])
    with pytest.raises(DatasetError, match=f"no longer holds identities the run used: {split['validation'][0]}"):
        run_dataset(run, "validation")


def test_a_checkpoint_of_another_model_is_refused_with_run_error(small_run, tmp_path):
    import shutil

    from siamese.models import build_model
    from siamese.runs.files import save_torch
    from siamese.runs.folder import run_config
    from siamese.runs.trained import load_trained

    other = shutil.copytree(small_run, tmp_path / "other")
    stranger = build_model(TrainConfig.from_dict({**run_config(other).to_dict(), "embedding_dim": 4}))
    save_torch(RunPaths(other).checkpoint, {"model": stranger.state_dict()})
    with pytest.raises(RunError, match="does not match the run's configuration"):
        load_trained(other, device="cpu")


ORL = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "orl_faces"


@pytest.fixture(scope="module")
def photo_run(tmp_path_factory):
    """A run trained on photographs (ORL faces of 6 people pasted into 480 x 360 scenes), faces aligned."""
    if not ORL.is_dir():
        pytest.skip(f"{ORL} is absent: this test needs real faces")
    root = tmp_path_factory.mktemp("photos")
    for person in range(1, 7):
        (root / "photos" / f"s{person}").mkdir(parents=True)
        for k in range(1, 4):
            face = Image.open(ORL / f"s{person}" / f"{k}.pgm").convert("RGB").resize((184, 224))
            scene = Image.new("RGB", (480, 360), (110, 120, 130))
            scene.paste(face, (100 + 30 * k, 60))
            scene.save(root / "photos" / f"s{person}" / f"{k}.jpg", quality=92)
    config = TrainConfig(data=str(root / "photos"), input_size=32, embedding_dim=8, p=4, k=2, epochs=2,
                         augment=False, val_fraction=0.34, device="cpu")
    run = new_run_dir(root / "runs", "photos")
    train(config, run, data_dir=root / "data")
    return run, root


def test_a_run_on_photographs_aligns_its_faces_everywhere(photo_run):
    run, root = photo_run
    split = json.loads((run / "split.json").read_text())
    assert split["faces"] == "align" and "photographs" in split["faces_reason"]
    trained = load_trained(run, device="cpu")
    assert trained.faces == "align"
    validation = run_dataset(run, "validation", data_dir=root / "data")
    assert all("/.faces/" in path for path in validation.paths)  # the aligned crops, not the photos
    gallery = Gallery(root / "gallery", trained)
    photo = (root / "photos" / "s1" / "1.jpg").read_bytes()
    enrol_photos(gallery, "s1", [("1.jpg", photo)])
    with Image.open(next((root / "gallery" / "identities" / "s1").glob("*.png"))) as stored:
        assert stored.size == (ALIGNED_SIZE, ALIGNED_SIZE)  # enrolled as training saw faces: aligned


def test_a_face_pipeline_this_version_cannot_apply_is_refused(trained_run):
    run, _, split = trained_run
    (run / "split.json").write_text(json.dumps({**split, "faces": "sideways"}))
    with pytest.raises(RunError, match="records its faces as cut 'sideways'.*train a new run"):
        load_trained(run, device="cpu")
    with pytest.raises(RunError, match="sideways"):
        run_dataset(run, "validation")


def test_a_photo_becomes_a_probe_the_runs_way_and_several_in_one_batch(trained_run):
    run, faces, _ = trained_run
    trained = load_trained(run)
    files = sorted((faces / sorted(p.name for p in faces.iterdir())[0]).iterdir())[:2]
    photos = [files[0].read_bytes(), None, b"not an image", files[1].read_bytes()]
    probes, problems = trained.probes(photos, detect=False)
    assert probes[1] is None and probes[2] is None and list(problems) == [2]
    for photo, probe in ((photos[0], probes[0]), (photos[3], probes[3])):
        alone = trained.probe(photo, detect=False)  # one at a time, as the Verify page makes a probe
        image = face_tensor(open_photo(photo), trained.config.input_size, trained.config.colour)
        assert probe.input.shape == (1, trained.config.in_channels, trained.config.input_size,
                                     trained.config.input_size) and probe.input.equal(image) and alone.input.equal(image)
        assert torch.allclose(probe.embedding, trained.embed(image), atol=1e-5)
        assert torch.allclose(alone.embedding, probe.embedding, atol=1e-5)
    assert trained.embed_crops([]) == []
    assert torch.allclose(torch.cat(trained.embed_crops([probes[0].face.crop, probes[3].face.crop])),
                          torch.cat([probes[0].embedding, probes[3].embedding]), atol=1e-5)
