"""A trial of a search: an ordinary run folder, trained by the trainer, reporting each epoch's validation
figure to its trial (which its pruner may end: the run is then `pruned`, with its checkpoint and curves),
and judged by the study's objective.

Objectives: the run's validation AUC (`val_auc`, the default), EER (`val_eer`), one-shot accuracy
(`oneshot`), or a figure on people the run never saw: the AUC of an LFW-format pairs file (`pairs:FILE`,
LFW View 1 is `pairs:.../pairsDevTest.txt`; its people are kept out of training) or of every identity of
another dataset (`data:NAME`, trained on one camera, judged on another). The live curve pruned on is the
validation figure the objective is closest to.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import optuna

from ..config import TrainConfig
from ..errors import RunError, SearchError, SiameseError
from ..runs.files import write_json
from ..runs.folder import create_run
from ..runs.status import LIVE_STATUSES, pid_alive, read_status, request_stop, write_status
from .space import suggest

if TYPE_CHECKING:
    from .study import Plan

# objective -> (direction, the epoch record's figure reported for pruning)
OBJECTIVES = {"val_auc": ("maximize", "val_auc"), "val_eer": ("minimize", "val_eer"),
              "oneshot": ("maximize", "oneshot_accuracy")}
OBJECTIVE_HELP = ("val_auc (default), val_eer, oneshot (on the run's validation people), pairs:FILE (AUC of an "
                  "LFW-format pairs file, e.g. LFW View 1's pairsDevTest.txt; its people are kept out of "
                  "training), data:NAME (AUC on every person of another dataset)")
# A small file in each trial's run naming its study: the run folder is the contract with every reader.
TRIAL_FILE = "trial.json"


def check_objective(objective: str) -> None:
    kind, _, target = objective.partition(":")
    if objective in OBJECTIVES or (kind in ("pairs", "data") and target.strip()):
        return
    raise SearchError(f"objective {objective!r} is not one of: {OBJECTIVE_HELP}")


def direction(objective: str) -> str:
    check_objective(objective)
    return OBJECTIVES.get(objective, ("maximize",))[0]


def live_figure(objective: str) -> str:
    """The epoch record's figure a trial reports while it trains."""
    return OBJECTIVES.get(objective, ("", "val_auc"))[1]


def trial_base(base: TrainConfig, objective: str) -> TrainConfig:
    """The fixed configuration as a trial trains it: judged on a pairs file's people, it never sees them;
    validated every epoch unless told otherwise, since the pruner compares the trials' curves epoch by epoch
    (validation by time would give each trial other epochs)."""
    fields = {}
    if objective.startswith("pairs:") and not base.exclude_people:
        fields["exclude_people"] = objective.partition(":")[2]
    if base.eval_every == 0:
        fields["eval_every"] = 1
    return TrainConfig.from_dict({**base.to_dict(), **fields}) if fields else base


@dataclass
class TrialRun:
    """The objective Optuna calls: one trial, one run folder under `runs_dir`. `stopping` says whether the
    search was asked to stop (then the running trial ends after its epoch)."""

    plan: Plan
    study_name: str
    storage_shown: str
    runs_dir: Path
    data_dir: Path
    stopping: Callable[[], bool] = lambda: False

    def __call__(self, trial: optuna.Trial) -> float:
        from ..train.loop import train

        config = TrainConfig.from_dict({**trial_base(self.plan.base, self.plan.objective).to_dict(),
                                        **suggest(trial, self.plan.space)})
        run_dir = create_run(config, self.runs_dir, _free_name(self.runs_dir, f"{self.study_name}-{trial.number:03d}"))
        write_json(run_dir / TRIAL_FILE, {"study": self.study_name, "trial": trial.number,
                                          "storage": self.storage_shown})
        trial.set_user_attr("run", str(run_dir.resolve()))
        trial.set_user_attr("host", socket.gethostname())
        write_status(run_dir, "starting", f"trial {trial.number} of study {self.study_name}", pid=os.getpid())
        try:
            result = train(config, run_dir, data_dir=self.data_dir, report=_Reporter(trial, self.plan.objective,
                                                                                     self.stopping))
        except (SiameseError, OSError) as exc:
            _failed(trial, run_dir, exc)
            raise
        trial.set_user_attr("epochs", result.epochs)
        if result.status != "finished":
            trial.set_user_attr("ended", f"{result.status}: {result.message}")
            raise optuna.TrialPruned(result.message)
        return self._value(result, run_dir)

    def _value(self, result, run_dir: Path) -> float:
        kind, _, target = self.plan.objective.partition(":")
        if kind in OBJECTIVES:
            return float(result.final[live_figure(kind)])
        from ..evaluate.run import dataset_scores, pairs_file_scores
        from ..runs.trained import load_trained

        trained = load_trained(run_dir)
        if kind == "pairs":
            return float(pairs_file_scores(trained, target, data_dir=self.data_dir)[0].curve.auc)
        return float(dataset_scores(trained, target, self.data_dir)[0].curve.auc)


def _free_name(runs_dir: Path, name: str) -> str:
    """`name`, or `name-1`, ... where a run of that name exists (a study name used in two storages)."""
    for attempt in range(1000):
        candidate = name if attempt == 0 else f"{name}-{attempt}"
        if not (Path(runs_dir) / candidate).exists():
            return candidate
    raise RunError(f"could not find a free run folder name for {name} under {runs_dir}")


def _failed(trial: optuna.Trial, run_dir: Path, exc: BaseException) -> None:
    """A trial that could not train: its run says why (unless the disk cannot take even that), and so does
    the trial, which Optuna marks failed; the study goes on."""
    reason = getattr(exc, "strerror", None) or str(exc)
    trial.set_user_attr("error", reason)
    try:
        write_status(run_dir, "failed", reason, pid=os.getpid())
    except (SiameseError, OSError):
        pass


class _Reporter:
    """The trainer's per-epoch report hook: the live figure goes to the trial; the run ends after this epoch
    when the search is stopping, or when the pruner says the trial is hopeless."""

    def __init__(self, trial: optuna.Trial, objective: str, stopping: Callable[[], bool]):
        self.trial, self.figure, self.stopping = trial, live_figure(objective), stopping

    def __call__(self, record: dict) -> tuple[str, str] | None:
        value = record[self.figure]
        self.trial.report(value, record["epoch"])
        if self.stopping():
            return "stopped", "the search was stopped"
        if self.trial.should_prune():
            return "pruned", f"pruned at epoch {record['epoch']}: {self.figure} {value:.4f} is not promising"
        return None


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Trials still marked running whose run folder here says their process is gone (`interrupted` or
    `failed`: a killed worker) are marked failed, at once; those on other machines are failed by Optuna's
    heartbeat. Returns the numbers of the trials failed."""
    with warnings.catch_warnings():  # marked experimental since Optuna 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        run = trial.user_attrs.get("run")
        if not run or not Path(run).is_dir() or trial.user_attrs.get("host") != socket.gethostname():
            continue
        status = read_status(Path(run))
        if status.get("status") in ("interrupted", "failed") and not pid_alive(status.get("pid")):
            try:
                study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
                failed.append(trial.number)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # its worker finished it meanwhile
    return failed


def stop_local_trials(study: optuna.Study) -> None:
    """Touch the STOP file of every running trial whose run folder is on this machine: it ends after its
    current step rather than its epoch."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        run = Path(trial.user_attrs.get("run", ""))
        if run.is_dir() and read_status(run).get("status") in LIVE_STATUSES:
            request_stop(run)
