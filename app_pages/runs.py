"""Runs: every run in a table, loss and ROC curves of the selected runs overlaid, delete, export."""

import pandas as pd
import streamlit as st

from app_pages.shared import DATA_DIR, RUNS_DIR, _model_key, line_figure
from siamese import launch, runs, trained
from siamese.errors import SiameseError


@st.cache_data(max_entries=32, show_spinner="Computing the ROC curve…")
def roc_of(run: str, key: tuple) -> dict:
    return trained.run_roc(run, DATA_DIR)


st.title("Runs")
table = runs.runs_table(RUNS_DIR)
if not table:
    st.info("No runs yet: start one on the Train page or with `python -m siamese train`.")
    st.stop()

frame = pd.DataFrame(table)
frame["started"] = pd.to_datetime(frame.get("started"), unit="s", errors="coerce")
event = st.dataframe(frame, hide_index=True, use_container_width=True, on_select="rerun",
                     selection_mode="multi-row", key="runs_table",
                     column_config={"val_auc": st.column_config.NumberColumn("val AUC", format="%.4f"),
                                    "val_eer": st.column_config.NumberColumn("val EER", format="%.4f"),
                                    "oneshot": st.column_config.NumberColumn("one-shot", format="%.3f"),
                                    "seconds": st.column_config.NumberColumn("duration (s)", format="%.0f")})
picked = [table[i]["run"] for i in event.selection.rows] or [table[0]["run"]]
st.caption("Select rows to compare runs; the newest is shown when none is selected.")
for name in picked:
    state = launch.run_state(RUNS_DIR / name)
    if state.get("message") and state["status"] in ("failed", "diverged", "interrupted", "unknown"):
        (st.error if state["status"] in ("failed", "diverged") else st.warning)(
            f"{name} {state['status']}: {state['message']}")

loss_col, roc_col = st.columns(2)
loss_fig = line_figure("Training loss (mean per epoch)", "epoch", "loss", height=360)
roc_fig = line_figure("ROC on validation identities", "false accept rate", "true accept rate", height=360)
for name in picked:
    run = RUNS_DIR / name
    epochs = runs.read_metrics(runs.RunPaths(run).metrics, "epoch")
    loss_fig.add_scatter(x=[r["epoch"] for r in epochs], y=[r.get("train_loss") for r in epochs], name=name)
    if runs.RunPaths(run).checkpoint.exists():
        try:
            curve = roc_of(str(run), _model_key(run, None))
            roc_fig.add_scatter(x=curve["far"], y=curve["tar"], mode="lines",
                                name=f"{name} (AUC {curve['auc']:.3f})")
        except SiameseError as exc:
            st.warning(f"{name}: {exc}")
loss_col.plotly_chart(loss_fig, use_container_width=True)
roc_col.plotly_chart(roc_fig, use_container_width=True)

st.subheader("Manage")
target = st.selectbox("Run", [row["run"] for row in table],
                      index=[row["run"] for row in table].index(picked[0]))
use_col, export_col, delete_col = st.columns(3)
if use_col.button("Make it the current run"):
    st.session_state.run = target
    st.rerun()
if export_col.button("Export embeddings for the TensorBoard projector"):
    try:
        embeddings, data = trained.embed_run(RUNS_DIR / target, data_dir=DATA_DIR)
        out = RUNS_DIR / target / "projector"
        trained.write_projector_files(out, embeddings, data)
        export_col.success(f"Wrote {out}/vectors.tsv and metadata.tsv ({len(data)} images).")
        export_col.download_button("Download vectors.tsv", (out / "vectors.tsv").read_bytes(), "vectors.tsv")
        export_col.download_button("Download metadata.tsv", (out / "metadata.tsv").read_bytes(), "metadata.tsv")
    except SiameseError as exc:
        export_col.error(str(exc))
confirm = delete_col.checkbox(f"Yes, delete {target} and its files")
if delete_col.button("Delete run", disabled=not confirm):
    try:
        runs.delete_run(RUNS_DIR / target)
        if st.session_state.get("run") == target:
            st.session_state.run = None
        st.rerun()
    except SiameseError as exc:
        delete_col.error(str(exc))
