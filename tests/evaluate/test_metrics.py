"""siamese/evaluate/metrics.py: ROC, EER, thresholds and one-shot accuracy on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from siamese.distances import euclidean_paired
from siamese.evaluate.metrics import (
    best_accuracy_threshold,
    equal_error_rate,
    oneshot_accuracy,
    rates_at_threshold,
    roc,
    single_set_folds,
    tar_at_far,
    ten_fold_accuracy,
    threshold_at_far,
)

GENUINE_NEAR = np.array([0.1, 0.2, 0.3, 0.4])


IMPOSTOR_FAR = np.array([0.6, 0.7, 0.8, 0.9, 1.0])


SAME = np.r_[np.ones(4), np.zeros(5)].astype(int)


def random_scores(seed: int, n_impostor: int = 100, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    d = np.r_[rng.uniform(0, 1, 50), rng.uniform(0.3, 1.3, n_impostor)]
    if decimals is not None:
        d = d.round(decimals)
    return d, np.r_[np.ones(50), np.zeros(n_impostor)].astype(int)


def check_threshold_at_far(d, same, far):
    t = threshold_at_far(d, same, far)
    assert rates_at_threshold(d, same, t)["far"] <= far
    next_impostor = d[(same == 0) & (d > t)].min()
    assert rates_at_threshold(d, same, next_impostor)["far"] > far


def best_possible_accuracy(d, same) -> float:
    candidates = np.r_[d.min() - 1, np.unique(d)]
    return max(rates_at_threshold(d, same, t)["accuracy"] for t in candidates)


def test_perfect_separation_gives_auc_1_and_eer_0():
    curve = roc(np.r_[GENUINE_NEAR, IMPOSTOR_FAR], SAME)
    assert curve.auc == 1.0
    eer, threshold = equal_error_rate(curve)
    assert eer == 0.0 and 0.4 <= threshold < 0.6


def test_reversed_separation_gives_auc_0():
    assert roc(np.r_[IMPOSTOR_FAR[:4], GENUINE_NEAR + 1.0], np.r_[np.zeros(4), np.ones(4)].astype(int)).auc == 0.0


def test_roc_accepts_distances_at_most_the_threshold():
    d = np.r_[GENUINE_NEAR, IMPOSTOR_FAR]
    curve = roc(d, SAME)
    assert np.all(np.diff(curve.thresholds) >= 0)
    for far, tar, t in zip(curve.far, curve.tar, curve.thresholds):
        rates = rates_at_threshold(d, SAME, t)
        assert rates["far"] == pytest.approx(far) and 1 - rates["frr"] == pytest.approx(tar)


def test_equal_error_rate_of_overlapping_uniforms():
    # Genuine U[0, 1], impostor U[0.5, 1.5]: FRR(t) = 1 - t, FAR(t) = t - 0.5, equal at t = 0.75, rate 0.25.
    genuine, impostor = np.linspace(0, 1, 2001), np.linspace(0.5, 1.5, 2001)
    same = np.r_[np.ones(2001), np.zeros(2001)].astype(int)
    eer, threshold = equal_error_rate(roc(np.r_[genuine, impostor], same))
    assert eer == pytest.approx(0.25, abs=2e-3)
    assert threshold == pytest.approx(0.75, abs=2e-3)


@pytest.mark.parametrize("far", [0.01, 0.05, 0.1, 0.25, 0.5])
@pytest.mark.parametrize("decimals", [None, 2], ids=["distinct", "ties"])
def test_threshold_at_far_is_the_largest_within_budget(far, decimals):
    d, same = random_scores(0, decimals=decimals)
    check_threshold_at_far(d, same, far)


def test_threshold_at_far_with_a_budget_that_floating_point_rounds_down():
    d, same = random_scores(0)
    check_threshold_at_far(d, same, 0.29)


def test_rates_at_threshold_count_like_a_loop():
    d, same = random_scores(3)
    t = 0.7
    tp = sum(1 for x, s in zip(d, same) if x <= t and s == 1)
    fp = sum(1 for x, s in zip(d, same) if x <= t and s == 0)
    fn = sum(1 for x, s in zip(d, same) if x > t and s == 1)
    tn = sum(1 for x, s in zip(d, same) if x > t and s == 0)
    rates = rates_at_threshold(d, same, t)
    assert (rates["tp"], rates["fp"], rates["fn"], rates["tn"]) == (tp, fp, fn, tn)
    assert rates["far"] == fp / (fp + tn) and rates["frr"] == fn / (fn + tp)
    assert rates["accuracy"] == (tp + tn) / len(d)
    assert rates["precision"] == tp / (tp + fp) and rates["recall"] == tp / (tp + fn)


@pytest.mark.parametrize("seed", range(4))
def test_best_accuracy_threshold_reaches_the_best_accuracy(seed):
    d, same = random_scores(seed)
    t = best_accuracy_threshold(d, same)
    assert rates_at_threshold(d, same, t)["accuracy"] == best_possible_accuracy(d, same)


def test_best_accuracy_threshold_with_tied_distances():
    d = np.array([0.2, 0.5, 0.5, 0.5, 0.9])
    same = np.array([1, 1, 0, 0, 0])
    t = best_accuracy_threshold(d, same)
    assert rates_at_threshold(d, same, t)["accuracy"] == best_possible_accuracy(d, same) == 0.8


def test_oneshot_is_perfect_for_clustered_embeddings(clustered):
    embeddings, labels = clustered()
    assert oneshot_accuracy(embeddings, labels, euclidean_paired, n_way=10, trials=300) == 1.0


@pytest.mark.parametrize("n_way", [2, 5])
def test_oneshot_is_chance_for_random_embeddings(n_way, clustered):
    _, labels = clustered()
    embeddings = torch.randn(len(labels), 8, generator=torch.Generator().manual_seed(1))
    accuracy = oneshot_accuracy(embeddings, labels, euclidean_paired, n_way=n_way, trials=2000)
    assert accuracy == pytest.approx(1 / n_way, abs=0.05)


def test_tar_at_far_is_the_true_accept_rate_at_that_budget():
    d = np.r_[0.1, 0.2, 0.3, 0.9, 0.5, 0.6, 0.7, 0.8]  # genuine, then impostor
    same = np.r_[1, 1, 1, 1, 0, 0, 0, 0]
    assert tar_at_far(d, same, 0.0) == 0.75   # below the nearest impostor (0.5): three of four genuine
    assert tar_at_far(d, same, 0.25) == 0.75  # one impostor may pass: up to 0.5, still three
    assert tar_at_far(d, same, 1.0) == 1.0


def test_single_set_folds_split_each_kind_evenly_in_file_order():
    same = np.r_[np.ones(500, int), np.zeros(500, int)]
    fold = single_set_folds(same)
    for k in range(10):
        assert (same[fold == k] == 1).sum() == 50 and (same[fold == k] == 0).sum() == 50
    assert (fold[:50] == 0).all() and (fold[450:500] == 9).all() and (fold[500:550] == 0).all()


def test_ten_fold_accuracy_chooses_each_threshold_on_the_other_folds():
    rng = np.random.default_rng(0)
    same = np.tile(np.r_[np.ones(30, int), np.zeros(30, int)], 10)
    fold = np.repeat(np.arange(10), 60)
    d = np.where(same == 1, rng.normal(0.4, 0.1, len(same)), rng.normal(0.8, 0.1, len(same)))
    d[fold == 3] += 0.3  # one fold shifted: a threshold chosen on itself would do better than the protocol's
    result = ten_fold_accuracy(d, same, fold)
    manual = []
    for k in range(10):
        t = best_accuracy_threshold(d[fold != k], same[fold != k])
        manual.append(rates_at_threshold(d[fold == k], same[fold == k], t)["accuracy"])
    assert result["fold_accuracies"] == pytest.approx(manual) and result["accuracy"] == pytest.approx(np.mean(manual))
    assert result["accuracy_std"] == pytest.approx(np.std(manual, ddof=1))
    assert result["accuracy_sem"] == pytest.approx(np.std(manual, ddof=1) / np.sqrt(10))
    assert result["fold_accuracies"][3] < np.mean(result["fold_accuracies"])


def test_oneshot_trials_are_scored_all_at_once_as_one_at_a_time_would(clustered):
    """oneshot_score's one batched call against the obvious loop: a trial at a time, its nearest support."""
    from siamese.evaluate.metrics import oneshot_score, oneshot_trials

    embeddings, labels = clustered(noise=4.0)
    trials = oneshot_trials(labels, n_way=5, trials=200, seed=3)
    assert trials.shape == (200, 6)
    assert all(labels[row[0]] == labels[row[1]] and row[0] != row[1] for row in trials)
    assert all(len({int(labels[i]) for i in row[1:]}) == 5 for row in trials)
    correct = 0
    for row in trials:
        d = [float(euclidean_paired(embeddings[row[0]][None], embeddings[s][None])) for s in row[1:]]
        correct += int(np.argmin(d) == 0)
    assert oneshot_score(embeddings, trials, euclidean_paired) == pytest.approx(correct / 200)
    assert 0.2 < correct / 200 < 1.0
