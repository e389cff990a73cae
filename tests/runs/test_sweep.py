"""siamese/runs/sweep.py: a field tried at a few values, the runs trained one after another by one process,
stoppable as a whole, compared by their final figures; values the configuration refuses are named."""

from __future__ import annotations

import os
import time

import pytest

from siamese.config import TrainConfig
from siamese.errors import ConfigError, RunError
from siamese.runs.files import write_json
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.status import read_status
from siamese.runs.sweep import list_sweeps, plan_sweep, read_sweep, run_sweep, start_sweep, stop_sweep, sweep_table

TINY = dict(data="digits", input_size=16, embedding_dim=8, p=4, k=2, augment=False, device="cpu", epochs=2)


def wait_until(condition, seconds: float = 120.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.3)


def test_a_plan_is_one_configuration_a_value():
    configs = plan_sweep(TrainConfig(**TINY), "margin", ["0.1", " 0.2", "0.5", ""])
    assert [c.margin for c in configs] == [0.1, 0.2, 0.5] and all(c.lr == TrainConfig().lr for c in configs)


@pytest.mark.parametrize("field, values, message", [
    ("margin", ["0.1", "-1"], "the value '-1' of margin is refused: margin: must be zero or positive"),
    ("lr", ["fast", "0.1"], "the value 'fast' of lr is refused: lr: 'fast' is not a valid float"),
    ("model", ["compact", "vgg"], "the value 'vgg' of model is refused"),
    ("margin", ["0.1"], "give between 2 and 12 values of margin, not 1"),
    ("margin", ["0.1", "0.10"], "the values of margin repeat"),
    ("data", ["a", "b"], "'data' is not a field that can be swept"),
])
def test_values_the_configuration_refuses_are_named_with_the_reason(field, values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_sweep(TrainConfig(**TINY), field, values)


@pytest.fixture
def faces(make_identity_folders):
    """8 synthetic people, 4 images each: an epoch of a few steps."""
    return str(make_identity_folders(n_identities=8, n_images=4))


def test_a_sweep_trains_its_runs_one_after_another_and_compares_them(tmp_path, faces):
    configs = plan_sweep(TrainConfig(**{**TINY, "data": faces}, loss="contrastive"), "margin", ["0.5", "1.0", "1.5"])
    sweep = start_sweep(configs, "margin", tmp_path / "runs", tmp_path / "data")
    assert [read_status(tmp_path / "runs" / name)["status"] for name in sweep.runs[1:]] == ["queued", "queued"]
    assert list_sweeps(tmp_path / "runs")[0].name == sweep.name
    with pytest.raises(RunError, match="a run is in progress"):
        start_sweep(configs, "margin", tmp_path / "runs", tmp_path / "data")
    wait_until(lambda: not read_sweep(sweep.path).live and
               all(read_status(tmp_path / "runs" / n)["status"] == "finished" for n in sweep.runs))
    rows = sweep_table(read_sweep(sweep.path))
    assert [row["margin"] for row in rows] == [0.5, 1.0, 1.5]
    assert list(rows[0])[:4] == ["margin", "val_auc", "val_eer", "oneshot"]  # what sweeps are compared by
    assert all(row["status"] == "finished" and 0 <= row["val_auc"] <= 1 and row["epochs"] == 2 for row in rows)
    started = [read_status(tmp_path / "runs" / n)["started"] for n in sweep.runs]
    assert started == sorted(started)  # one after another


def test_a_sweep_stopped_as_a_whole_cancels_what_has_not_run(tmp_path, faces):
    configs = plan_sweep(TrainConfig(**{**TINY, "data": faces, "epochs": 100_000}), "lr", ["0.001", "0.002", "0.003"])
    sweep = start_sweep(configs, "lr", tmp_path / "runs", tmp_path / "data")
    first = tmp_path / "runs" / sweep.runs[0]
    wait_until(lambda: read_status(first)["status"] == "running")
    stop_sweep(sweep)
    wait_until(lambda: not read_sweep(sweep.path).live and read_status(first)["status"] != "running", 60)
    assert read_status(first)["status"] == "stopped" and RunPaths(first).checkpoint.exists()
    assert [read_status(tmp_path / "runs" / n)["status"] for n in sweep.runs[1:]] == ["cancelled", "cancelled"]


def test_a_queued_run_whose_sweep_died_reads_as_cancelled(tmp_path):
    run = create_run(TrainConfig(**TINY), tmp_path / "runs")
    write_json(RunPaths(run).status, {"status": "queued", "pid": 2 ** 22 + 99, "updated": time.time()})
    assert read_status(run)["status"] == "cancelled"
    write_json(RunPaths(run).status, {"status": "queued", "pid": os.getpid(), "updated": time.time()})
    assert read_status(run)["status"] == "queued"


def test_values_typed_as_text_are_split_on_commas_and_semicolons():
    configs = plan_sweep(TrainConfig(**TINY), "margin", "0.1, 0.2; 0.5 ,")
    assert [c.margin for c in configs] == [0.1, 0.2, 0.5]


def test_a_run_that_fails_is_marked_failed_and_the_sweep_goes_on(tmp_path, faces):
    (tmp_path / "nobody.txt").write_text("Nobody_Here\n")
    (tmp_path / "one.txt").write_text("person_00\n")
    configs = plan_sweep(TrainConfig(**{**TINY, "data": faces}), "exclude_people",
                         [str(tmp_path / "nobody.txt"), str(tmp_path / "one.txt")])
    runs = [create_run(config, tmp_path / "runs", f"s-{k}") for k, config in enumerate(configs)]
    path = tmp_path / "runs" / "s.sweep.json"
    write_json(path, {"field": "exclude_people", "values": [c.exclude_people for c in configs],
                      "runs": [r.name for r in runs], "pid": os.getpid()})
    for run in runs:
        write_json(RunPaths(run).status, {"status": "queued", "pid": os.getpid(), "updated": time.time()})
    run_sweep(path, tmp_path / "data")
    failed, trained = (read_status(run) for run in runs)
    assert failed["status"] == "failed" and "names 1 people, none of them in the dataset" in failed["message"]
    assert trained["status"] == "finished" and RunPaths(runs[1]).checkpoint.exists()
