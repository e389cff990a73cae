"""Starting from what was learned, measured (issue: fine-tune, adapt, every identity, several datasets).

- identities: the photographs default trained for the same seconds on LFW's people with two photos or more,
  on every person (single-photo people as classes of their own), and on LFW beside half of ORL's people
  (another camera); each scored on LFW View 1 in colour and greyscale, on ORL (the other half's people
  only for the run that trained on the first half), and by the webcam demo on ORL's unseen people.
- finetune: ORL's 30 / 10 identity split trained from the default LFW run (`init_from`, the fine-tuning
  preset) against trained from scratch (the face-crop default), for the same seconds and seeds.
- adapt: the webcam demo before and after the default LFW run is adapted to the people enrolled, on ORL's
  people and LFW's View 1 test people.
"""

from __future__ import annotations

import os
from pathlib import Path

from siamese.config import TrainConfig
from siamese.data.folders import scan_folder
from siamese.data.protocol_files import read_people
from siamese.data.split import split_identities
from siamese.evaluate.run import (
    dataset_scores,
    evaluate_run,
    pairs_file_scores,
    protocol_report,
)
from siamese.faces.cache import resolve_cut
from siamese.recipes import PHOTOGRAPHS, defaults_for
from siamese.runs.files import read_json, read_metrics
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.trained import load_trained
from siamese.train.loop import train
from siamese.train.parent import fine_tune

from .demo import webcam_demo

# The LFW trainings of the identities part: what each adds to the default.
LFW_VARIANTS = {
    "two photos or more": {"singletons": "leave_out"},
    "every person": {"singletons": "classes"},
    "beside half of ORL": {"more_data": "{orl_half}@{cut}"},  # its faces cut as LFW's are (aligned)
}


def lfw_config(images: Path, data_dir: Path, seconds: float, seed: int, **fields) -> TrainConfig:
    """The photographs default on LFW without View 1's test people, in float32, for `seconds`."""
    defaults, _ = defaults_for(str(images), data_dir)
    return TrainConfig.from_dict({**defaults, "data": str(images), "max_seconds": seconds, "seed": seed,
                                  "precision": "fp32", "device": "cpu",
                                  "exclude_people": str(images.parent / "peopleDevTest.txt"), **fields})


def orl_halves(crops: Path, workdir: Path, seed: int = 0) -> tuple[Path, dict[str, list[Path]]]:
    """A folder of links to half of ORL's people (to train on) and the other half's photos (to demo on)."""
    people = scan_folder(crops).identities
    trained, unseen = split_identities(sorted(people), 0.5, seed)
    half = workdir / "orl-half"
    half.mkdir(parents=True, exist_ok=True)
    for person in trained:
        if not (half / person).exists():
            os.symlink(crops / person, half / person)
    return half, {person: people[person] for person in unseen}


def identities(images: Path, crops: Path, seconds: float, seed: int, data_dir: Path, runs: Path, log) -> dict:
    """The identities part: each LFW variant trained for `seconds` and scored (see the module's text)."""
    half, unseen = orl_halves(crops, runs)
    test_people = set(read_people(images.parent / "peopleDevTest.txt"))
    lfw_people = {p: files for p, files in scan_folder(images).identities.items() if p in test_people}
    out = {}
    cut = resolve_cut(lfw_config(images, data_dir, seconds, seed).faces, images)[0]
    for name, fields in LFW_VARIANTS.items():
        fields = {k: v.format(orl_half=half, cut=cut) for k, v in fields.items()}
        config = lfw_config(images, data_dir, seconds, seed, **fields)
        log(f"identities: LFW {name}, {seconds:.0f} s")
        run = create_run(config, runs, name.replace(" ", "-"))
        train(config, run, data_dir=data_dir)
        out[name] = {"run": str(run), **_scores(run, images, crops, unseen, data_dir, lfw_people,
                                                 orl_all=name != "beside half of ORL")}
        log(f"  View 1 {out[name]['view1']['accuracy']:.3f} (grey {out[name]['view1_grey']['accuracy']:.3f}), "
            f"ORL's unseen half AUC {out[name]['orl_unseen_auc']:.4f}, {out[name]['epochs']} epochs")
    return {"seconds": seconds, "seed": seed, "orl_unseen": sorted(unseen), "runs": out}


