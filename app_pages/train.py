"""Train: the hyperparameters (kept in the URL), Start in a separate process, live curves, Stop."""

from dataclasses import fields

import streamlit as st

from app_pages.shared import DATA_DIR, RUNS_DIR, line_figure
from siamese import launch
from siamese.config import TrainConfig, field_types
from siamese.errors import SiameseError, describe
from siamese.urls import config_from_query, config_to_query

LAYOUT = [("Model", ["model", "embedding_dim", "input_size", "colour", "normalize"]),
          ("Loss", ["loss", "margin", "mining", "distance"]),
          ("Optimisation", ["optimizer", "lr", "lr_schedule", "weight_decay", "p", "k"]),
          ("Budget and data", ["epochs", "max_seconds", "augment", "augment_strength", "val_fraction", "seed"])]

st.title("Train")
# The URL wins; otherwise what this session last used (the URL is dropped when switching pages).
base = {**st.session_state.get("train_values", {}), "data": st.session_state.data_source}
values, problems = config_from_query(st.query_params.to_dict(), base)
for problem in problems:
    st.warning(problem)
meta = {f.name: f for f in fields(TrainConfig)}
types = field_types()


def widget(name: str, default):
    key = f"cfg_{name}"
    if key not in st.session_state:
        st.session_state[key] = default
    label, help_text = name.replace("_", " "), meta[name].metadata["help"]
    if meta[name].metadata.get("choices"):
        return st.selectbox(label, meta[name].metadata["choices"], key=key, help=help_text)
    if types[name] is bool:
        return st.checkbox(label, key=key, help=help_text)
    if types[name] is int:
        return st.number_input(label, min_value=0 if name == "seed" else 1, step=1, key=key, help=help_text)
    if name in ("margin", "max_seconds"):
        return st.number_input(label, min_value=0.0, key=key, help=help_text, format="%g",
                               placeholder="default for the loss" if name == "margin" else "no limit")
    return st.number_input(label, min_value=0.0, key=key, help=help_text, format="%g")


st.session_state.setdefault("cfg_data", values["data"])
chosen = {"data": st.text_input("Dataset", key="cfg_data", help=meta["data"].metadata["help"])}
columns = st.columns(len(LAYOUT))
for column, (group, names) in zip(columns, LAYOUT):
    with column:
        st.markdown(f"**{group}**")
        for name in names:
            explicit = name != "margin" or "margin" in st.query_params or "margin" in st.session_state.get("train_values", {})
            chosen[name] = widget(name, values[name] if explicit else None)
try:
    config = TrainConfig.from_dict({**chosen, "device": values["device"]})
except SiameseError as exc:
    st.error(str(exc))
    st.stop()
st.query_params.from_dict(config_to_query(config))
st.session_state.train_values = {k: v for k, v in config_to_query(config).items()}
st.session_state.data_source = config.data
st.caption("The configuration is in the address bar: copy the link to share it.")

live_runs = launch.running_runs(RUNS_DIR)
start_col, stop_col = st.columns([1, 3])
if start_col.button("Start training", type="primary", disabled=bool(live_runs),
                    help="A run is in progress; stop it or wait for it to end" if live_runs else None):
    try:
        run_dir = launch.start_training(config, RUNS_DIR, DATA_DIR)
    except (SiameseError, OSError) as exc:
        st.error(f"Training did not start: {describe(exc)}. Check that {RUNS_DIR} is a folder that is "
                 "writable and the disk is not full.")
        st.stop()
    st.session_state.run = run_dir.name
    st.session_state.watching = run_dir.name
    st.rerun()

watched = live_runs[0] if live_runs else (RUNS_DIR / st.session_state.run if st.session_state.get("run") else None)
if watched is None:
    st.stop()
if live_runs and stop_col.button(f"Stop {watched.name}", help="Ends after the current step, with a checkpoint"):
    try:
        launch.stop_training(watched)
        st.toast(f"Asked {watched.name} to stop")
    except (SiameseError, OSError) as exc:
        stop_col.error(f"Could not ask {watched.name} to stop: {describe(exc)}")


@st.fragment(run_every=1.0 if live_runs else None)
def live_view(run_dir):
    progress = launch.read_progress(run_dir)
    st.subheader(f"Run {run_dir.name}: {progress.status}")
    if progress.status in ("failed", "diverged", "interrupted") and progress.message:
        st.error(progress.message)
    rate = f"{progress.images_per_second:,.0f} images/s" if progress.images_per_second else ""
    st.progress(progress.fraction, text=f"epoch {progress.epoch} · {progress.fraction:.0%} · "
                f"{launch.clock(progress.elapsed)} elapsed · {launch.clock(progress.remaining)} left · {rate}")
    loss_col, val_col = st.columns(2)
    fig = line_figure("Training loss", "step", "loss")
    fig.add_scatter(x=progress.steps, y=progress.losses, mode="lines", name="loss per step")
    loss_col.plotly_chart(fig, use_container_width=True, key="loss_chart")
    fig = line_figure("Validation (held-out identities)", "epoch", "")
    epochs = [r["epoch"] for r in progress.epochs]
    for key, name in (("val_auc", "AUC"), ("val_eer", "EER"), ("oneshot_accuracy", "one-shot accuracy")):
        fig.add_scatter(x=epochs, y=[r.get(key) for r in progress.epochs], mode="lines+markers", name=name)
    val_col.plotly_chart(fig, use_container_width=True, key="val_chart")
    if st.session_state.get("watching") == run_dir.name and not progress.live:
        st.session_state.watching = None
        st.rerun()  # the run ended: redraw the page so Start comes back


live_view(watched)
