"""Verification quality against training time: on face crops (ORL: the run's validation identities) and
on photographs (LFW: the benchmark's View 1 test pairs, its people kept out of training, and View 2 by its
rules: ten trainings, each without its test fold's people)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siamese.data.protocol_files import read_people_folds
from siamese.evaluate.metrics import rates_at_threshold, tar_at_far
from siamese.evaluate.run import evaluate_run, pairs_file_scores, protocol_report, validation_scores
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
               data_dir: Path) -> dict:
    """Train one setup on photographs with View 1's test people kept out; its View 1 figures at each
    snapshot (against the seconds trained by then) and at the end."""
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
    return {"setup": name, "seed": seed, "run": str(run), "view1": final, "curve": curve, "seconds": trained_for}


def view2_by_rules(images: Path, protocol: Path, seconds: float | None, epochs: int | None, seed: int, device: str,
                   runs: Path, data_dir: Path, log=print) -> dict:
    """LFW View 2 by its rules: for each of `people.txt`'s ten folds, the default trained on the people of
    the other nine only (its validation people drawn from them too), its threshold the run's own, the EER
    threshold of its validation pairs (training data: the rules forbid choosing it on the test fold; those
    pairs hold far more impostors than genuine pairs, and on View 2's balanced folds the threshold where
    both error rates are equal is the one of best accuracy, which on the unbalanced pairs it is not), then scored
    on that fold's 300 matched and 300 mismatched pairs of `pairs.txt`, which are of the fold's people
    only. Mean accuracy and its standard error over the folds (the LFW README's estimate), each fold's AUC,
    and the true-accept rate at a false-accept rate of 1e-3 over the ten folds' pairs pooled (each pair
    scored by its own fold's model; 3,000 impostor pairs resolve 1e-3 with 3 false accepts)."""
    folds = read_people_folds(protocol / "people.txt")
    lines = (protocol / "pairs.txt").read_text(encoding="utf-8").splitlines()
    half = int(lines[0].split()[1])  # "10 300": each fold, 300 matched pairs then 300 mismatched
    per_fold, pooled = [], []
    for k, people in enumerate(folds):
        excluded = runs / f"view2-fold{k + 1}-people.txt"
        excluded.parent.mkdir(parents=True, exist_ok=True)
        excluded.write_text("\n".join(people) + "\n", encoding="utf-8")
        fold_pairs = runs / f"view2-fold{k + 1}-pairs.txt"
        fold_pairs.write_text(f"{half}\n" + "\n".join(lines[1 + 2 * half * k:1 + 2 * half * (k + 1)]) + "\n",
                              encoding="utf-8")
        budget = {"epochs": epochs, "max_seconds": None} if epochs else {"max_seconds": seconds}
        config = setup_config("default", str(images), data_dir, seed=seed, device=device,
                              exclude_people=str(excluded), **budget)
        log(f"View 2 by its rules: fold {k + 1} of 10, trained without its {len(people)} people")
        run = train_setup("default", config, runs / f"fold{k + 1}", data_dir)
        trained = load_trained(run)
        threshold = validation_scores(trained, data_dir)[0].eer_threshold
        scores = pairs_file_scores(trained, fold_pairs, images, data_dir)[0]
        if scores.extra["people_seen_in_training"]:
            raise RuntimeError(f"fold {k + 1}: the run trained on {scores.extra['people_seen_in_training'][:3]}")
        end = read_metrics(RunPaths(run).metrics, "end")[-1]
        per_fold.append({"fold": k + 1, "people": len(people), "threshold": threshold, "epochs": end["epoch"],
                         "steps": end["step"], "pairs_without_face": len(scores.extra["no_face"]),
                         "accuracy": rates_at_threshold(scores.distances, scores.same, threshold)["accuracy"],
                         "auc": scores.curve.auc})
        pooled.append(scores)
        log(f"  accuracy {per_fold[-1]['accuracy']:.3f}  AUC {scores.curve.auc:.4f}")
    accuracies = np.array([f["accuracy"] for f in per_fold])
    distances = np.concatenate([s.distances for s in pooled])
    same = np.concatenate([s.same for s in pooled])
    return {"accuracy": float(accuracies.mean()), "accuracy_sem": float(accuracies.std(ddof=1) / np.sqrt(len(accuracies))),
            "auc": float(np.mean([f["auc"] for f in per_fold])), "tar_at_far_1e-3": tar_at_far(distances, same, 1e-3),
            "tar_at_far_1e-2": tar_at_far(distances, same, 1e-2), "folds": per_fold, "seed": seed,
            "budget": {"epochs": epochs} if epochs else {"seconds": seconds}}