def _scores(run: Path, images: Path, crops: Path, unseen: dict, data_dir: Path, lfw_people: dict,
            orl_all: bool) -> dict:
    trained = load_trained(run)
    view1 = images.parent / "pairsDevTest.txt"
    colour = protocol_report(pairs_file_scores(trained, view1, images, data_dir)[0])
    grey = protocol_report(pairs_file_scores(trained, view1, images, data_dir, greyscale=True)[0])
    unseen_folder = run.parent / "orl-unseen"
    unseen_folder.mkdir(exist_ok=True)
    for person in unseen:
        if not (unseen_folder / person).exists():
            os.symlink(crops / person, unseen_folder / person)
    orl = dataset_scores(trained, str(crops), data_dir)[0] if orl_all else None
    orl_unseen = dataset_scores(trained, str(unseen_folder), data_dir)[0]
    end = read_metrics(RunPaths(run).metrics, "end")[-1]
    demos = {"ORL's unseen half": webcam_demo(run, unseen, data_dir)}
    if orl_all:
        demos["LFW View 1 test people"] = webcam_demo(run, lfw_people, data_dir)
    short = lambda r: {k: r[k] for k in ("accuracy", "accuracy_sem", "auc", "eer", "tar_at_far")}  # noqa: E731
    split = read_json(RunPaths(run).split)
    return {"view1": short(colour), "view1_grey": short(grey), "orl_auc": orl.curve.auc if orl else None,
            "orl_unseen_auc": orl_unseen.curve.auc, "epochs": end["epoch"],
            "steps": end["step"], "train_people": len(split["train"]),
            "single_image_people": split.get("single_image_people", 0), "demo": demos}


def finetune(parent: Path, crops: Path, budgets: list[tuple[float, int]], data_dir: Path, runs: Path, log) -> list:
    """ORL trained from `parent` (the fine-tuning preset) and from scratch (the face-crop default) for each
    (seconds, seed) of `budgets`: validation AUC, EER and 10-way one-shot (2,000 trials) on the held-out
    10 people, and the parent's own figures on them (epoch 0)."""
    rows = []
    for seconds, seed in budgets:
        own = {"data": str(crops), "max_seconds": seconds, "seed": seed, "epochs": 10_000, "precision": "fp32",
               "device": "cpu"}
        for how in ("from LFW", "from scratch"):
            defaults, _ = defaults_for(str(crops), data_dir)
            values = {**TrainConfig().to_dict(), **defaults, **own}
            config = TrainConfig.from_dict(fine_tune(values, parent) if how == "from LFW" else values)
            log(f"finetune: ORL {how}, {seconds:.0f} s, seed {seed}")
            run = create_run(config, runs, f"orl-{'ft' if how == 'from LFW' else 'scratch'}-{seconds:.0f}-{seed}")
            train(config, run, data_dir=data_dir)
            report = evaluate_run(run, data_dir, trials=2000, seed=seed)
            epochs = read_metrics(RunPaths(run).metrics, "epoch")
            row = {"how": how, "seconds": seconds, "seed": seed, "auc": report["auc"], "eer": report["eer"],
                   "oneshot": report["oneshot_accuracy"], "epochs": epochs[-1]["epoch"], "run": str(run)}
            if how == "from LFW":
                start = evaluate_run(run, data_dir, checkpoint=RunPaths(run).snapshots / "epoch-0000.pt",
                                     trials=2000, seed=seed)
                row.update(start_auc=start["auc"], start_oneshot=start["oneshot_accuracy"])
            rows.append(row)
            log(f"  AUC {row['auc']:.4f}  one-shot {row['oneshot']:.3f}")
    return rows


def adapt(parent: Path, people: dict[str, dict[str, list[Path]]], seconds: float, data_dir: Path, log) -> dict:
    """The webcam demo of `parent` on each set of people, before and after a `seconds` adaptation."""
    out = {}
    for name, photos in people.items():
        log(f"adapt: the demo on {name}, before and after {seconds:.0f} s of adaptation")
        out[name] = webcam_demo(parent, photos, data_dir, adapt_seconds=seconds)
    return out


def default_run(results: dict) -> Path | None:
    """The identities part's run of the photographs default as it is (its singletons setting)."""
    runs = results.get("identities", {}).get("runs", {})
    wanted = "every person" if PHOTOGRAPHS.get("singletons") == "classes" else "two photos or more"
    return Path(runs[wanted]["run"]) if wanted in runs else None
