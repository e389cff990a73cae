"""The threshold study: rates move with the threshold, presets are the evaluate functions' thresholds, and
the hardest mistakes are the right pairs in the right order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from siamese.distances import euclidean_paired
from siamese.evaluate import best_accuracy_threshold, threshold_at_far
from siamese.threshold import study_embeddings


@pytest.fixture
def study():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 5)
    centres = rng.normal(size=(6, 8)) * 1.5
    embeddings = torch.tensor(centres[labels] + rng.normal(size=(30, 8)), dtype=torch.float32)
    return study_embeddings(embeddings, labels, euclidean_paired)


def test_rates_at_the_extremes(study):
    low = study.rates(study.distances.min() - 1)
    high = study.rates(study.distances.max())
    assert low["far"] == 0 and low["frr"] == 1
    assert high["far"] == 1 and high["frr"] == 0


def test_presets_match_the_evaluate_functions(study):
    assert study.presets["FAR 1e-2"] == threshold_at_far(study.distances, study.same, 1e-2)
    assert study.presets["best accuracy"] == best_accuracy_threshold(study.distances, study.same)
    assert study.rates(study.presets["FAR 1e-2"])["far"] <= 1e-2
    assert 0 < study.eer < 0.5 and 0.5 < study.curve.auc <= 1


def test_operating_point_lies_on_the_roc_curve(study):
    t = study.presets["EER"]
    far, tar = study.operating_point(t)
    assert np.min(np.hypot(study.curve.far - far, study.curve.tar - tar)) < 1e-9


def test_hardest_mistakes(study):
    t = float(np.median(study.distances))
    hardest = study.hardest(t, k=4)
    fa, fr = hardest["false_accepts"], hardest["false_rejects"]
    labels = np.repeat(np.arange(6), 5)
    assert all(labels[i] != labels[j] and d <= t for i, j, d in fa)
    assert all(labels[i] == labels[j] and d > t for i, j, d in fr)
    assert [d for *_, d in fa] == sorted(d for *_, d in fa)
    assert [d for *_, d in fr] == sorted((d for *_, d in fr), reverse=True)
    impostor = study.distances[study.same == 0]
    assert fa[0][2] == pytest.approx(impostor.min())
