"""The search's figures: what pruning saves on ORL (trial-epochs, and the best AUC with and without), what
a short search finds on LFW judged on View 1 (against the default, with the fields' importances), and
trials per hour with two workers against one."""

from __future__ import annotations

import time
from pathlib import Path

from siamese.config import TrainConfig
from siamese.search.results import best_trial, epochs_trained, importances
from siamese.search.space import dataset_kind, default_space
from siamese.search.study import Plan, storage_url
from siamese.search.workers import run_search
from siamese.runs.folder import create_run
from siamese.train.loop import train

from .setups import setup_config


def _study(name, plan, trials, runs, data_dir, workers=1) -> tuple:
    start = time.perf_counter()
    study = run_search(name, storage_url(None, runs), plan, trials=trials, runs_dir=runs, data_dir=data_dir,
                       workers=workers)
    return study, time.perf_counter() - start


def pruning(crops: Path, seeds: list[int], trials: int, epochs: int, runs: Path, data_dir: Path, log) -> list[dict]:
    """Per seed: the face-crop default space searched by TPE with the median pruner and without, on ORL."""
    space, _ = default_space("face crops")
    rows = []
    for seed in seeds:
        base = TrainConfig(data=str(crops), epochs=epochs, seed=seed, device="cpu", precision="fp32")
        row = {"seed": seed, "trials": trials, "max_epochs": epochs}
        for pruner in ("median", "none"):
            study, seconds = _study(f"orl-{pruner}-{seed}", Plan(base, space, pruner=pruner, seed=seed), trials,
                                    runs, data_dir)
            best = best_trial(study)
            row[pruner] = {"epochs": epochs_trained(study), "best_auc": best.value if best else None,
                           "pruned": sum(t.state.name == "PRUNED" for t in study.trials), "seconds": seconds,
                           "best_params": best.params if best else None}
            log(f"ORL seed {seed}, {pruner}: {row[pruner]['epochs']} trial-epochs, best AUC {row[pruner]['best_auc']}")
        row["saved"] = 1 - row["median"]["epochs"] / max(row["none"]["epochs"], 1)
        rows.append(row)
    return rows


def lfw(images: Path, trials: int, seconds: float, runs: Path, data_dir: Path, log) -> dict:
    """The photographs' default space, each trial `seconds` long, judged on View 1's pairs (its people kept
    out of training), against the default configuration trained as long."""
    view1 = images.parent / "pairsDevTest.txt"
    base = setup_config("default", str(images), data_dir, max_seconds=seconds, precision="fp32",
                        exclude_people=str(images.parent / "peopleDevTest.txt"))
    space, _ = default_space(dataset_kind(str(images), data_dir))
    study, elapsed = _study("lfw-view1", Plan(base, space, objective=f"pairs:{view1}"), trials, runs, data_dir)
    default = create_run(base, runs, "lfw-default")
    train(base, default, data_dir=data_dir)
    from siamese.evaluate.run import pairs_file_scores
    from siamese.runs.trained import load_trained

    default_auc = float(pairs_file_scores(load_trained(default), view1, data_dir=data_dir)[0].curve.auc)
    best = best_trial(study)
    log(f"LFW View 1: best {best.value if best else None} against the default's {default_auc}")
    return {"trials": trials, "seconds": seconds, "best_auc": best.value if best else None,
            "best_params": best.params if best else None, "default_auc": default_auc,
            "importances": importances(study), "elapsed": elapsed}


def workers(crops: Path, trials: int, epochs: int, runs: Path, data_dir: Path, log) -> list[dict]:
    """Trials an hour on one study with one worker and with two (the same trials, no pruning)."""
    space, _ = default_space("face crops")
    rows = []
    for count in (1, 2):
        base = TrainConfig(data=str(crops), epochs=epochs, device="cpu", precision="fp32")
        _, seconds = _study(f"orl-workers-{count}", Plan(base, space, pruner="none"), trials, runs, data_dir, count)
        rows.append({"workers": count, "trials": trials, "seconds": seconds, "trials_per_hour": trials * 3600 / seconds})
        log(f"{count} worker(s): {trials} trials in {seconds:.0f} s")
    return rows
