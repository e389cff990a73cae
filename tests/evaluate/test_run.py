"""siamese/evaluate/run.py: a trained run evaluated on its validation identities, on an LFW-format pairs
file, and on every identity of another dataset."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from siamese.config import TrainConfig
from siamese.errors import DatasetError
from siamese.decisions.saved import read_threshold
from siamese.evaluate.run import evaluate_run, run_roc, validation_scores
from siamese.runs.files import read_metrics
from siamese.runs.folder import new_run_dir
from siamese.runs.trained import load_trained
from siamese.train.loop import train

_spec = importlib.util.spec_from_file_location("shared_conftest", Path(__file__).parents[1] / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
identity_image = _shared.identity_image


def test_run_roc(small_run):
    curve = run_roc(load_trained(small_run), data_dir=small_run.parent.parent / "data")
    assert curve["far"][0] == 0 and curve["far"][-1] == 1 and 0.5 < curve["auc"] <= 1
    assert len(curve["far"]) == len(curve["tar"]) <= 400


@pytest.fixture(scope="module")
def lfw_like_run(tmp_path_factory):
    """A tiny run on 12 synthetic people laid out as LFW (images/<Name>/<Name>_NNNN.png), with 4 more
    people kept out by a people file, and a View 1-style pairs file of those 4."""
    root = tmp_path_factory.mktemp("lfw_like")
    names = [f"Person_{chr(65 + i)}" for i in range(16)]
    for identity, name in enumerate(names):
        (root / "images" / name).mkdir(parents=True)
        for k in range(1, 7):
            identity_image(identity, k, 32).save(root / "images" / name / f"{name}_{k:04d}.png")
    test_people = names[12:]
    (root / "peopleDevTest.txt").write_text(f"{len(test_people)}\n" + "".join(f"{n}\t6\n" for n in test_people))
    matched = [f"{n}\t{a}\t{b}" for n in test_people for a, b in ((1, 2), (3, 4), (5, 6))]
    mismatched = [f"{test_people[i]}\t{k}\t{test_people[(i + 1) % 4]}\t{k + 1}" for i in range(4) for k in (1, 3, 5)]
    (root / "pairsDevTest.txt").write_text(f"{len(matched)}\n" + "\n".join(matched + mismatched) + "\n")
    config = TrainConfig(data=str(root / "images"), input_size=32, embedding_dim=16, p=4, k=3, epochs=8,
                         augment=False, device="cpu", exclude_people=str(root / "peopleDevTest.txt"))
    run = new_run_dir(root / "runs", "r")
    train(config, run, data_dir=root / "data")
    return run, root


def test_a_pairs_file_is_scored_by_the_lfw_protocol(lfw_like_run):
    run, root = lfw_like_run
    report = evaluate_run(run, data_dir=root / "data", pairs=root / "pairsDevTest.txt")
    assert report["protocol"] == "pairsDevTest.txt (View 1, one set in 10 folds)"
    assert (report["genuine_pairs"], report["impostor_pairs"]) == (12, 12)
    assert report["people_seen_in_training"] == 0 and report["pairs_without_face"] == 0
    assert len(report["fold_accuracies"]) == 10 and 0 <= report["accuracy"] <= 1
    assert report["auc"] > 0.8 and set(report["tar_at_far"]) == {"1e-1", "1e-2", "1e-3"}
    assert report["accuracy_std"] >= 0 and report["faces"] == "whole"


def test_another_dataset_is_scored_on_every_identity(lfw_like_run, make_identity_folders):
    run, root = lfw_like_run
    other = make_identity_folders(n_identities=5, n_images=4)
    report = evaluate_run(run, data_dir=root / "data", data=str(other))
    assert report["identities"] == 5 and report["images"] == 20 and report["protocol"] == f"every identity of {other}"
    assert report["genuine_pairs"] == 5 * 6 and report["impostor_pairs"] == (20 * 19) // 2 - 30


def test_a_pairs_file_naming_a_missing_image_stops_before_scoring(lfw_like_run, tmp_path):
    run, root = lfw_like_run
    bad = root / "broken-pairs.txt"
    bad.write_text("1\nPerson_M\t1\t9\nPerson_M\t1\tPerson_N\t1\n")
    with pytest.raises(DatasetError, match="line 2: Person_M has no image 9"):
        evaluate_run(run, data_dir=root / "data", pairs=bad)


def test_the_command_line_prints_the_protocol_s_figures(lfw_like_run, capsys):
    import json

    from siamese.cli import main

    run, root = lfw_like_run
    assert main(["--data-dir", str(root / "data"), "evaluate", "--run", str(run), "--pairs",
                 str(root / "pairsDevTest.txt")]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("auc", "eer", "accuracy", "accuracy_std", "tar_at_far", "genuine_pairs", "impostor_pairs"):
        assert key in report
    assert set(report["tar_at_far"]) >= {"1e-2", "1e-3"}


def test_a_malformed_pairs_file_is_an_error_message_with_the_line(lfw_like_run, capsys):
    from siamese.cli import main

    run, root = lfw_like_run
    bad = root / "mixed.txt"
    bad.write_text("2\nPerson_M 1 2\nPerson_M 1 Person_N 1\nPerson_N 1 2\nPerson_N 1 Person_O 1\n")
    assert main(["--data-dir", str(root / "data"), "evaluate", "--run", str(run), "--pairs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 3: a matched 'name n1 n2' pair was expected" in err and "Traceback" not in err


def test_as_greyscale_gives_what_a_greyscale_photo_gives_in_all_three_channels():
    import numpy as np
    import torch
    from PIL import Image

    from siamese.evaluate.run import as_greyscale

    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    grey = as_greyscale(torch.from_numpy(rgb).permute(2, 0, 1)[None])
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=int)
    assert grey.shape == (1, 3, 8, 8) and (grey[0, 0] == grey[0, 2]).all()
    assert np.abs(grey[0, 0].numpy().astype(int) - expected).max() <= 1  # PIL rounds in fixed point
    assert as_greyscale(grey[:, :1]).shape == (1, 1, 8, 8)  # grey input comes back as it is


def test_the_validation_study_is_the_one_the_run_recorded_one_eer_and_its_threshold(small_run):
    """The Threshold page's validation ROC, the Runs page's EER and the saved threshold are one computation."""
    scores, _ = validation_scores(load_trained(small_run), data_dir=small_run.parent.parent / "data")
    last = [r for r in read_metrics(small_run / "metrics.jsonl", "epoch")][-1]
    assert scores.eer == pytest.approx(last["val_eer"], abs=1e-9)
    assert scores.presets["EER"] == pytest.approx(read_threshold(small_run), abs=1e-9)
