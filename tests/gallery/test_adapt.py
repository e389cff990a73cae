"""Adapting a model to the people enrolled (siamese/gallery/adapt.py): a new run from the gallery's model on
their crops beside the model's own dataset; better at telling them apart; the gallery embedded again by
the new model without touching the old model's embeddings; refused with fewer than two people."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image

from siamese.cli import main
from siamese.data.images import load_image
from siamese.errors import GalleryError
from siamese.gallery import Gallery
from siamese.gallery.adapt import create_adaptation
from siamese.runs.lineage import adapted_people
from siamese.runs.files import read_json, read_metrics
from siamese.runs.folder import RunPaths, run_config
from siamese.runs.launch import start_training, stop_training
from siamese.runs.status import read_status
from siamese.runs.trained import load_trained
from siamese.train.loop import train

from .conftest import ALICE, BOB, CAROL, DAVE, ERIN, enroll, picture

NOISE = 0.25
PEOPLE = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE, "erin": ERIN}


def data_dir_of(run):
    return run.parent / "data"


def noisy(identity: int, index: int) -> Image.Image:
    """A picture made hard: heavy noise, as a poor camera in poor light gives."""
    pixels = np.asarray(picture(identity, index), dtype=np.float64)
    rng = np.random.default_rng([identity, index, 7])
    return Image.fromarray(np.clip(pixels + rng.normal(0, NOISE * 255, pixels.shape), 0, 255).astype(np.uint8))


def adapt(run, gallery_root, tmp_path, epochs=4):
    new = create_adaptation(run, gallery_root, tmp_path / "runs", max_seconds=None, epochs=epochs)
    result = train(run_config(new), new, data_dir=tmp_path / "data")
    assert result.status == "finished", result.message
    return new


@pytest.mark.parametrize("enrolled, message", [(0, "nobody is enrolled"), (1, "one person is enrolled")])
def test_an_adaptation_needs_two_people_or_more(tmp_path, run, gallery, enrolled, message):
    for name in list(PEOPLE)[:enrolled]:
        enroll(gallery, name, PEOPLE[name])
    with pytest.raises(GalleryError, match=message):
        create_adaptation(run, gallery.root, tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_an_adaptation_trains_on_every_enrolled_person_beside_the_models_dataset(tmp_path, run, gallery):
    for name, identity in PEOPLE.items():
        enroll(gallery, name, identity)
    new = adapt(run, gallery.root, tmp_path, epochs=2)
    split = read_json(RunPaths(new).split)
    assert {f"people/{name}" for name in PEOPLE} <= set(split["train"])
    assert not any(name.startswith("people/") for name in split["validation"])
    assert any(not name.startswith("people/") for name in split["train"])  # the base dataset trains too
    config = run_config(new)
    assert config.init_from == str(run) and config.lr == pytest.approx(run_config(run).lr * 0.03)
    assert adapted_people(new) == sorted(PEOPLE) and adapted_people(run) == []
    assert read_metrics(RunPaths(new).metrics, "epoch")[0]["epoch"] == 0


def test_the_adapted_model_tells_the_enrolled_people_apart_better(tmp_path, run, gallery):
    """Noisy pictures of six people the model never saw: the adapted model, trained on three of each,
    ranks their other three nearer their own enrolment than anyone else's more often than before."""
    people = {f"p{i}": 30 + i for i in range(6)}
    for name, identity in people.items():
        gallery.enroll(name, [noisy(identity, i) for i in range(3)])

    def margin(trained) -> float:
        def embed(image):
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            return trained.embed(load_image(buffer.getvalue(), 32, "grey")[None])

        enrolled = {n: torch.cat([embed(noisy(i, k)) for k in range(3)]) for n, i in people.items()}
        gaps = []
        for name, identity in people.items():
            for k in range(3, 6):
                query = embed(noisy(identity, k))
                nearest = {n: float(trained.distance(query.expand(3, -1), e).min()) for n, e in enrolled.items()}
                gaps.append(min(d for n, d in nearest.items() if n != name) - nearest[name])
        return float(np.mean(gaps))

    before = margin(load_trained(run, device="cpu"))
    after = margin(load_trained(adapt(run, gallery.root, tmp_path, epochs=60), device="cpu"))
    assert after > before + 0.05, (before, after)


def test_the_gallery_is_embedded_by_the_new_model_and_the_old_models_embeddings_stay(tmp_path, run, gallery):
    for name, identity in PEOPLE.items():
        enroll(gallery, name, identity)
    old_cache = gallery.cache_path
    before = old_cache.read_bytes()
    new = adapt(run, gallery.root, tmp_path, epochs=1)
    regallery = Gallery(gallery.root, load_trained(new, device="cpu"))
    assert regallery.cache_path != old_cache and regallery.cache_path.is_file()
    assert old_cache.read_bytes() == before
    assert sorted(regallery.identities()) == sorted(PEOPLE)


def test_an_adaptation_stopped_midway_keeps_a_usable_model_and_a_whole_gallery(tmp_path, run, gallery):
    """As when the dashboard that started it is closed and the run is stopped: it ends cleanly with its
    checkpoint, and the gallery embedded by it is whole; the old model's embeddings are untouched."""
    for name, identity in PEOPLE.items():
        enroll(gallery, name, identity)
    before = gallery.cache_path.read_bytes()
    new = create_adaptation(run, gallery.root, tmp_path / "runs", max_seconds=None, epochs=10_000)
    start_training(new, data_dir_of(run))
    for _ in range(6000):  # until it has trained a step (bounded: 10 minutes)
        if any(r["kind"] == "step" for r in read_metrics(RunPaths(new).metrics)):
            break
        assert read_status(new)["status"] in ("starting", "running"), read_status(new)
        time.sleep(0.1)
    stop_training(new)
    for _ in range(6000):
        if read_status(new)["status"] not in ("starting", "running"):
            break
        time.sleep(0.1)
    assert read_status(new)["status"] == "stopped"
    regallery = Gallery(gallery.root, load_trained(new, device="cpu"))
    assert len(regallery.now().names) == len(PEOPLE) * 3 and not regallery.problems
    assert gallery.cache_path.read_bytes() == before


def test_the_command_line_adapts_and_embeds_the_gallery(tmp_path, run, gallery, capsys):
    for name, identity in PEOPLE.items():
        enroll(gallery, name, identity)
    out = tmp_path / "runs" / "adapted"
    assert main(["--data-dir", str(tmp_path / "data"), "adapt", "--run", str(run), "--gallery", str(gallery.root),
                 "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["run"] == str(out) and printed["people"] == len(PEOPLE) and "never saw" in printed["note"]
    fingerprint = load_trained(out, device="cpu").fingerprint
    assert (gallery.root / "embeddings" / f"{fingerprint}.pt").is_file()


def test_the_command_line_refuses_an_adaptation_with_one_person(tmp_path, run, gallery, capsys):
    enroll(gallery, "alice", ALICE)
    assert main(["adapt", "--run", str(run), "--gallery", str(gallery.root), "--epochs", "1"]) == 2
    assert "one person is enrolled" in capsys.readouterr().err


def test_adapting_an_adapted_model_trains_each_enrolled_person_once(tmp_path, run, gallery):
    for name, identity in PEOPLE.items():
        enroll(gallery, name, identity)
    first = adapt(run, gallery.root, tmp_path, epochs=1)
    second = create_adaptation(first, gallery.root, tmp_path / "runs", max_seconds=None, epochs=1)
    assert run_config(second).sources[1:] == [f"{(second / 'people').resolve()}@whole"]
    assert second.name == f"{first.name}-adapted"
