"""The Train page's search: the fields to search with their ranges (the dataset's default space, editable,
kept in the link), the objective, sampler, pruner, budget and workers; and a study as a live instrument:
its trials, the best so far, Optuna's figures, stop, and "train the best for longer"."""

from __future__ import annotations

import time

import optuna
import pandas as pd
import streamlit as st

from siamese.config import TrainConfig
from siamese.errors import SiameseError, describe
from siamese.runs.launch import launch
from siamese.search.objective import OBJECTIVES
from siamese.search.results import ENOUGH_TRIALS, STATES, best_config, best_trial, figures, trial_rows
from siamese.search.space import (dataset_kind, default_space, searchable, space_from_text,
                                  suggested)
from siamese.search.study import PRUNERS, SAMPLERS, Plan, open_study, shown, storage_url
from siamese.search.workers import launch_search, search_live, stop_search
from ui import workspace

OTHER_OBJECTIVES = {"pairs file (e.g. LFW View 1)": "pairs", "another dataset": "data"}
QUERY = ("search", "objective", "search_sampler", "pruner", "trials")


def url() -> str:
    return storage_url(None, workspace.RUNS_DIR)


def form(config: TrainConfig, busy: bool) -> dict:
    """The search's settings, from the link first, then the dataset's default space; starts it on request.
    Returns the settings as link parameters."""
    query = st.query_params
    space, why = default_space(dataset_kind(config.data, workspace.DATA_DIR))
    space = _linked_space(query.get("search"), config) or space
    fields_col, objective_col, budget_col = st.columns([3, 2, 2])
    chosen = fields_col.multiselect("Fields to search", searchable(), default=list(space), key="search_fields",
                                    help="Each trial draws its values of these; every other field is the form's")
    ranges = {}
    for field in chosen:
        text = space[field].text() if field in space else suggested(field, config).text()
        ranges[field] = fields_col.text_input(f"{field}", text, key=f"search_range_{field}",
                                              help=why.get(field, "KIND:LOW:HIGH (float, log, int) or choice:A,B"))
    objective = _objective(objective_col, query.get("objective", "val_auc"))
    sampler = objective_col.selectbox("Sampler", SAMPLERS, index=SAMPLERS.index(query.get("search_sampler", "tpe")),
                                      key="search_sampler", help="TPE learns from the trials so far; grid tries "
                                      "listed values; random is the baseline")
    pruner = objective_col.selectbox("Pruner", PRUNERS, index=PRUNERS.index(query.get("pruner", "median")),
                                     key="search_pruner", help="Stops hopeless trials on their validation curve")
    trials = budget_col.number_input("Trials", 1, 500, int(query.get("trials", 16)), key="search_trials")
    minutes = budget_col.number_input("Or minutes", min_value=1, value=None, placeholder="no time limit",
                                      key="search_minutes", help="Start no trial after this")
    workers = budget_col.number_input("Workers", 1, 16, 1, key="search_workers",
                                      help="Processes on this machine, each with its share of the cores")
    text = ";".join(f"{f}={r}" for f, r in ranges.items())
    if budget_col.button("Start search", type="primary", disabled=busy, key="start_search",
                         help="A run or search is in progress" if busy else "Each trial is a run of its own"):
        _start(config, text, objective, sampler, pruner, trials, minutes, workers)
    return {"search": text, "objective": objective, "search_sampler": sampler, "pruner": pruner, "trials": str(trials)}


def _linked_space(text: str | None, config: TrainConfig):
    try:
        return space_from_text(text, config) if text else None
    except SiameseError as exc:
        st.warning(f"ignored the link's search={text!r}: {exc}")
        return None


def _objective(col, current: str) -> str:
    names = [*OBJECTIVES, *OTHER_OBJECTIVES]
    kind = next((k for k, v in OTHER_OBJECTIVES.items() if current.startswith(v + ":")), current)
    picked = col.selectbox("Objective", names, index=names.index(kind) if kind in names else 0,
                           key="search_objective", help="What the best trial is best at; trials are pruned on "
                           "their validation AUC (EER for val_eer)")
    if picked in OBJECTIVES:
        return picked
    target = col.text_input("Pairs file" if OTHER_OBJECTIVES[picked] == "pairs" else "Dataset",
                            current.partition(":")[2], key="search_target")
    return f"{OTHER_OBJECTIVES[picked]}:{target}"


