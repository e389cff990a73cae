"""Verification quality against training time: on face crops (ORL: the run's validation identities) and
on photographs (LFW: the benchmark's View 1 test pairs, its people kept out of training, and View 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siamese.data.protocol_files import read_people
from siamese.evaluate.run import evaluate_run, pairs_file_scores, protocol_report
from siamese.evaluate.scores import PairScores
from siamese.runs.files import read_metrics
from siamese.runs.folder import RunPaths, list_snapshots
from siamese.runs.trained import load_trained

from .setups import setup_config, train_setup

AUC_TARGETS = (0.95, 0.99)


def crops_run(name: str, data: str, seconds: float, seed: int, device: str, runs: Path, data_dir: Path) -> dict:
    """Train one setup on face crops; its AUC, EER and 10-way one-shot on the validation identities, and
    the seconds taken to first reach each AUC target."""
    config = setup_config(name, data, data_dir, max_seconds=seconds, seed=seed, device=device)
    run = train_setup(name, config, runs, data_dir)
    report = evaluate_run(run, data_dir, trials=2000, seed=seed)
    curve = [{"elapsed": r["elapsed"], "val_auc": r["val_auc"]} for r in read_metrics(RunPaths(run).metrics, "epoch")]
    summary = {"setup": name, "seed": seed, "auc": report["auc"], "eer": report["eer"],
               "oneshot": report["oneshot_accuracy"], "n_way": report["n_way"], "run": str(run), "curve": curve}
    for target in AUC_TARGETS:
        reached = [r["elapsed"] for r in curve if r["val_auc"] >= target]
        summary[f"seconds_to_auc_{target}"] = reached[0] if reached else None
    steps = read_metrics(RunPaths(run).metrics, "step")
    if steps:
        summary["pipeline_images_per_second"] = (sum(r["images"] for r in steps) /
                                                 sum(r["images"] / r["images_per_second"] for r in steps))
    return summary


def photos_run(name: str, images: Path, protocol: Path, seconds: float, seed: int, device: str, runs: Path,
               data_dir: Path, view2: bool = False) -> dict:
    """Train one setup on photographs with View 1's test people kept out; its View 1 figures at each
    snapshot (against the seconds trained by then) and at the end, and View 2's when asked."""
    config = setup_config(name, str(images), data_dir, max_seconds=seconds, seed=seed, device=device,
                          exclude_people=str(protocol / "peopleDevTest.txt"))
    run = train_setup(name, config, runs, data_dir)
    view1 = protocol / "pairsDevTest.txt"
    final = protocol_report(pairs_file_scores(load_trained(run), view1, images, data_dir)[0])
    seconds_at = {r["epoch"]: r["elapsed"] for r in read_metrics(RunPaths(run).metrics, "epoch")}
    curve = []
    for epoch, snapshot in list_snapshots(run):
        if epoch in seconds_at:
            report = protocol_report(pairs_file_scores(load_trained(run, snapshot), view1, images, data_dir)[0])
            curve.append({"elapsed": seconds_at[epoch], "accuracy": report["accuracy"], "auc": report["auc"]})
    trained_for = max(seconds_at.values(), default=seconds)
    curve.append({"elapsed": trained_for, "accuracy": final["accuracy"], "auc": final["auc"]})
    result = {"setup": name, "seed": seed, "run": str(run), "view1": final, "curve": curve, "seconds": trained_for}
    if view2:
        result["view2"] = view2_report(run, images, protocol, data_dir)
    return result


def view2_report(run: Path, images: Path, protocol: Path, data_dir: Path) -> dict:
    """View 2 (pairs.txt, 10 folds), and the same on the pairs made only of View 1's test people, the
    only View 2 people a run trained on View 1's training people has not seen."""
    scores, dataset = pairs_file_scores(load_trained(run), protocol / "pairs.txt", images, data_dir)
    unseen = set(read_people(protocol / "peopleDevTest.txt"))
    names = np.array(dataset.identities)[dataset.labels.numpy()]
    mask = np.isin(names[scores.pairs[:, 0]], list(unseen)) & np.isin(names[scores.pairs[:, 1]], list(unseen))
    extra = {**scores.extra, "fold": scores.extra["fold"][mask], "people_seen_in_training": []}
    subset = PairScores(scores.distances[mask], scores.same[mask], scores.pairs[mask],
                        "pairs.txt, only pairs of View 1's test people", extra)
    return {"all": protocol_report(scores), "unseen_people": protocol_report(subset)}
