"""The field's verification figures as pure functions: distances and labels in, numbers and arrays out.
ROC, EER, thresholds at a false-accept rate, rates at a threshold, the best-accuracy threshold, and Koch et
al.'s N-way one-shot task. ``same = 1`` marks a genuine pair; a pair is accepted as genuine when its
distance is at most the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..distances import Distance


@dataclass
class Roc:
    """False-accept rate (fpr), true-accept rate (tpr) at each distance threshold, thresholds ascending."""

    far: np.ndarray
    tar: np.ndarray
    thresholds: np.ndarray
    auc: float


def roc(distances: np.ndarray, same: np.ndarray) -> Roc:
    """ROC of 'accept when distance <= threshold'. distances, same: (M,)."""
    # Imported here: scikit-learn takes a second or two to import, which a page that draws no ROC (and
    # the dashboard's first page) should not wait for.
    from sklearn.metrics import roc_auc_score, roc_curve

    far, tar, neg_thresholds = roc_curve(same, -distances, drop_intermediate=False)
    thresholds = np.clip(-neg_thresholds, a_min=None, a_max=np.finfo(np.float64).max)
    return Roc(far, tar, thresholds, float(roc_auc_score(same, -distances)))


def equal_error_rate(curve: Roc) -> tuple[float, float]:
    """(EER, threshold): where the false-accept and false-reject rates cross, interpolated linearly."""
    frr = 1 - curve.tar
    diff = curve.far - frr
    k = int(np.argmax(diff >= 0))
    if k == 0:
        return float(curve.far[0]), float(curve.thresholds[1] if len(curve.thresholds) > 1 else 0.0)
    d0, d1 = diff[k - 1], diff[k]
    w = d0 / (d0 - d1) if d0 != d1 else 0.0
    eer = curve.far[k - 1] + w * (curve.far[k] - curve.far[k - 1])
    t_lo, t_hi = curve.thresholds[k - 1], curve.thresholds[k]
    threshold = t_lo + w * (t_hi - t_lo) if np.isfinite(t_lo) else t_hi
    return float(eer), float(threshold)


def threshold_at_far(distances: np.ndarray, same: np.ndarray, far: float) -> float:
    """The largest threshold whose false-accept rate is at most `far` (accept when distance <= threshold)."""
    impostor = distances[same == 0]
    if len(impostor) == 0:
        return float(distances.max())
    threshold = threshold_at_rate(impostor, far)
    return float(max(distances.max(), threshold)) if threshold >= impostor.max() else threshold


def threshold_at_rate(wrong: np.ndarray, rate: float) -> float:
    """The largest threshold that accepts at most a fraction `rate` of the distances `wrong` (impostor
    pairs, or non-mated searches' nearest): just below the first one over budget, and its equals; above
    them all when the budget covers every one."""
    wrong = np.sort(np.asarray(wrong, dtype=np.float64))
    if len(wrong) == 0:
        raise ValueError("a threshold at a rate needs distances to keep out")
    # The same arithmetic as rates_at_threshold: accepting k of n gives a rate of k / n.
    allowed = int(np.sum(np.arange(1, len(wrong) + 1) / len(wrong) <= rate))
    if allowed >= len(wrong):
        return float(wrong[-1])
    return float(np.nextafter(wrong[allowed], -np.inf))


def rates_at_threshold(distances: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float]:
    """Confusion counts and rates of 'accept when distance <= threshold'."""
    accept = distances <= threshold
    genuine = same == 1
    tp = int(np.sum(accept & genuine))
    fp = int(np.sum(accept & ~genuine))
    fn = int(np.sum(~accept & genuine))
    tn = int(np.sum(~accept & ~genuine))
    return {
        "threshold": float(threshold), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "far": fp / max(fp + tn, 1), "frr": fn / max(fn + tp, 1),
        "accuracy": (tp + tn) / max(len(same), 1),
        "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
    }


def best_accuracy_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold that maximises accuracy over the pairs: a midpoint between two distinct distances
    (a split inside a run of equal distances is not a threshold any decision can use)."""
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order]
    n_impostors = np.sum(s == 0)
    # Accepting the k nearest pairs: correct = genuine among them + impostors after them.
    correct = np.concatenate([[n_impostors], np.cumsum(s) + n_impostors - np.cumsum(s == 0)])
    valid = np.concatenate([[True], np.append(d[1:] > d[:-1], True)])
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        return float(np.nextafter(d[0], -np.inf))
    return float((d[k - 1] + d[k]) / 2) if k < len(d) else float(d[-1])


