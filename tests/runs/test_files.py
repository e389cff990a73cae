"""siamese/runs/files.py and siamese/files.py: tolerant readers, atomic and safe writes and loads."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import torch

from siamese.errors import RunError
from siamese import files as safe_files  # the atomic writing the run's files use
from siamese.runs import files
from siamese.runs.files import (
    file_fingerprint,
    load_torch,
    load_torch_with_digest,
    read_metrics,
    save_torch,
    write_json,
)
from siamese.runs.folder import (
    new_run_dir,
)

STEP_1 = {"kind": "step", "epoch": 1, "step": 1, "loss": 0.9, "images_per_second": 100.0}


STEP_2 = {**STEP_1, "step": 2, "loss": 0.8}


EPOCH_1 = {"kind": "epoch", "epoch": 1, "train_loss": 0.85, "val_auc": 0.9, "val_eer": 0.1, "threshold": 0.5,
           "oneshot_accuracy": 0.7}


def lines(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


class WritesMarker:
    """Unpickling this calls os.system: the kind of file load_torch must never execute."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_read_metrics_skips_a_torn_last_line_and_corrupt_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(lines(STEP_1, "not json at all", EPOCH_1, '{"kind": "step", "st', STEP_2)
                    + '{"kind": "end", "status": "fini')
    assert read_metrics(path) == [STEP_1, EPOCH_1, STEP_2]
    assert read_metrics(path, "step") == [STEP_1, STEP_2]
    assert read_metrics(path, "end") == []
    # A complete last line (the writer added its newline) is read.
    path.write_text(path.read_text() + 'shed"}\n')
    assert read_metrics(path, "end") == [{"kind": "end", "status": "finished"}]


