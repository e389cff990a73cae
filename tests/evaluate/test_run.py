"""siamese/evaluate/run.py: a trained run evaluated on its validation identities."""

from __future__ import annotations

from siamese.evaluate.run import run_roc


def test_run_roc(small_run):
    curve = run_roc(small_run, data_dir=small_run.parent.parent / "data")
    assert curve["far"][0] == 0 and curve["far"][-1] == 1 and 0.5 < curve["auc"] <= 1
    assert len(curve["far"]) == len(curve["tar"]) <= 400
