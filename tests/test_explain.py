"""siamese/explain.py: the similarity of a pair decomposed over the two faces' locations adds up to the
similarity the decision used; the maps of a trained network are not those of the same network with random
weights; covering what a map marks as most alike moves the distance more than covering what it marks as
least; and occlusion for the networks that cannot be decomposed."""

from __future__ import annotations

import importlib.util
import io
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from siamese.config import TrainConfig
from siamese.data.images import load_image
from siamese.decisions import Rule
from siamese.distances import get_distance
from siamese.explain import decomposition, decomposition_problem, explain_pair, occlusion
from siamese.models import build_model
from siamese.runs.folder import new_run_dir
from siamese.runs.trained import TrainedModel, load_trained
from siamese.train.loop import train

_spec = importlib.util.spec_from_file_location("shared_conftest", Path(__file__).with_name("conftest.py"))
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)


def untrained(seed: int = 0, **fields) -> TrainedModel:
    config = TrainConfig.from_dict({"input_size": 32, "embedding_dim": 16, **fields})
    torch.manual_seed(seed)
    model = build_model(config).eval()
    return TrainedModel(config, model, get_distance(config.distance)[0], "random", torch.device("cpu"), Path("."))


def face(identity: int, index: int, size: int = 32, colour: str = "grey") -> torch.Tensor:
    buffer = io.BytesIO()
    _shared.identity_image(identity, index, size).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), size, colour)[None]


@pytest.mark.parametrize("model, flip, distance", [("compact", False, "euclidean"), ("compact", True, "euclidean"),
                                                    ("face_resnet", False, "euclidean"),
                                                    ("face_resnet", True, "cosine")])
def test_the_cells_add_up_to_the_similarity_the_decision_used(model, flip, distance):
    size = 64 if model == "face_resnet" else 32  # a 4 x 4 last map for both
    trained = untrained(model=model, flip_average=flip, distance=distance, colour="rgb", input_size=size)
    a, b = face(1, 0, size, "rgb"), face(2, 0, size, "rgb")
    explained = decomposition(trained, a, b)
    ea, eb = trained.embed(a), trained.embed(b)
    cosine = float(torch.nn.functional.cosine_similarity(ea, eb))
    assert explained.similarity == pytest.approx(cosine, abs=1e-5)
    assert explained.map_sum == pytest.approx(cosine, abs=1e-5)
    assert explained.map_b.sum() == pytest.approx(cosine, abs=1e-5)
    assert explained.distance == pytest.approx(float(trained.distance(ea, eb)[0]), abs=1e-6)
    if distance == "euclidean":  # unit-length embeddings: the distance is sqrt(2 - 2 cos)
        assert explained.distance == pytest.approx(np.sqrt(2 - 2 * cosine), abs=1e-4)
    assert explained.map_a.shape == (4, 4) and len(explained.matches) == 5


