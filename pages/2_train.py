"""Train: the live run (and search) at the top; start from a trained run, presets, the hyperparameters (kept in
the link), then start a run, a search of several fields or a sweep of one; resume."""

from pathlib import Path

import streamlit as st

from siamese.config import TrainConfig, form_field, from_query, to_query
from siamese.errors import SiameseError, describe
from siamese.recipes import PRESETS, apply_preset, defaults_for
from siamese.runs.folder import list_runs
from siamese.runs.launch import launch, resumable, resume_training, stop_training
from siamese.runs.status import running_runs
from siamese.search.sweep import plan_sweep, sweep_name
from siamese.search.workers import live_studies
from siamese.train.parent import FINE_TUNE_WHY, fine_tune, parent_choices
from ui import form, page, search, workspace
from ui.live import ended_view, live_view

page.setup("Train")
live_runs = running_runs(workspace.RUNS_DIR)
studies = live_studies(search.url())
busy = bool(live_runs) or bool(studies)
current = workspace.RUNS_DIR / st.session_state.run if st.session_state.get("run") else None
watched = live_runs[0] if live_runs else current

# The search and the run being trained, or the current one, stand first: progress and curves without scrolling.
if studies:
    search.live_study(studies[0])
elif st.session_state.get("study"):  # the search this session started, once it has ended
    search.study_view(st.session_state.study)
if watched is not None:
    (live_view if live_runs else ended_view)(watched)
    stop_col, resume_col = st.columns(2)
    if live_runs and stop_col.button(f"Stop {watched.name}", help="Ends after the current step, with a checkpoint"):
        try:
            stop_training(watched)
            st.toast(f"Asked {watched.name} to stop")
        except (SiameseError, OSError) as exc:
            stop_col.error(f"Could not ask {watched.name} to stop: {describe(exc)}")
    if not busy and resumable(watched):
        more = resume_col.number_input("Epochs in all", min_value=1, value=None, placeholder="as configured",
                                       key="resume_epochs")
        longer = resume_col.number_input("Seconds in all", min_value=1.0, value=None, placeholder="as configured",
                                         key="resume_seconds")
        if resume_col.button(f"Resume {watched.name}", help="Carry on from its checkpoint; the curves carry on"):
            try:
                resume_training(watched, workspace.DATA_DIR, more, longer)
                st.rerun()
            except SiameseError as exc:
                resume_col.error(f"Not resumed: {describe(exc)}")

st.divider()
st.session_state.setdefault("cfg_data", st.query_params.get("data", st.session_state.data_source))
data = st.text_input("Dataset", key="cfg_data", help=form_field("data").help)
defaults, why = st.cache_data(ttl=60, show_spinner=False)(defaults_for)(data, workspace.DATA_DIR)
base = {**TrainConfig(data=data).to_dict(), **defaults}
if st.session_state.get("cfg_defaults_of") != data:  # a new dataset: its own defaults fill the form
    form.forget()
    st.session_state.cfg_defaults_of, st.session_state.train_values = data, {}
# The link wins; then what this session last chose (widgets forget their values on other pages).
values, problems = from_query(st.query_params.to_dict(), {**base, **st.session_state.get("train_values", {})})
for problem in problems:
    st.warning(problem)

parents = parent_choices(list_runs(workspace.RUNS_DIR))
parent_col, parent_why_col = st.columns([3, 5])
parent = form.start_from(parent_col, values["init_from"], parents)
values = form.follow_parent(values, parent, data)
parent_why_col.caption("New weights: the network learns from nothing." if parent is None else
                       f"{Path(parent).name}'s network and recipe fill the form; the dataset and the budget stay "
                       "this form's. Epoch 0 of the curves is its network on the new people, before any step.")

FINE_TUNE = "Fine-tune a trained run"
preset_col, apply_col, why_col = st.columns([2, 1, 5])
preset = preset_col.selectbox("Preset", [*PRESETS, FINE_TUNE], key="preset")
why_col.caption(f"**{preset}**: {FINE_TUNE_WHY if preset == FINE_TUNE else PRESETS[preset][1]}. Defaults for "
                f"this dataset: {why}.")
if apply_col.button("Fill the form", help="Set the fields to the preset's; the link follows"):
    try:
        if preset == FINE_TUNE and parent is None:
            st.error("Fine-tuning starts from a trained run: choose one in Start from, above, first.")
        else:
            form.fill(fine_tune({**values, "data": data}, parent) if preset == FINE_TUNE
                      else apply_preset(preset, {**values, "data": data}, workspace.DATA_DIR))
    except SiameseError as exc:
        st.error(f"The preset {preset} cannot be used here: {exc}")

chosen = form.config_form(values)
try:
    config = TrainConfig.from_dict({**values, **chosen, "init_from": parent, "data": data})
except SiameseError as exc:
    st.error(str(exc))
    st.stop()
st.query_params.from_dict({**{k: v for k, v in st.query_params.items() if k in search.QUERY}, "data": data,
                          **to_query(config, base)})
st.session_state.train_values = {name: getattr(config, name) for name in to_query(config, base)}
st.session_state.data_source = config.data
st.caption("The configuration is in the address bar: copy the link to share it.")
if misfit := form.parent_problem(config, parents):
    st.error(misfit)
    if parent in {str(path) for path, _ in parents}:
        st.button(f"Take {Path(parent).name}'s network", on_click=form.take_network, args=(config.to_dict(), parent))
if failed := st.session_state.pop("cfg_take_failed", None):
    st.error(f"The network was not taken: {failed}")

MODES = ("A single run", "A search of several fields", "A sweep of one field")
mode = st.radio("Start", MODES, horizontal=True, key="start_mode", index=1 if "search" in st.query_params else 0)
if mode == MODES[0] and st.button("Start training", type="primary", disabled=busy or bool(misfit),
                                  help="A run is in progress; stop it or wait for it to end" if busy else misfit):
    try:
        run_dir = launch(config, workspace.RUNS_DIR, workspace.DATA_DIR)
    except SiameseError as exc:
        st.error(f"Training did not start: {describe(exc)}")
        st.stop()
    st.session_state.run = run_dir.name
    st.rerun()
if mode == MODES[1]:
    st.query_params.update(search.form(config, busy or bool(misfit)))
if mode == MODES[2]:
    field_col, values_col, start_col = st.columns([1, 2, 1])
    field = field_col.selectbox("Sweep a field", form.FIELDS, index=form.FIELDS.index("margin"), key="sweep_field")
    text = values_col.text_input("…over these values", placeholder="0.1, 0.2, 0.5", key="sweep_values")
    if start_col.button("Start sweep", disabled=busy or bool(misfit) or not text.strip(),
                        help="A run is in progress" if busy else "A grid study: one run per value, each to its end"):
        try:
            search.start_sweep(plan_sweep(config, field, text), sweep_name(field))
            st.rerun()
        except SiameseError as exc:
            st.error(f"The sweep did not start: {describe(exc)}")
