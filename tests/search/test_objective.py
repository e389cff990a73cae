"""siamese/search/objective.py: a trial is an ordinary run folder naming its study; its value is the run's
own figure; a pruned trial ends like a stopped run, with its checkpoint and curves; a trial that cannot
write (a full disk) fails alone and the study goes on."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import optuna

from siamese.runs.files import read_metrics
from siamese.runs.folder import RunPaths
from siamese.runs.status import read_status
from siamese.search.objective import TRIAL_FILE, TrialRun, fail_dead_trials, trial_base
from siamese.search.space import parse_dimension
from siamese.search.study import Plan


def trial_run(plan, tmp_path, name="s"):
    return TrialRun(plan, name, "memory", tmp_path / "runs", tmp_path / "data")


def test_a_trial_is_a_run_folder_whose_value_is_its_final_validation_figure(tmp_path, tiny):
    plan = Plan(tiny(), {"lr": parse_dimension("lr=log:0.001:0.01")}, "oneshot", pruner="none")
    study = optuna.create_study(direction="maximize")
    study.optimize(trial_run(plan, tmp_path), n_trials=1)
    trial = study.trials[0]
    run = Path(trial.user_attrs["run"])
    epochs = read_metrics(RunPaths(run).metrics, "epoch")
    assert trial.state == optuna.trial.TrialState.COMPLETE and read_status(run)["status"] == "finished"
    assert trial.value == epochs[-1]["oneshot_accuracy"] and len(epochs) == 3
    assert trial.intermediate_values == {e["epoch"]: e["oneshot_accuracy"] for e in epochs}
    assert json.loads((run / TRIAL_FILE).read_text()) == {"study": "s", "trial": 0, "storage": "memory"}
    assert json.loads(RunPaths(run).config.read_text())["lr"] == trial.params["lr"]


def test_a_pruned_trial_ends_like_a_stopped_run_with_its_checkpoint_and_curves(tmp_path, tiny):
    plan = Plan(tiny(epochs=50), {"lr": parse_dimension("lr=log:0.001:0.01")})
    # A pruner that stops every trial below AUC 2, that is every trial, at its first report (epoch 1).
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    study.optimize(trial_run(plan, tmp_path), n_trials=1)
    trial = study.trials[0]
    run = Path(trial.user_attrs["run"])
    status = read_status(run)
    assert trial.state == optuna.trial.TrialState.PRUNED and list(trial.intermediate_values) == [1]
    assert status["status"] == "pruned" and status["epoch"] == 1 and "pruned at epoch 1: val_auc" in status["message"]
    assert RunPaths(run).checkpoint.exists() and len(read_metrics(RunPaths(run).metrics, "epoch")) == 1


def test_a_trial_whose_disk_fills_fails_alone_and_the_study_goes_on(tmp_path, tiny, monkeypatch):
    import siamese.train.loop as loop

    real, calls = loop.save_torch, []

    def full_once(path, value):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, value)

    monkeypatch.setattr(loop, "save_torch", full_once)
    plan = Plan(tiny(), {"lr": parse_dimension("lr=log:0.001:0.01")}, pruner="none")
    study = optuna.create_study(direction="maximize")
    study.optimize(trial_run(plan, tmp_path), n_trials=2, catch=(OSError,))
    failed, complete = study.trials
    assert failed.state == optuna.trial.TrialState.FAIL and failed.user_attrs["error"] == "No space left on device"
    assert read_status(Path(failed.user_attrs["run"]))["status"] == "failed"
    assert complete.state == optuna.trial.TrialState.COMPLETE and 0.5 < complete.value <= 1.0
    assert RunPaths(Path(complete.user_attrs["run"])).checkpoint.exists()


def test_a_running_trial_whose_process_is_gone_is_marked_failed(tmp_path, tiny):
    from siamese.runs.files import write_json

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    run = tmp_path / "runs" / "s-000"
    run.mkdir(parents=True)
    write_json(RunPaths(run).status, {"status": "running", "pid": 2 ** 22 + 99, "updated": 0})
    import socket

    trial.set_user_attr("run", str(run))
    trial.set_user_attr("host", socket.gethostname())
    assert fail_dead_trials(study) == [0] and study.trials[0].state == optuna.trial.TrialState.FAIL


def test_a_trial_judged_on_a_pairs_file_never_trains_on_its_people(tiny):
    assert trial_base(tiny(), "pairs:/lfw/pairsDevTest.txt").exclude_people == "/lfw/pairsDevTest.txt"
    assert trial_base(tiny(), "val_auc").exclude_people is None


def test_a_trial_validates_every_epoch_unless_told_so_the_pruner_compares_like_with_like(tiny):
    assert tiny(eval_every=0).eval_every == 0 and trial_base(tiny(eval_every=0), "val_auc").eval_every == 1
    assert trial_base(tiny(eval_every=3), "val_auc").eval_every == 3