def test_networks_that_cannot_be_decomposed_are_explained_by_occlusion():
    koch = untrained(model="koch", input_size=96, embedding_dim=8, normalize=False)
    assert "not a function of their cosine" in decomposition_problem(koch)  # Koch's: unnormalised, sigmoid
    assert "not an affine function of its last feature map" in decomposition_problem(
        untrained(model="koch", input_size=96, embedding_dim=8))
    a, b = face(1, 0, 96), face(2, 0, 96)
    explained = explain_pair(koch, a, b, Rule("compare", 0.5, "run", "test"), method="decomposition")
    assert explained.method == "occlusion" and "shown by occlusion instead" in explained.note
    assert explained.map_a.shape == (8, 8) and explained.map_sum is None and explained.crosses_a is not None
    assert "learned head" in decomposition_problem(untrained(loss="bce"))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A compact network trained for a few epochs on 12 synthetic people (stripes and a bright blob each)."""
    root = tmp_path_factory.mktemp("people")
    for identity, index in itertools.product(range(12), range(6)):
        (root / f"p{identity:02d}").mkdir(exist_ok=True)
        _shared.identity_image(identity, index, 32).save(root / f"p{identity:02d}" / f"{index}.png")
    run = new_run_dir(tmp_path_factory.mktemp("runs"), "r")
    config = TrainConfig(data=str(root), input_size=32, embedding_dim=16, p=4, k=3, epochs=8, augment=False,
                         device="cpu", seed=0)
    assert train(config, run, data_dir=tmp_path_factory.mktemp("data")).status == "finished"
    return load_trained(run, device="cpu")


def test_a_trained_networks_maps_are_not_those_of_random_weights(trained_run):
    """Adebayo et al. 2018's sanity check: a map that does not change when the weights are randomised
    explains the input, not the model."""
    a, b = face(20, 0), face(20, 1)
    learnt = decomposition(trained_run, a, b).map_a.ravel()
    fields = {k: v for k, v in trained_run.config.to_dict().items() if k in ("model", "input_size", "embedding_dim")}
    for seed in (1, 2, 3):
        random_map = decomposition(untrained(seed, **fields), a, b).map_a.ravel()
        assert abs(np.corrcoef(learnt, random_map)[0, 1]) < 0.8


def test_covering_what_the_map_marks_most_alike_moves_the_distance_more_than_the_least(trained_run):
    """For genuine pairs of people the network never saw: covering the quarter of a face's cells its map
    marks as most alike moves the distance more, on average, than covering the quarter marked least."""
    most, least = [], []
    for identity, (i, j) in itertools.product((20, 21, 23, 24, 26), ((0, 1), (2, 3))):
        a, b = face(identity, i), face(identity, j)
        explained = decomposition(trained_run, a, b)
        h, w = explained.map_a.shape
        side = a.shape[-1] // h
        order = np.argsort(explained.map_a.ravel())

        def moved(cells) -> float:
            covered = a.clone()
            for cell in cells:
                r, c = divmod(int(cell), w)
                covered[..., r * side:(r + 1) * side, c * side:(c + 1) * side] = 128
            return float(trained_run.distance(trained_run.embed(covered), trained_run.embed(b))[0]) - explained.distance

        quarter = h * w // 4
        most.append(moved(order[-quarter:]))
        least.append(moved(order[:quarter]))
    assert np.mean(most) > np.mean(least), (most, least)


def test_occlusion_marks_the_patches_that_move_a_pair_across_the_threshold(trained_run):
    a, b = face(20, 0), face(20, 1)
    plain = occlusion(trained_run, a, b)
    threshold = plain.distance + 0.5 * plain.map_a.max()  # half-way to the largest move a cover makes
    marked = occlusion(trained_run, a, b, Rule("compare", threshold, "run", "test"))
    assert marked.crosses_a.sum() >= 1 and marked.crosses_a.sum() == (plain.map_a > 0.5 * plain.map_a.max()).sum()


def test_two_identical_images_are_explained_as_the_same_picture(trained_run):
    a = face(20, 0)
    explained = explain_pair(trained_run, a, a.clone())
    assert explained.similarity == pytest.approx(1.0, abs=1e-5) and explained.distance == pytest.approx(0, abs=1e-3)
    assert np.allclose(explained.map_a, explained.map_b, atol=1e-6)


def test_an_explanation_takes_the_decisions_embeddings_and_never_embeds_them_again(trained_run, monkeypatch):
    a, b = face(20, 0), face(20, 1)
    given = (trained_run.embed(a), trained_run.embed(b))
    embedded = []
    original = trained_run.embed
    monkeypatch.setattr(trained_run, "embed", lambda images: embedded.append(len(images)) or original(images))
    for method in ("decomposition", "occlusion"):
        explained = explain_pair(trained_run, a, b, Rule("compare", 1.0, "run", "test"), method, given)
        assert explained.distance == pytest.approx(float(trained_run.distance(*given)[0]))
    assert 1 not in embedded  # occlusion embeds its covered faces (64 at once), never the pair itself again
