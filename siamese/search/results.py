"""What a study has found, as plain data for the command line, the Train and Runs pages and the benchmark:
one row a trial, the best, the importances, and Optuna's plotly figures."""

from __future__ import annotations

from pathlib import Path

import optuna

from ..config import TrainConfig
from ..runs.folder import run_config
from .objective import live_figure
from .study import Plan

STATES = {optuna.trial.TrialState.RUNNING: "running", optuna.trial.TrialState.COMPLETE: "complete",
          optuna.trial.TrialState.PRUNED: "pruned", optuna.trial.TrialState.FAIL: "failed",
          optuna.trial.TrialState.WAITING: "waiting"}
# Importances, parallel coordinates and contours say little with fewer finished trials than this.
ENOUGH_TRIALS = 4


def trial_rows(study: optuna.Study, plan: Plan) -> list[dict]:
    """One row a trial: its number, state, objective value (complete trials), the last live figure and at
    which epoch, its values of the searched fields, and its run."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        steps = trial.intermediate_values
        last = max(steps) if steps else None
        run = trial.user_attrs.get("run")
        rows.append({"trial": trial.number, "state": STATES.get(trial.state, trial.state.name.lower()),
                     plan.objective: trial.value, live_figure(plan.objective): steps[last] if steps else None,
                     "epochs": last or 0, **{f: trial.params.get(f) for f in plan.space},
                     "run": Path(run).name if run else None,
                     "why": trial.user_attrs.get("ended") or trial.user_attrs.get("error") or "",
                     "seconds": _seconds(trial)})
    return rows


def _seconds(trial: optuna.trial.FrozenTrial) -> float | None:
    if trial.datetime_start is None:
        return None
    return ((trial.datetime_complete or _now(trial)) - trial.datetime_start).total_seconds()


def _now(trial: optuna.trial.FrozenTrial):
    import datetime

    return datetime.datetime.now(trial.datetime_start.tzinfo)


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best complete trial, or None while no trial has completed."""
    try:
        return study.best_trial
    except ValueError:
        return None


def best_config(study: optuna.Study, plan: Plan, epochs: int | None = None) -> TrainConfig | None:
    """The best trial's configuration (its run's, where the run is here; else the study's with the trial's
    values), with `epochs` when given: what "train the best for longer" starts."""
    best = best_trial(study)
    if best is None:
        return None
    run = Path(best.user_attrs.get("run", ""))
    config = run_config(run) if (run / "config.json").is_file() else TrainConfig.from_dict(
        {**plan.base.to_dict(), **best.params})
    return TrainConfig.from_dict({**config.to_dict(), **({"epochs": epochs} if epochs else {})})


def trial_line(trial: optuna.trial.FrozenTrial, plan: Plan) -> str:
    """One line for a trial that ended: what the command line prints."""
    state = STATES.get(trial.state, trial.state.name.lower())
    figure = (f"{plan.objective} {trial.value:.4f}" if trial.value is not None else
              f"{live_figure(plan.objective)} {_last(trial)}")
    params = "  ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    run = Path(trial.user_attrs.get("run", "")).name
    why = trial.user_attrs.get("error") if state == "failed" else None
    return (f"trial {trial.number:3d}  {state:<8}  {figure}  {params}  run {run or '—'}"
            f"  ({len(trial.intermediate_values)} epochs)" + (f"  {why}" if why else ""))


def _last(trial: optuna.trial.FrozenTrial) -> str:
    steps = trial.intermediate_values
    return f"{steps[max(steps)]:.4f} at epoch {max(steps)}" if steps else "—"


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def epochs_trained(study: optuna.Study) -> int:
    """Trial-epochs trained: every complete or pruned trial's epochs (what pruning saves), as the trial
    recorded them, else its last reported epoch."""
    ended = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return sum(t.user_attrs.get("epochs", max(t.intermediate_values, default=0))
               for t in study.get_trials(deepcopy=False, states=ended))


def importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importance of each searched field (summing to 1), or {} with too few complete trials."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < ENOUGH_TRIALS:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study, evaluator=_fanova()))
    except (ValueError, RuntimeError):  # every complete trial drew the same values
        return {}


def _fanova() -> optuna.importance.FanovaImportanceEvaluator:
    """fANOVA (Hutter et al. 2014), seeded: the same trials give the same importances every time."""
    return optuna.importance.FanovaImportanceEvaluator(seed=0)


def figures(study: optuna.Study, pair: tuple[str, str] | None = None) -> dict:
    """Optuna's plotly figures of the study, by name: the history and the intermediate values always;
    with ENOUGH_TRIALS complete trials, the importances, parallel coordinates and a contour of `pair`
    (or a slice of each field where fewer than two are searched)."""
    from optuna import visualization as vis

    shown = {"history": vis.plot_optimization_history(study), "intermediate": vis.plot_intermediate_values(study)}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < ENOUGH_TRIALS:
        return shown
    if importances(study):
        shown["importances"] = vis.plot_param_importances(study, evaluator=_fanova())
    shown["parallel"] = vis.plot_parallel_coordinate(study)
    if pair and pair[0] != pair[1]:
        shown["contour"] = vis.plot_contour(study, params=list(pair))
    else:
        shown["slice"] = vis.plot_slice(study)
    return shown

