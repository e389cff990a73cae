"""The command line (siamese/cli.py), called in-process through main() and once as `python -m siamese`."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from siamese.cli import build_parser, main
from siamese.config import TrainConfig
from siamese.decisions.saved import read_threshold, save_threshold
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.status import read_status

# tests/conftest.py by path: a bare `import conftest` may find tests/app/conftest.py instead.
_spec = importlib.util.spec_from_file_location("shared_conftest", Path(__file__).with_name("conftest.py"))
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
identity_image = _shared.identity_image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ("train", "adapt", "evaluate", "search", "sweep", "prepare", "embed", "enroll", "verify", "identify", "explain", "remove")
ALICE, BOB = 20, 23  # never seen in training; far apart for the tiny model


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One `train` command run for the module: (run folder, its data folder, --data-dir, stdout, exit code)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("cli")
    faces = base / "faces"
    for identity, index in itertools.product(range(12), range(6)):
        (faces / f"person_{identity:02d}").mkdir(parents=True, exist_ok=True)
        identity_image(identity, index).save(faces / f"person_{identity:02d}" / f"{index:03d}.png")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--data-dir", str(base / "data"), "train", "--data", str(faces), "--input-size", "32",
                     "--model", "compact", "--embedding-dim", "16", "--p", "4", "--k", "3", "--epochs", "3",
                     "--no-augment", "--device", "cpu", "--out", str(base / "runs" / "x"), "--quiet"])
    yield base / "runs" / "x", faces, base / "data", out.getvalue(), code
    torch.set_num_threads(threads)


@pytest.fixture
def run(trained_run):
    return trained_run[0]


@pytest.fixture
def data_dir(trained_run):
    return trained_run[2]


@pytest.fixture
def pictures(tmp_path):
    """Image files of two people the model never saw: {'alice': [paths], 'bob': [paths]}."""
    found = {}
    for name, identity in (("alice", ALICE), ("bob", BOB)):
        folder = tmp_path / "pictures" / name
        folder.mkdir(parents=True)
        found[name] = []
        for index in range(4):
            path = folder / f"{index}.png"
            identity_image(identity, index).save(path)
            found[name].append(path)
    return found


def call(capsys, data_dir: Path, *argv) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_prints_one_json_line(trained_run):
    run, _, _, stdout, code = trained_run
    assert code == 0
    lines = stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["status"] == "finished"
    assert result["run"] == str(run)
    assert (result["epochs"], result["steps"]) == (3, 15)  # 54 training images / (4 x 3) -> 5 batches
    assert 0.5 < result["val_auc"] <= 1
    assert read_status(run)["status"] == "finished"
    assert json.loads((run / "config.json").read_text())["embedding_dim"] == 16


def test_evaluate_prints_the_verification_figures(capsys, run, data_dir):
    code, out, err = call(capsys, data_dir, "evaluate", "--run", run, "--n-way", "3", "--trials", "50")
    assert code == 0, err
    report = json.loads(out)
    assert {"auc", "eer", "threshold", "accuracy", "oneshot_accuracy", "n_way"} <= set(report)
    assert 0.5 < report["auc"] <= 1 and 0 <= report["eer"] < 0.5
    assert report["n_way"] == 3 and 0 <= report["oneshot_accuracy"] <= 1
    assert report["identities"] == 3 and report["images"] == 18  # 25 % of 12 identities held out


def test_evaluate_open_set_prints_identification_in_nists_terms(capsys, run, data_dir):
    code, out, err = call(capsys, data_dir, "evaluate", "--run", run, "--data", run.parent.parent / "faces",
                          "--open-set", "--gallery-size", "8", "--draws", "3")
    assert code == 0, err
    report = json.loads(out)
    assert report["gallery_size"] == 8 and report["identities"] == 12 and report["draws"] == 3
    # 8 enrolled people search their 5 other images, 4 strangers their 6, in each of 3 draws
    assert (report["mated_searches"], report["non_mated_searches"]) == (3 * 8 * 5, 3 * 4 * 6)
    for row in report["targets"]:
        assert {"fpir", "fnir", "dir", "threshold", "fpir_reached"} <= set(row)
        assert row["fpir_reached"] <= row["fpir"] and row["dir"] == pytest.approx(1 - row["fnir"])


def test_evaluate_open_set_refuses_to_enrol_every_image_a_person_has(capsys, run, data_dir):
    code, out, err = call(capsys, data_dir, "evaluate", "--run", run, "--data", run.parent.parent / "faces",
                          "--open-set", "--enrolled-per-person", "20")
    assert code == 2 and out == ""
    assert "20 enrolled images a person leave no image to search with: the people here have at most 6 images " \
           "each, so enrol between 1 and 5 of each" in err


def test_embed_writes_projector_files(capsys, run, data_dir, tmp_path):
    out_dir = tmp_path / "projector"
    code, out, err = call(capsys, data_dir, "embed", "--run", run, "--split", "all", "--out", out_dir)
    assert code == 0, err
    assert json.loads(out) == {"out": str(out_dir), "images": 72, "identities": 12, "dim": 16}
    vectors = (out_dir / "vectors.tsv").read_text().splitlines()
    metadata = (out_dir / "metadata.tsv").read_text().splitlines()
    assert len(vectors) == 72 and len(metadata) == 73
    assert metadata[0] == "identity\timage"
    assert all(len(line.split("\t")) == 16 for line in vectors)
    assert all(line.split("\t")[0].startswith("person_") for line in metadata[1:])


def test_enroll_verify_identify_remove(capsys, run, data_dir, pictures, tmp_path):
    gallery = tmp_path / "gallery"
    common = ("--run", run, "--gallery", gallery, "--no-detect")  # synthetic people have no faces to find
    code, out, err = call(capsys, data_dir, "enroll", *common, "--name", "alice", *pictures["alice"][:3])
    assert code == 0, err
    assert json.loads(out) == {"enrolled": "alice", "images": 3, "identities": 1}
    code, out, err = call(capsys, data_dir, "enroll", *common, "--name", "bob", *pictures["bob"][:3])
    assert json.loads(out)["identities"] == 2

    # One of alice's own enrolled pictures: distance ~0, accepted under any sensible threshold.
    code, out, err = call(capsys, data_dir, "verify", *common, "--claim", "alice", pictures["alice"][0])
    result = json.loads(out)
    assert (code, result["accepted"], result["claimed"]) == (0, True, "alice")
    assert result["distance"] < 1e-3 and result["threshold_from"].startswith("the gallery: ")

    original = read_threshold(run)
    save_threshold(run, 1e-3, "test")  # only near-identical pictures pass
    try:
        by_run = (*common, "--threshold-from", "run")
        code, out, err = call(capsys, data_dir, "verify", *by_run, "--claim", "alice", pictures["bob"][3])
        result = json.loads(out)
        assert (code, result["accepted"]) == (1, False)
        assert result["distance"] > result["threshold"] == 1e-3 and result["threshold_from"].endswith("test")

        code, out, err = call(capsys, data_dir, "identify", *by_run, pictures["bob"][0], pictures["alice"][3])
        assert code == 0
        known, unknown = map(json.loads, out.splitlines())  # one line a photo, in order
        assert known["identity"] == "bob" and known["image"] == str(pictures["bob"][0])
        assert unknown["identity"] is None and unknown["distance"] > 1e-3
    finally:
        save_threshold(run, original, "eer")

    code, out, err = call(capsys, data_dir, "remove", *common[:4], "--name", "alice")
    assert code == 0
    assert json.loads(out) == {"removed": "alice", "identities": 1}
    assert not (gallery / "identities" / "alice").exists()
    code, out, err = call(capsys, data_dir, "verify", *common, "--claim", "alice", pictures["alice"][0])
    assert code == 2
    assert err.startswith("error: ") and "not enrolled" in err and "bob" in err


def assert_clean_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2
    assert "error:" in err
    assert "Traceback" not in err + out
    for word in words:
        assert word in err


def test_train_on_a_missing_folder(capsys, tmp_path):
    code, out, err = call(capsys, tmp_path / "data", "train", "--data", tmp_path / "nowhere", "--input-size", "32",
                          "--epochs", "1", "--out", tmp_path / "runs" / "x", "--quiet")
    assert_clean_error(code, out, err, "nowhere")


def test_train_with_a_zero_learning_rate(capsys, tmp_path, make_identity_folders):
    faces = make_identity_folders()
    code, out, err = call(capsys, tmp_path / "data", "train", "--data", faces, "--lr", "0",
                          "--out", tmp_path / "runs" / "x", "--quiet")
    assert_clean_error(code, out, err, "lr")
    assert not (tmp_path / "runs" / "x").exists()


def test_train_run_refuses_configuration_options(capsys, tmp_path):
    run = create_run(TrainConfig(data="digits", epochs=1), tmp_path / "runs")
    before = RunPaths(run).config.read_text()
    code, out, err = call(capsys, tmp_path / "data", "train", "--run", run, "--lr", "0.1", "--quiet")
    assert_clean_error(code, out, err, "config.json as it is", "--lr")
    assert RunPaths(run).config.read_text() == before and not RunPaths(run).metrics.exists()


def test_resume_of_a_folder_that_is_not_a_run(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, out, err = call(capsys, tmp_path / "data", "train", "--resume", tmp_path / "empty", "--quiet")
    assert_clean_error(code, out, err, "not a run folder")


def test_evaluate_a_missing_run(capsys, tmp_path):
    code, out, err = call(capsys, tmp_path / "data", "evaluate", "--run", tmp_path / "nothing")
    assert_clean_error(code, out, err, "not a run folder")


def test_verify_goes_on_past_an_unreadable_image_and_says_which(capsys, run, data_dir, tmp_path, pictures):
    gallery = tmp_path / "gallery"
    call(capsys, data_dir, "enroll", "--run", run, "--gallery", gallery, "--no-detect", "--name", "alice",
         pictures["alice"][0])
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"not a picture")
    code, out, err = call(capsys, data_dir, "verify", "--run", run, "--gallery", gallery, "--no-detect", "--claim",
                          "alice", bad, pictures["alice"][1])
    broken, checked = map(json.loads, out.splitlines())
    assert code == 2 and "photo.jpg" in broken["error"] and "not a readable image" in broken["error"]
    assert checked["claimed"] == "alice" and "accepted" in checked and "Traceback" not in err
    # One person enrolled: no gallery threshold yet; the run's is used, and the note says what to enrol
    assert "enrol at least 2 people" in err and checked["threshold_from"].startswith("the run's threshold")


def test_an_unknown_choice_is_refused_by_the_parser(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["train", "--loss", "hinge"])
    assert info.value.code == 2
    assert "invalid choice: 'hinge'" in capsys.readouterr().err


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: python -m siamese {command}" in capsys.readouterr().out


def test_train_help_lists_every_config_field(capsys):
    from dataclasses import fields

    from siamese.config import TrainConfig

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for f in fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in text


def test_subcommands_are_the_documented_ones():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(SUBCOMMANDS)


def test_python_m_siamese_help():
    done = subprocess.run([sys.executable, "-m", "siamese", "--help"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in SUBCOMMANDS:
        assert command in done.stdout


def test_a_file_that_cannot_be_written_is_an_error_message(capsys, run, data_dir, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    code, out, err = call(capsys, data_dir, "embed", "--run", run, "--out", tmp_path / "taken" / "e.npz")
    assert_clean_error(code, out, err, "Not a directory", "taken")


def test_decisions_give_a_confidence_fitted_on_the_gallery_or_none(capsys, run, data_dir, pictures, tmp_path):
    common = ("--run", run, "--gallery", tmp_path / "gallery", "--no-detect")
    call(capsys, data_dir, "enroll", *common, "--name", "alice", *pictures["alice"][:3])
    code, out, err = call(capsys, data_dir, "verify", *common, "--claim", "alice", pictures["alice"][3])
    assert json.loads(out)["confidence"] is None  # one person: nothing to fit a confidence on
    call(capsys, data_dir, "enroll", *common, "--name", "bob", *pictures["bob"][:3])
    code, out, err = call(capsys, data_dir, "verify", *common, "--claim", "alice", pictures["alice"][3],
                          pictures["bob"][3])
    own, other = map(json.loads, out.splitlines())
    assert 0.5 < own["confidence"] < 1 and 0 < other["confidence"] < 0.5 and code == 1
    assert own["threshold"] == other["threshold"] and own["target"] == 0.01
    # how sure the promise is: the rate the gallery expects, its 95 % bound, and the comparisons behind it
    assert re.fullmatch(r"FAR \d+\.\d%, at most \d+\.\d% with 95% confidence \(\d+ impostor claims\)", own["promise"])
    code, out, err = call(capsys, data_dir, "identify", *common, "--fpir", "0.1", pictures["bob"][3])
    found = json.loads(out)
    assert found["identity"] == "bob" and found["target"] == 0.1 and found["confidence"] > 0.5


def test_explain_writes_both_faces_with_their_maps_and_the_sums(capsys, run, data_dir, pictures, tmp_path):
    out = tmp_path / "why.png"
    code, printed, err = call(capsys, data_dir, "explain", "--run", run, "--gallery", tmp_path / "gallery",
                              "--no-detect", "--out", out, pictures["alice"][0], pictures["bob"][0])
    assert code == 0, err
    report = json.loads(printed)
    assert report["method"] == "decomposition" and report["map_sum_a"] == pytest.approx(report["similarity"], abs=1e-5)
    assert report["map_sum_b"] == pytest.approx(report["similarity"], abs=1e-5) and report["same"] in (True, False)
    assert report["distance"] == pytest.approx((2 - 2 * report["similarity"]) ** 0.5, abs=1e-4)
    with Image.open(out) as image:
        assert image.size[0] > 2 * image.size[1] * 0.8  # two faces side by side
    code, printed, err = call(capsys, data_dir, "explain", "--run", run, "--gallery", tmp_path / "gallery",
                              "--no-detect", "--method", "occlusion", "--out", out, pictures["alice"][0],
                              pictures["alice"][0])
    same = json.loads(printed)
    assert same["method"] == "occlusion" and same["distance"] == pytest.approx(0, abs=1e-3) and same["same"]
    code, printed, err = call(capsys, data_dir, "explain", "--run", run, "--gallery", tmp_path / "gallery",
                              "--out", out, pictures["alice"][0], pictures["bob"][0])
    assert_clean_error(code, printed, err, "no face was found")  # synthetic pictures: detection finds none


def test_the_threshold_options_are_the_decisions_own():
    from siamese.decisions import DEFAULT_TARGET, SOURCES

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command in ("verify", "identify", "explain"):
        options = {a.dest: a for a in sub.choices[command]._actions}
        assert tuple(options["threshold_from"].choices) == SOURCES and options["far"].default == DEFAULT_TARGET
        assert ("fpir" in options) == (command != "explain")


def test_a_search_prints_a_line_a_trial_and_the_best(capsys, tmp_path, trained_run):
    faces = trained_run[1]
    code = main(["--data-dir", str(tmp_path / "data"), "search", "--data", str(faces), "--input-size", "16",
                 "--embedding-dim", "8", "--p", "4", "--k", "2", "--epochs", "2", "--no-augment", "--device", "cpu",
                 "--vary", "lr=log:0.001:0.01", "--vary", "loss=choice:cosface,arcface", "--trials", "2",
                 "--out", str(tmp_path / "runs"), "--study", "s"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and [line.split()[:3] for line in out[:2]] == [["trial", "0", "complete"], ["trial", "1", "complete"]]
    summary = json.loads(out[-1])
    assert out[2].startswith("best: trial") and summary["trials"] == {"complete": 2}
    assert Path(summary["best"]["run"]).parent == tmp_path / "runs" and set(summary["best"]["params"]) == {"lr", "loss"}


@pytest.mark.parametrize("args, message", [
    (["search", "--vary", "lr=log:0:1"], "lr: the bound 0.0 is refused"),
    (["search", "--vary", "margin=log:0:1"], "margin: a log range must stay above 0"),
    (["search", "--storage", "postgresql://u:pw@127.0.0.1:1/db"], "cannot open the study storage "
                                                                   "postgresql://u:***@127.0.0.1:1/db"),
    (["sweep", "--sweep", "runs/old.sweep.json"], "is a sweep record of an older version, which is no longer run"),
    (["sweep", "--field", "margin", "--values", "0.1"], "give between 2 and 12 values of margin, not 1"),
])
def test_a_search_or_sweep_that_cannot_start_says_why(capsys, tmp_path, args, message):
    assert main(["--data-dir", str(tmp_path / "data"), *args, "--out", str(tmp_path / "runs")]) == 2
    assert message in capsys.readouterr().err and not list((tmp_path / "runs").glob("*/config.json"))
