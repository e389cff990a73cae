"""siamese/runs/lineage.py: where a run started, and the adaptations of a run; the runs table shows it."""

from __future__ import annotations

from siamese.config import TrainConfig
from siamese.gallery.adapt import create_adaptation
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.lineage import adaptations_of, adapted_to, lineage_text, run_lineage
from siamese.runs.table import runs_table


def test_the_lineage_names_the_parent_its_weights_and_an_adaptation(small_run, tmp_path, make_identity_folders):
    runs = tmp_path / "runs"
    own = create_run(TrainConfig(), runs, "scratch")
    child = create_run(TrainConfig(init_from=str(small_run)), runs, "child")
    snapshot = create_run(TrainConfig(init_from=str(small_run / "snapshots" / "epoch-0001.pt")), runs, "early")
    make_identity_folders(tmp_path / "gallery" / "identities", n_identities=2, n_images=2, names=["ann", "bob"])
    adapted = create_adaptation(small_run, tmp_path / "gallery", runs, max_seconds=5)
    assert run_lineage(own) is None and lineage_text(None) == "new weights"
    assert run_lineage(child) == {"parent": "r1", "parent_dir": small_run, "weights": "checkpoint", "exists": True,
                                  "adapted_to": []}
    assert lineage_text(run_lineage(snapshot)) == "r1 (epoch-0001.pt)"
    assert lineage_text(run_lineage(adapted)) == "r1, adapted to 2 enrolled people"
    rows = {row["run"]: row for row in runs_table(runs)}
    assert rows["child"]["started_from"] == "r1" and rows["scratch"]["started_from"] == "new weights"
    assert rows[adapted.name]["started_from"] == "r1, adapted to 2 enrolled people"
    assert rows["child"]["model"] == "compact" and "val_auc" in rows["child"]  # the other columns stay
    assert adaptations_of(small_run, runs) == [adapted] and adaptations_of(child, runs) == []
    assert adapted_to(adapted) == ["ann", "bob"] and adapted_to(child) == []
    RunPaths(adapted).config.write_text("{")  # unreadable: no adaptation to speak of, and no crash
    assert adapted_to(adapted) == [] and adaptations_of(small_run, runs) == []


def test_a_deleted_parent_is_named_as_deleted(tmp_path):
    gone = tmp_path / "runs" / "gone"
    child = create_run(TrainConfig(init_from=str(gone)), tmp_path / "runs", "child")
    assert lineage_text(run_lineage(child)) == "gone (deleted)"
