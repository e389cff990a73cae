"""Train: the hyperparameters (kept in the URL), Start in a separate process, live curves, Stop."""

import streamlit as st

from siamese.config import TrainConfig, form_field, from_query, to_query
from siamese.errors import SiameseError, describe
from siamese.losses import default_margin
from siamese.recipes import defaults_for
from siamese.runs.launch import launch, stop_training
from siamese.runs.progress import clock, read_progress
from siamese.runs.status import running_runs
from ui import page, workspace
from ui.draw import line_figure

LAYOUT = [("Model", ["model", "embedding_dim", "input_size", "colour", "faces", "normalize", "flip_average"]),
          ("Loss", ["loss", "margin", "mining", "distance"]),
          ("Optimisation", ["optimizer", "lr", "lr_schedule", "weight_decay", "p", "k", "sampler"]),
          ("Budget and data", ["epochs", "max_seconds", "augment", "augmentation", "augment_strength",
                               "val_fraction", "exclude_people", "seed"])]

page.setup("Train")
st.session_state.setdefault("cfg_data", st.query_params.get("data", st.session_state.data_source))
data = st.text_input("Dataset", key="cfg_data", help=form_field("data").help)
defaults, why = st.cache_data(ttl=60, show_spinner=False)(defaults_for)(data, workspace.DATA_DIR)
base = {**TrainConfig(data=data).to_dict(), **defaults}
if st.session_state.get("cfg_defaults_of") != data:  # a new dataset: its own defaults fill the form
    for name in base.keys() - {"data"}:
        st.session_state.pop(f"cfg_{name}", None)
    st.session_state.cfg_defaults_of, st.session_state.train_values = data, {}
# The link wins; then what this session last chose (widgets forget their values on other pages).
values, problems = from_query(st.query_params.to_dict(), {**base, **st.session_state.get("train_values", {})})
for problem in problems:
    st.warning(problem)
st.caption(f"Defaults for this dataset: {why}.")


def widget(name: str, default, loss: str | None = None):
    spec, key = form_field(name), f"cfg_{name}"
    if key not in st.session_state:
        st.session_state[key] = default
    if spec.kind == "choice":
        return st.selectbox(spec.label, spec.choices, key=key, help=spec.help)
    if spec.kind == "bool":
        return st.checkbox(spec.label, key=key, help=spec.help)
    if spec.kind == "int":
        return st.number_input(spec.label, min_value=int(spec.minimum), step=1, key=key, help=spec.help)
    if spec.kind == "text":
        return st.text_input(spec.label, key=key, help=spec.help, placeholder="nobody") or None
    margin = default_margin(loss) if name == "margin" else None
    empty = "no limit" if name == "max_seconds" else f"{loss}'s default: {margin}" if margin is not None else \
        f"{loss} has no margin"
    return st.number_input(spec.label, min_value=spec.minimum, key=key, help=spec.help, format="%g",
                           placeholder=empty if spec.kind == "optional" else None)


chosen = {"data": data}
for column, (group, names) in zip(st.columns(len(LAYOUT)), LAYOUT):
    with column:
        st.markdown(f"**{group}**")
        for name in names:
            chosen[name] = widget(name, values[name], chosen.get("loss"))
try:
    config = TrainConfig.from_dict({**values, **chosen})
except SiameseError as exc:
    st.error(str(exc))
    st.stop()
st.query_params.from_dict({"data": data, **to_query(config, base)})
st.session_state.train_values = {name: getattr(config, name) for name in to_query(config, base)}
st.session_state.data_source = config.data
st.caption("The configuration is in the address bar: copy the link to share it.")

live_runs = running_runs(workspace.RUNS_DIR)
start_col, stop_col = st.columns([1, 3])
if start_col.button("Start training", type="primary", disabled=bool(live_runs),
                    help="A run is in progress; stop it or wait for it to end" if live_runs else None):
    try:
        run_dir = launch(config, workspace.RUNS_DIR, workspace.DATA_DIR)
    except SiameseError as exc:
        st.error(f"Training did not start: {describe(exc)}")
        st.stop()
    st.session_state.run = run_dir.name
    st.session_state.watching = run_dir.name
    st.rerun()

watched = live_runs[0] if live_runs else (workspace.RUNS_DIR / st.session_state.run if st.session_state.get("run")
                                          else None)
if watched is None:
    st.stop()
if live_runs and stop_col.button(f"Stop {watched.name}", help="Ends after the current step, with a checkpoint"):
    try:
        stop_training(watched)
        st.toast(f"Asked {watched.name} to stop")
    except (SiameseError, OSError) as exc:
        stop_col.error(f"Could not ask {watched.name} to stop: {describe(exc)}")


@st.fragment(run_every=1.0 if live_runs else None)
def live_view(run_dir):
    progress = read_progress(run_dir)
    st.subheader(f"Run {run_dir.name}: {progress.status}")
    if progress.status in ("failed", "diverged", "interrupted") and progress.message:
        st.error(progress.message)
    if progress.status == "starting":
        st.caption(progress.message)
    rate = f"{progress.images_per_second:,.0f} images/s" if progress.images_per_second else ""
    st.progress(progress.fraction, text=f"epoch {progress.epoch} · {progress.fraction:.0%} · "
                f"{clock(progress.elapsed)} elapsed · {clock(progress.remaining)} left · {rate}")
    loss_col, val_col = st.columns(2)
    fig = line_figure("Training loss", "step", "loss")
    fig.add_scatter(x=progress.steps, y=progress.losses, mode="lines", name="loss per step")
    loss_col.plotly_chart(fig, width="stretch", key="loss_chart")
    pairs = progress.epochs[-1].get("genuine_pairs") if progress.epochs else None
    title = "Validation (held-out identities" + (f", {pairs:,} genuine pairs)" if pairs else ")")
    fig = line_figure(title, "epoch", "")
    epochs = [r["epoch"] for r in progress.epochs]
    for key, name in (("val_auc", "AUC"), ("val_eer", "EER"), ("oneshot_accuracy", "one-shot accuracy")):
        fig.add_scatter(x=epochs, y=[r.get(key) for r in progress.epochs], mode="lines+markers", name=name)
    val_col.plotly_chart(fig, width="stretch", key="val_chart")
    if st.session_state.get("watching") == run_dir.name and not progress.live:
        st.session_state.watching = None
        st.rerun()  # the run ended: redraw the page so Start comes back


live_view(watched)
