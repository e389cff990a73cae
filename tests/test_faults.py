"""Faults from outside: a process killed while writing a checkpoint or a metrics line, and trainings
started at once."""

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import torch

from siamese.config import TrainConfig
from siamese.runs import RunPaths, load_torch, new_run_dir, read_metrics
from siamese.train import resume, train

WRITER = textwrap.dedent("""
    import sys, torch
    from pathlib import Path
    from siamese.runs import save_torch
    path = Path(sys.argv[1])
    step = 0
    while True:
        save_torch(path, {"step": step, "weights": torch.full((2_000_000,), float(step))})
        if step == 0:
            Path(sys.argv[2]).touch()
        step += 1
""")


def test_sigkill_while_writing_a_checkpoint_leaves_the_previous_one_loadable(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    for delay in (0.05, 0.13, 0.31):
        ready = tmp_path / f"ready-{delay}"
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(checkpoint), str(ready)])
        while not ready.exists():
            assert writer.poll() is None, "the writer died before its first checkpoint"
            time.sleep(0.01)
        time.sleep(delay)  # somewhere in the middle of a later write (each takes tens of milliseconds)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        state = load_torch(checkpoint)
        assert torch.all(state["weights"] == state["step"]), "a checkpoint mixes two writes"


def test_trainings_started_at_the_same_moment_get_separate_run_folders(tmp_path):
    folders, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        folders.append(new_run_dir(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(folders)) == 8


def test_a_metrics_line_cut_by_a_kill_then_resume_leaves_valid_json_lines(make_identity_folders, tmp_path):
    faces = make_identity_folders(n_identities=12, n_images=6)
    config = TrainConfig(data=str(faces), input_size=32, embedding_dim=8, p=4, k=2, augment=False,
                         val_fraction=0.34, device="cpu", seed=0, epochs=2)
    run = new_run_dir(tmp_path / "runs", "cut")

    def stop_mid_epoch(record):
        if record["kind"] == "step" and record["step"] == 2:
            RunPaths(run).stop.touch()

    assert train(config, run, stop_mid_epoch, data_dir=tmp_path).status == "stopped"
    metrics = RunPaths(run).metrics
    assert read_metrics(metrics, "step")[-1]["steps_total"] > 2 * 2  # stopped inside the first epoch
    with open(metrics, "a") as handle:  # what a SIGKILL in the middle of a write leaves
        handle.write('{"kind": "step", "epoch": 1, "step": 3, "lo')
    assert resume(run, data_dir=tmp_path).status == "finished"
    text = metrics.read_text()
    refuse = lambda constant: pytest.fail(f"{constant} is not JSON")  # noqa: E731
    records = [json.loads(line, parse_constant=refuse) for line in text.splitlines()]
    assert text.endswith("\n") and len(records) == len(read_metrics(metrics))
    assert [r["epoch"] for r in records if r["kind"] == "epoch"][-1] == 2