def _start(config, text, objective, sampler, pruner, trials, minutes, workers) -> None:
    name = time.strftime("search-%Y%m%d-%H%M%S")
    try:
        plan = Plan(config, space_from_text(text, config), objective, sampler, pruner, config.seed)
        launch_search(name, url(), plan, trials, minutes * 60 if minutes else None, workers, workspace.RUNS_DIR,
                      workspace.DATA_DIR)
    except SiameseError as exc:
        st.error(f"The search did not start: {describe(exc)}")
        return
    st.session_state.study = name
    st.rerun()


def start_sweep(plan: Plan, name: str) -> None:
    """The sweep shortcut: a grid study over one field, every value once."""
    dim = next(iter(plan.space.values()))
    launch_search(name, url(), plan, len(dim.choices), None, 1, workspace.RUNS_DIR, workspace.DATA_DIR)
    st.session_state.study = name


@st.fragment(run_every=2.0)
def live_study(name: str) -> None:
    """A study being searched, redrawn every 2 seconds; when it ends, the page is drawn again."""
    if not study_view(name, live=True):
        st.rerun()


def study_view(name: str, live: bool = False) -> bool:
    """A study: its trials, the best so far, Optuna's figures; stop (live) or train the best for longer.
    Returns whether it is still being searched."""
    study, plan = open_study(name, url())
    running = search_live(study) if live else False
    rows = trial_rows(study, plan)
    counts = pd.Series([row["state"] for row in rows], dtype=str).value_counts()
    st.subheader(f"Study {name}: {'searching' if running else 'ended'}")
    st.caption(f"{plan.objective} ({study.direction.name.lower()}), {plan.sampler} sampler, {plan.pruner} pruner; "
               f"in {shown(url())}. " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATES.values() if counts.get(s)))
    _best(study, plan, running)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"trials_{name}")
    _figures(study, plan, name)
    if running and st.button(f"Stop search {name}", key=f"stop_{name}", help="Running trials end after their "
                             "step, with a checkpoint; no new trial starts"):
        stop_search(study)
    return running


def _best(study, plan: Plan, running: bool) -> None:
    best = best_trial(study)
    if best is None:
        st.info("No trial has completed yet" + (": the best appears here when one has." if running else "."))
        return
    params = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in best.params.items())
    st.success(f"Best so far: trial {best.number}, {plan.objective} {best.value:.4f} ({params}); run "
               f"{best.user_attrs.get('run', '').rsplit('/', 1)[-1]}")
    if running:
        return
    epochs_col, train_col = st.columns([1, 3])
    epochs = epochs_col.number_input("Epochs", 1, 10_000, plan.base.epochs * 2, key=f"best_epochs_{study.study_name}")
    if train_col.button("Train the best for longer", key=f"train_best_{study.study_name}",
                                        help="A new run with the best trial's configuration and these epochs"):
        try:
            st.session_state.run = launch(best_config(study, plan, epochs), workspace.RUNS_DIR, workspace.DATA_DIR).name
            st.rerun()
        except SiameseError as exc:
            st.error(f"Training did not start: {describe(exc)}")


def _figures(study, plan: Plan, name: str) -> None:
    fields = list(plan.space)
    pair = None
    if len(fields) >= 2:
        x_col, y_col, _ = st.columns([1, 1, 3])
        pair = (x_col.selectbox("Contour of", fields, key=f"contour_x_{name}"),
                y_col.selectbox("against", fields, index=1, key=f"contour_y_{name}"))
    drawn = figures(study, pair)
    if len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))) < ENOUGH_TRIALS:
        st.caption(f"The importances, parallel coordinates and contour appear with {ENOUGH_TRIALS} complete trials.")
    for left, right in (("history", "intermediate"), ("importances", "parallel"), ("contour", "slice")):
        cols = st.columns(2)
        for col, key in zip(cols, (left, right)):
            if key in drawn:
                drawn[key].update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10))
                col.plotly_chart(drawn[key], width="stretch", key=f"{key}_{name}")