def oneshot_accuracy(embeddings: torch.Tensor, labels: np.ndarray, distance: Distance,
                     n_way: int = 10, trials: int = 1000, seed: int = 0) -> float:
    """Koch et al.'s N-way one-shot task: a query image and one support image from each of N identities
    (one of them the query's, never the query image itself); correct when the nearest support is of the
    query's identity. Fraction correct over `trials` seeded trials (`oneshot_trials`)."""
    return oneshot_score(embeddings, oneshot_trials(labels, n_way, trials, seed), distance)


def oneshot_trials(labels: np.ndarray, n_way: int = 10, trials: int = 1000, seed: int = 0) -> np.ndarray:
    """The seeded one-shot trials over images labelled `labels`: (trials, 1 + n) int64 rows of the query,
    then its n supports, its own identity's first (n: `n_way`, or the identities there are)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    n_way = min(n_way, len(classes))
    rng = np.random.default_rng(seed)
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    eligible = [c for c in classes if len(by_class[c]) >= 2]
    rows = np.empty((trials, 1 + n_way), np.int64)
    for t in range(trials):
        target = rng.choice(eligible)
        query, support = rng.choice(by_class[target], size=2, replace=False)
        others = rng.choice(classes[classes != target], size=n_way - 1, replace=False)
        rows[t] = [query, support] + [rng.choice(by_class[c]) for c in others]
    return rows


@torch.no_grad()
def oneshot_score(embeddings: torch.Tensor, trials: np.ndarray, distance: Distance) -> float:
    """Fraction of `oneshot_trials` rows whose nearest support is the first, all trials in one distance
    call on the embeddings' device (a trial at a time would wait on a GPU once per trial)."""
    index = torch.from_numpy(trials).to(embeddings.device)
    n_way = index.shape[1] - 1
    queries = index[:, :1].expand(-1, n_way).reshape(-1)
    d = distance(embeddings[queries], embeddings[index[:, 1:].reshape(-1)]).view(-1, n_way)
    return float((d.argmin(dim=1) == 0).float().mean()) if len(trials) else 0.0


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float) -> float:
    """True-accept rate at the largest threshold whose false-accept rate is at most `far`. With n impostor
    pairs, rates below 1 / n cannot be told apart from 0: the resolution the pairs allow."""
    threshold = threshold_at_far(distances, same, far)
    return 1.0 - rates_at_threshold(distances, same, threshold)["frr"]


def single_set_folds(same: np.ndarray, folds: int = 10) -> np.ndarray:
    """The fold of each pair of a single set (LFW View 1), made as View 2's are: the matched pairs, in
    file order, in `folds` equal runs, and the mismatched pairs likewise. (M,) int64."""
    fold = np.empty(len(same), np.int64)
    for kind in (1, 0):
        rows = np.flatnonzero(same == kind)
        fold[rows] = np.arange(len(rows)) * folds // max(len(rows), 1)
    return fold


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, fold: np.ndarray) -> dict:
    """LFW's protocol: the accuracy on each fold at the threshold that maximises accuracy on the other
    folds; their mean, standard deviation and standard error (the LFW README reports the latter), and
    each fold's accuracy and threshold."""
    accuracies, thresholds = [], []
    for k in np.unique(fold):
        test = fold == k
        threshold = best_accuracy_threshold(distances[~test], same[~test])
        accuracies.append(rates_at_threshold(distances[test], same[test], threshold)["accuracy"])
        thresholds.append(threshold)
    accuracies = np.array(accuracies)
    std = float(accuracies.std(ddof=1)) if len(accuracies) > 1 else 0.0
    return {"accuracy": float(accuracies.mean()), "accuracy_std": std,
            "accuracy_sem": std / np.sqrt(len(accuracies)), "fold_accuracies": accuracies.tolist(),
            "fold_thresholds": [float(t) for t in thresholds]}