def test_read_metrics_skips_lines_that_are_not_records_of_their_kind(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(lines(STEP_1, "42", "[1, 2]", '"step"', "null", "\x00\x00\x00", {"kind": "epoch"},
                          {**STEP_2, "loss": "NaN?"}, {**STEP_2, "images_per_second": True},
                          {k: v for k, v in EPOCH_1.items() if k != "val_auc"}, {"kind": "end"}, EPOCH_1))
    with open(path, "ab") as handle:
        handle.write(b"\xff\xfe bytes that are not UTF-8\n" + lines(STEP_2).encode())
    assert read_metrics(path) == [STEP_1, EPOCH_1, STEP_2]


def test_append_after_a_torn_line_drops_it_so_every_line_is_a_record(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(lines(STEP_1) + '{"kind": "step", "epoch": 1, "st')  # killed in the middle of a line
    files.append_metrics(path, STEP_2)
    assert path.read_text() == lines(STEP_1, STEP_2)
    path.write_text('{"kind": "st')  # torn first line
    files.append_metrics(path, STEP_1)
    assert path.read_text() == lines(STEP_1)
    files.append_metrics(path, STEP_2)
    assert [json.loads(line) for line in path.read_text().splitlines()] == [STEP_1, STEP_2]


def test_a_metrics_line_that_cannot_be_written_gives_run_error(tmp_path):
    blocker = tmp_path / "metrics.jsonl"
    blocker.mkdir()
    with pytest.raises(RunError, match="cannot write"):
        files.append_metrics(blocker, STEP_1)


def test_read_metrics_of_a_missing_file_is_empty(tmp_path):
    assert read_metrics(tmp_path / "nothing.jsonl") == []


def test_write_json_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "status.json"
    write_json(path, {"status": "running"})
    write_json(path, {"status": "finished", "values": [1, 2.5, "é"]})
    assert json.loads(path.read_text()) == {"status": "finished", "values": [1, 2.5, "é"]}
    assert only_file(tmp_path) == ["status.json"]


def test_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_torch(path, {"model": {"w": torch.arange(4.0)}, "epoch": 1})
    before = path.read_bytes()

    def torn_save(value, handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.torch, "save", torn_save)
    with pytest.raises(RunError, match="disk is not full"):
        save_torch(path, {"model": {"w": torch.zeros(4)}, "epoch": 2})
    monkeypatch.undo()

    assert path.read_bytes() == before
    state = load_torch(path)
    assert state["epoch"] == 1 and torch.equal(state["model"]["w"], torch.arange(4.0))
    assert only_file(tmp_path) == ["checkpoint.pt"]


def test_failed_rename_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "threshold.json"
    write_json(path, {"threshold": 0.5})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_files.os, "replace", full)
    with pytest.raises(RunError) as info:
        write_json(path, {"threshold": 0.9})
    assert "No space left on device" in str(info.value)
    assert "Check that the folder is writable and the disk is not full" in str(info.value)
    assert json.loads(path.read_text()) == {"threshold": 0.5}
    assert only_file(tmp_path) == ["threshold.json"]


def test_a_temporary_file_that_cannot_be_created_gives_run_error(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_files.tempfile, "mkstemp", full)
    with pytest.raises(RunError, match="Check that the folder is writable"):
        save_torch(tmp_path / "checkpoint.pt", {"epoch": 1})
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores folder permissions, so a read-only folder cannot be made")
def test_read_only_folder_gives_run_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(RunError, match="Check that the folder is writable"):
            write_json(folder / "status.json", {"status": "running"})
        with pytest.raises(RunError, match="cannot create"):
            new_run_dir(folder / "runs")
    finally:
        folder.chmod(0o700)


def test_load_torch_with_digest_reads_the_file_once_for_both(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_torch(path, {"w": torch.arange(4.0), "epoch": 3})
    reads = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read_bytes(self))
    state, digest = load_torch_with_digest(path)
    assert reads == [path]
    assert torch.equal(state["w"], torch.arange(4.0)) and state["epoch"] == 3
    assert digest == hashlib.sha256(real_read_bytes(path)).hexdigest()[:16]
    with pytest.raises(RunError, match="is missing"):
        load_torch_with_digest(tmp_path / "none.pt")


def test_load_torch_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "pwned"
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps({"model": WritesMarker(marker)}, protocol=2))
    zipped = tmp_path / "zipped.pt"
    torch.save({"model": {}, "payload": WritesMarker(marker)}, zipped)

    for path in (plain, zipped):
        with pytest.raises(RunError, match="can load safely"):
            load_torch(path)
        with pytest.raises(RunError, match="can load safely"):
            load_torch_with_digest(path)
    assert not marker.exists()

    # The files are really dangerous: an unrestricted load runs the command.
    torch.load(zipped, weights_only=False)
    assert marker.exists()


def test_load_torch_of_missing_or_garbage_files(tmp_path):
    with pytest.raises(RunError, match="missing"):
        load_torch(tmp_path / "checkpoint.pt")
    (tmp_path / "garbage.pt").write_bytes(b"\x00\x01 not a checkpoint")
    with pytest.raises(RunError, match="can load safely"):
        load_torch(tmp_path / "garbage.pt")


def test_temporary_files_live_next_to_the_target(tmp_path, monkeypatch):
    """The temporary file must be in the target's folder: os.replace is atomic only within one file system."""
    made = []
    real_mkstemp = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        made.append(Path(name))
        return fd, name

    monkeypatch.setattr(safe_files.tempfile, "mkstemp", spy)
    write_json(tmp_path / "status.json", {"status": "new"})
    assert len(made) == 1 and made[0].parent == tmp_path and not made[0].exists()


def test_fingerprint_changes_when_the_file_changes(tmp_path):
    path = tmp_path / "f"
    assert file_fingerprint(path) == ""
    path.write_text("a")
    first = file_fingerprint(path)
    time.sleep(0.01)
    path.write_text("bb")
    assert file_fingerprint(path) != first


WRITER = textwrap.dedent("""
    import sys, torch
    from pathlib import Path
    from siamese.runs.files import save_torch
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
