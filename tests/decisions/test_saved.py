"""siamese/decisions/saved.py: the run's saved thresholds, read and written in one place."""

from __future__ import annotations

import json

import numpy as np
import pytest

from siamese.decisions.saved import (
    STRANGER_QUANTILES,
    SavedIdentification,
    read_identification_threshold,
    read_threshold,
    run_threshold,
    save_identification_threshold,
    save_threshold,
    save_validation_threshold,
    threshold_source,
)
from siamese.errors import RunError


def test_a_damaged_threshold_file_says_what_to_do(tmp_path):
    for damaged in ('{"threshold": "high"}', '{"thresh', "[]", '{"threshold": NaN}'):
        (tmp_path / "threshold.json").write_text(damaged)
        with pytest.raises(RunError, match="delete that file, then save a threshold on the Threshold page"):
            read_threshold(tmp_path)


def test_threshold_round_trip(tmp_path):
    assert read_threshold(tmp_path) is None
    save_threshold(tmp_path, 0.8125, "dashboard")
    assert read_threshold(tmp_path) == 0.8125
    saved = json.loads((tmp_path / "threshold.json").read_text())
    assert saved["source"] == "dashboard" and saved["threshold"] == 0.8125
    save_threshold(tmp_path, 0.25, "eer")
    assert read_threshold(tmp_path) == 0.25


def test_the_decision_threshold_is_the_saved_one_else_the_last_eer_threshold(tmp_path):
    with pytest.raises(RunError, match="no threshold yet"):
        run_threshold(tmp_path)
    save_validation_threshold(tmp_path, 0.5)  # the trainer, after each validation
    save_validation_threshold(tmp_path, 0.6)
    assert run_threshold(tmp_path) == 0.6
    save_threshold(tmp_path, 0.42, "dashboard")
    assert run_threshold(tmp_path) == 0.42
    save_validation_threshold(tmp_path, 0.7)  # a threshold someone chose is kept by the training that goes on
    assert run_threshold(tmp_path) == 0.42 and threshold_source(tmp_path) == "dashboard"


def test_a_training_saves_its_threshold_and_says_what_it_was_chosen_on(small_run):
    last = [json.loads(line) for line in (small_run / "metrics.jsonl").read_text().splitlines()]
    assert read_threshold(small_run) == pytest.approx([r for r in last if r["kind"] == "epoch"][-1]["threshold"])
    assert threshold_source(small_run) == "the validation identities of run r1 (equal error rate)"
    assert read_identification_threshold(small_run) is None


def test_a_1n_threshold_is_kept_beside_the_1_1_one(tmp_path):
    save_threshold(tmp_path, 0.5, "the Threshold page, on pairsDevTest.txt")
    save_identification_threshold(tmp_path, 0.31, 0.01, 50, "validation identities of run x")
    assert read_threshold(tmp_path) == 0.5 and threshold_source(tmp_path) == "the Threshold page, on pairsDevTest.txt"
    assert read_identification_threshold(tmp_path) == SavedIdentification(0.31, 0.01, 50,
                                                                           "validation identities of run x")
    save_threshold(tmp_path, 0.6, "again")  # saving the 1:1 threshold keeps the 1:N one
    assert read_identification_threshold(tmp_path).threshold == 0.31 and read_threshold(tmp_path) == 0.6
    record = json.loads((tmp_path / "threshold.json").read_text())
    record["identification"]["threshold"] = "nan"
    (tmp_path / "threshold.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="1:N threshold .* is damaged .*save one again on the Threshold page"):
        read_identification_threshold(tmp_path)


def test_a_1n_threshold_keeps_its_strangers_as_quantiles_and_a_damaged_list_is_named(tmp_path):
    strangers = np.random.default_rng(0).uniform(0.5, 1.5, 5000)
    save_identification_threshold(tmp_path, 0.6, 0.01, 20, "study", strangers)
    saved = read_identification_threshold(tmp_path)
    assert len(saved.strangers) == len(STRANGER_QUANTILES)
    assert saved.strangers[0] == pytest.approx(strangers.min()) and saved.strangers[-1] == pytest.approx(strangers.max())
    assert np.interp(0.01, STRANGER_QUANTILES, saved.strangers) == pytest.approx(np.quantile(strangers, 0.01), abs=1e-3)
    record = json.loads((tmp_path / "threshold.json").read_text())
    record["identification"]["strangers"] = record["identification"]["strangers"][:10]
    (tmp_path / "threshold.json").write_text(json.dumps(record))
    with pytest.raises(RunError, match="strangers' distances are cut short"):
        read_identification_threshold(tmp_path)


def test_a_1n_threshold_alone_is_not_a_1_1_threshold(tmp_path):
    save_identification_threshold(tmp_path, 0.31, 0.01, 50, "study")
    assert read_threshold(tmp_path) is None
    with pytest.raises(RunError, match="no threshold yet"):
        run_threshold(tmp_path)
