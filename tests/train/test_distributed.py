"""Training beyond one process (siamese/train/distributed.py, and the loop under torchrun): two CPU processes
with Gloo on this machine, launched exactly as the README documents."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from siamese.errors import ConfigError
from siamese.runs.files import load_torch, read_metrics
from siamese.runs.folder import RunPaths
from siamese.runs.status import read_status
from siamese.sampling import PKSampler
from siamese.train.distributed import init_world
from ui.page import page_file

REPO = Path(__file__).resolve().parents[2]
LABELS = torch.arange(10).repeat_interleave(6)


def torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node 2 ARGS` with this checkout importable, one thread a process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    env.pop("WORLD_SIZE", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_two_processes_from_the_command_line_write_one_run_and_learn(noisy_faces, tmp_path, monkeypatch):
    # P and K by their long names: torchrun would stop at `--p` (see cli.ALIASES).
    done = torchrun(["-m", "siamese", "train", "--data", str(noisy_faces), "--out", "runs/two", "--epochs", "10",
                     "--loss", "triplet", "--identities-per-batch", "4", "--images-per-identity", "3", "--embedding-dim", "16", "--val-fraction", "0.5",
                     "--no-augment", "--eval-every", "1", "--device", "cpu", "--quiet"], cwd=tmp_path)
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(printed) == 1, done.stdout  # rank 0 alone reports
    assert printed[0]["status"] == "finished" and printed[0]["processes"] == 2
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["two"]

    run = tmp_path / "runs" / "two"
    assert read_status(run)["status"] == "finished" and read_status(run)["processes"] == 2
    steps = read_metrics(RunPaths(run).metrics, "step")
    epochs = read_metrics(RunPaths(run).metrics, "epoch")
    # 6 training identities x 6 images = 36 images; each step takes a 12-image batch on each of 2 ranks.
    assert all(record["images"] == 24 for record in steps)
    assert len(steps) == 10 * math.ceil(36 / 24)
    assert [record["epoch"] for record in epochs] == list(range(1, 11))
    assert epochs[-1]["train_loss"] < 0.6 * epochs[0]["train_loss"], [e["train_loss"] for e in epochs]
    assert epochs[-1]["val_auc"] > 0.85
    assert load_torch(RunPaths(run).checkpoint)["step"] == len(steps)

    # The dashboard's Runs page shows it like any other run.
    import ui.workspace

    monkeypatch.setattr(ui.workspace, "RUNS_DIR", run.parent)
    monkeypatch.setattr(ui.workspace, "DATA_DIR", tmp_path / "data")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page_file("Runs"))
    at.run()
    assert not at.exception and not at.error
    row = at.dataframe[0].value.iloc[0]
    assert (row["run"], row["status"], row["processes"]) == ("two", "finished", 2)
    assert row["val_auc"] == read_metrics(RunPaths(run).metrics, "epoch")[-1]["val_auc"]
    assert len(at.get("plotly_chart")) >= 2  # its loss and ROC curves


def test_gathered_mining_matches_one_process_and_replicas_stay_identical(faces_for_worker, tmp_path):
    torchrun([str(Path(__file__).with_name("ddp_worker.py")), str(tmp_path), str(faces_for_worker)], cwd=tmp_path)
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for report in reports:
        assert report["size"] == 2 and report["status"] == "finished"
        assert set(report["gathered"]) == {"triplet/batch_hard", "triplet/semi_hard", "triplet/batch_all",
                                           "contrastive/batch_hard", "bce/batch_hard", "cosface/batch_hard"}
        for name, check in report["gathered"].items():
            assert check["gathered"] == pytest.approx(check["combined"], rel=1e-5), name
            assert check["largest_gradient"] > 1e-3, name  # the comparison below is not of zeros
            assert check["largest_gradient_difference"] <= 1e-5 * check["largest_gradient"], name
    assert reports[0]["steps"] == reports[1]["steps"] > 0

    weights = [torch.load(tmp_path / f"weights-rank{r}.pt") for r in (0, 1)]
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), name
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["ddp", "diverge", "stop"]
    saved = load_torch(tmp_path / "runs" / "ddp" / "checkpoint.pt")["model"]
    assert all(torch.equal(saved[name], weights[0][name]) for name in saved)

    # A STOP file seen by rank 0 after step 2, and a NaN loss on rank 1 alone at step 3: every rank
    # ends at the same step, and rank 0 records why.
    assert [r["stop"] for r in reports] == [{"status": "stopped", "steps": 2}] * 2
    assert [r["diverge"] for r in reports] == [{"status": "diverged", "steps": 2}] * 2
    assert read_status(tmp_path / "runs" / "stop")["status"] == "stopped"
    diverged = read_status(tmp_path / "runs" / "diverge")
    assert diverged["status"] == "diverged" and "at step 3" in diverged["message"]


@pytest.fixture
def faces_for_worker(make_identity_folders):
    return make_identity_folders(n_identities=8, n_images=6)


def test_ranks_get_different_batches_of_equal_number_covering_one_epoch_together():
    single = PKSampler(LABELS, 4, 3, seed=5)
    ranks = [PKSampler(LABELS, 4, 3, seed=5, rank=r, world_size=2) for r in (0, 1)]
    # 60 images, 12 per batch per rank: 3 batches each, 6 in all, drawn from one seeded sequence.
    assert [s.batches_per_epoch for s in ranks] == [3, 3]
    batches = [list(s.epoch()) for s in ranks]
    sequence = [single.batch() for _ in range(6)]
    assert all(np.array_equal(a, b) for a, b in zip(batches[0], sequence[0::2]))
    assert all(np.array_equal(a, b) for a, b in zip(batches[1], sequence[1::2]))
    assert not any(np.array_equal(a, b) for a, b in zip(*batches))
    assert ranks[0].state() == ranks[1].state()  # so one checkpoint restores every rank's sampler


def test_one_process_is_a_world_of_one_where_collectives_change_nothing(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    world = init_world("cpu")
    assert (world.rank, world.size, world.is_main, world.distributed) == (0, 1, True, False)
    assert world.device == torch.device("cpu")
    embeddings, labels = torch.randn(4, 3), torch.tensor([0, 0, 1, 1])
    gathered = world.gather(embeddings, labels)
    assert gathered[0] is embeddings and gathered[1] is labels
    assert world.sum([1.5, 2.0]) == [1.5, 2.0]
    assert world.broadcast({"run": "x"}) == {"run": "x"}


def test_torchrun_with_mps_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="--device cpu"):
        init_world("mps")

