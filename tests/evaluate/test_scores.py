"""siamese/evaluate/scores.py: rates move with the threshold, presets are the metrics' thresholds, the
hardest mistakes are the right pairs in the right order, and the summary of clustered embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from siamese.distances import euclidean_paired
from siamese.evaluate.metrics import (
    best_accuracy_threshold,
    threshold_at_far,
)
from siamese.evaluate.scores import evaluate_embeddings, score_pairs


@pytest.fixture
def study():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(6), 5)
    centres = rng.normal(size=(6, 8)) * 1.5
    embeddings = torch.tensor(centres[labels] + rng.normal(size=(30, 8)), dtype=torch.float32)
    return score_pairs(embeddings, labels, euclidean_paired)


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


def test_evaluate_embeddings_on_clustered_embeddings(clustered):
    embeddings, labels = clustered()
    result = evaluate_embeddings(embeddings, labels, euclidean_paired, n_way=5, trials=200)
    assert result.auc == 1.0 and result.eer == 0.0 and result.accuracy == 1.0
    assert result.oneshot_accuracy == 1.0 and result.n_way == 5
    assert (result.genuine_pairs, result.impostor_pairs) == (10 * 10, 45 * 25)


def test_threshold_range_clip_and_thinned_roc(study):
    low, high = study.threshold_range()
    assert (low, high) == (study.distances.min(), study.distances.max())
    assert study.clip(low - 5) == low and study.clip(high + 5) == high and study.clip((low + high) / 2) == (low + high) / 2
    points = study.roc_points(max_points=20)
    assert len(points["far"]) == len(points["tar"]) <= 20
    assert points["far"][0] == 0 and points["far"][-1] == 1 and points["far"] == sorted(points["far"])


def test_summary_counts_the_pairs_and_matches_the_presets(study):
    summary = study.summary()
    assert summary["genuine_pairs"] == 6 * 10 and summary["impostor_pairs"] == 30 * 29 // 2 - 60
    assert summary["threshold_far_1e2"] == study.presets["FAR 1e-2"] and summary["auc"] == study.curve.auc


def test_the_det_curve_is_the_roc_turned_into_false_rejects_with_floors_for_log_axes(study):
    det, roc = study.det_points(), study.roc_points()
    far_floor, frr_floor = det["floor"]
    assert far_floor == 0.5 / study.impostor_pairs and frr_floor == 0.5 / study.genuine_pairs
    for far, frr, roc_far, tar in zip(det["far"], det["frr"], roc["far"], roc["tar"]):
        assert far == max(roc_far, far_floor) and frr == pytest.approx(max(1 - tar, frr_floor))
    threshold = study.presets["EER"]
    point = study.det_point(threshold)
    assert point[0] == pytest.approx(max(study.rates(threshold)["far"], far_floor))


def test_the_tar_table_keeps_to_each_false_accept_rate(study):
    rows = study.tar_table()
    assert [r["false accept rate"] for r in rows] == [1e-1, 1e-2, 1e-3]
    for row in rows:
        assert row["reached"] <= row["false accept rate"]
        assert row["true accept rate"] == pytest.approx(1 - study.rates(row["threshold"])["frr"])
    assert [r["resolved"] for r in rows] == [r["false accept rate"] * study.impostor_pairs >= 1 for r in rows]
    assert rows[0]["true accept rate"] >= rows[1]["true accept rate"] >= rows[2]["true accept rate"]


def test_an_evaluation_set_drawn_once_gives_evaluate_embeddings_figures():
    """A training scores its validation images on pairs and trials drawn once: the same figures."""
    from siamese.evaluate.scores import EvaluationSet

    generator = torch.Generator().manual_seed(1)
    labels = np.repeat(np.arange(12), 5)
    embeddings = torch.randn(12, 8, generator=generator)[labels] + 0.8 * torch.randn(60, 8, generator=generator)
    drawn = EvaluationSet.draw(labels, n_way=5, trials=300, seed=2)
    assert drawn.evaluate(embeddings, euclidean_paired) == evaluate_embeddings(embeddings, labels, euclidean_paired,
                                                                              n_way=5, trials=300, seed=2)
    scores = drawn.scores(embeddings, euclidean_paired)
    np.testing.assert_array_equal(scores.distances, score_pairs(embeddings, labels, euclidean_paired, seed=2).distances)


def test_the_histogram_bins_every_pair_once_genuine_and_impostor_apart(study):
    bars = study.histogram(bins=12)
    assert len(bars["centres"]) == len(bars["genuine"]) == len(bars["impostor"]) == 12
    assert sum(bars["genuine"]) == study.genuine_pairs and sum(bars["impostor"]) == study.impostor_pairs
    low, high = study.threshold_range()
    assert bars["centres"][0] - bars["width"] / 2 == pytest.approx(low)
    assert bars["centres"][-1] + bars["width"] / 2 == pytest.approx(high)
