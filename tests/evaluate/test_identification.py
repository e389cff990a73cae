"""siamese/evaluate/identification.py: open-set identification in NIST's terms, checked against searches
written out as loops: FPIR, FNIR and DIR at a threshold, the CMC, thresholds for a target FPIR, and the
study that enrols part of a labelled set."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from siamese.distances import euclidean_paired
from siamese.evaluate.identification import identity_distances, open_set_study, searches


def loop_searches(probes, probe_labels, gallery, gallery_labels):
    """Each probe searched the slow way: (nearest identity's distance, mate's distance, mate's rank)."""
    found = []
    for p, who in zip(probes.tolist(), probe_labels):
        best = {}
        for g, name in zip(gallery.tolist(), gallery_labels):
            d = math.sqrt(sum((x - y) ** 2 for x, y in zip(p, g)))
            best[name] = min(best.get(name, math.inf), d)
        nearest = min(best.values())
        mate = best.get(who)
        rank = None if mate is None else 1 + sum(1 for d in best.values() if d < mate)
        found.append((nearest, mate, rank))
    return found


@pytest.fixture
def world():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(9, 6))
    labels = np.repeat(np.arange(9), 4)
    embeddings = torch.tensor(centres[labels] + rng.normal(scale=0.6, size=(36, 6)), dtype=torch.float32)
    return embeddings, labels


def test_searches_match_the_loops_at_every_threshold(world):
    embeddings, labels = world
    enrolled = np.arange(36)[(labels < 6) & (np.arange(36) % 4 < 2)]    # people 0-5, two images each
    probes = np.setdiff1d(np.arange(36), enrolled)                     # their other two; people 6-8 all
    by_identity = identity_distances(embeddings[probes], embeddings[enrolled], labels[enrolled], euclidean_paired)
    mates = np.where(labels[probes] < 6, labels[probes], -1)
    scored = searches(by_identity, mates)
    reference = loop_searches(embeddings[probes], labels[probes], embeddings[enrolled], labels[enrolled])
    non_mated = [r for r, m in zip(reference, mates) if m < 0]
    mated = [r for r, m in zip(reference, mates) if m >= 0]
    assert scored.non_mated == len(non_mated) == 12 and scored.mated == len(mated) == 12
    assert scored.gallery_size == 6
    for threshold in np.linspace(0.5, 4.0, 15):
        assert scored.fpir(threshold) == pytest.approx(np.mean([n <= threshold for n, _, _ in non_mated]))
        hits = np.mean([rank == 1 and mate <= threshold for _, mate, rank in mated])
        assert scored.dir(threshold) == pytest.approx(hits) and scored.fnir(threshold) == pytest.approx(1 - hits)
    for k, value in enumerate(scored.cmc(6), start=1):
        assert value == pytest.approx(np.mean([rank <= k for _, _, rank in mated]))


def test_the_threshold_for_a_target_fpir_keeps_to_it_and_says_when_it_cannot(world):
    embeddings, labels = world
    study = open_set_study(embeddings, labels, euclidean_paired, gallery_size=5, enrolled_per_person=1, draws=4)
    best = study.searches.non_mated_best
    for row in study.searches.at_targets((0.25, 0.1, 0.01)):
        assert row["fpir_reached"] <= row["fpir"]
        above = best[best > row["threshold"]]  # the next threshold up would break the target
        assert len(above) == 0 or study.searches.fpir(above.min()) > row["fpir"]
    resolved = {row["fpir"]: row["resolved"] for row in study.searches.at_targets((0.1, 0.01))}
    assert resolved == {0.1: True, 0.01: False}  # 64 non-mated searches cannot measure 1 in 100


def test_a_study_enrols_part_of_the_people_and_searches_the_rest(world):
    embeddings, labels = world
    study = open_set_study(embeddings, labels, euclidean_paired, gallery_size=5, enrolled_per_person=1, draws=4)
    # each draw: 5 enrolled people search their 3 other images, 4 strangers their 4 images
    assert (study.searches.mated, study.searches.non_mated) == (4 * 5 * 3, 4 * 4 * 4)
    summary = study.summary()
    assert summary["gallery_size"] == 5 and summary["draws"] == 4 and len(summary["cmc"]) == 5
    assert summary["cmc"] == sorted(summary["cmc"]) and summary["rank1"] == summary["cmc"][0]
    assert [row["fpir"] for row in summary["targets"]] == [0.1, 0.01]
    again = open_set_study(embeddings, labels, euclidean_paired, gallery_size=5, enrolled_per_person=1, draws=4)
    assert np.array_equal(again.searches.non_mated_best, study.searches.non_mated_best)  # seeded
    with pytest.raises(ValueError, match="between 1 and 8"):
        open_set_study(embeddings, labels, euclidean_paired, gallery_size=9)


@pytest.mark.parametrize("enrolled", [4, 20, 0])
def test_a_study_that_would_leave_nobody_an_image_to_search_with_is_refused(world, enrolled):
    embeddings, labels = world  # 4 images a person
    with pytest.raises(ValueError, match=f"{enrolled} enrolled images a person leave no image to search with: the "
                                         "people here have at most 4 images each, so enrol between 1 and 3"):
        open_set_study(embeddings, labels, euclidean_paired, enrolled_per_person=enrolled)
