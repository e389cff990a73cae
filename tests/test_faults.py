"""Faults from outside: a process killed while writing a checkpoint, and trainings started at once."""

import signal
import subprocess
import sys
import textwrap
import threading
import time

import torch

from siamese.runs import load_torch, new_run_dir

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
