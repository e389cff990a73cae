"""Runs: every run in a table (figures first, sortable, with the run each started from), the selected runs'
loss, ROC and DET curves overlaid, the studies of searches and sweeps (their trials and figures), older
sweeps compared against their swept value, delete, export."""

import pandas as pd
import streamlit as st

from siamese.errors import SiameseError
from siamese.gallery.adapt import ADAPTED_NOTE
from siamese.projection import export_projector
from siamese.runs.folder import RunPaths
from siamese.runs.sweep import UNSUPPORTED, list_sweeps, sweep_table
from siamese.search.study import list_studies
from siamese.runs.lineage import adapted_to
from siamese.runs.table import delete_run, epoch_losses, run_problem, runs_table
from ui import cached, page, search, workspace
from ui.draw import det_figure, line_figure

page.setup("Runs")
table = runs_table(workspace.RUNS_DIR)
if not table:
    st.info("No runs yet: start one on the Train page or with `python -m siamese train`.")
    st.stop()

frame = pd.DataFrame(table)
frame["started"] = pd.to_datetime(frame.get("started"), unit="s", errors="coerce")
event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row",
                     key="runs_table",
                     column_config={"started_from": st.column_config.TextColumn("started from"),
                                    "val_auc": st.column_config.NumberColumn("val AUC", format="%.4f"),
                                    "val_eer": st.column_config.NumberColumn("val EER", format="%.4f"),
                                    "oneshot": st.column_config.NumberColumn("one-shot", format="%.3f"),
                                    "seconds": st.column_config.NumberColumn("duration (s)", format="%.0f")})
picked = [table[i]["run"] for i in event.selection.rows] or [table[0]["run"]]
st.caption("Click a column's header to sort; select rows to compare runs (the newest is shown when none is). "
           "Figures are on each run's validation identities; a run started from another begins its curves at "
           "epoch 0, with that run's network on its validation people.")
for name in picked:
    if people := adapted_to(workspace.RUNS_DIR / name):
        st.info(f"**{name}** ({', '.join(people)}): {ADAPTED_NOTE}.")
for name in picked:
    if problem := run_problem(workspace.RUNS_DIR / name):
        (st.error if problem[0] == "error" else st.warning)(problem[1])

loss_col, roc_col, det_col = st.columns(3)
loss_fig = line_figure("Training loss (mean per epoch)", "epoch", "loss", height=360)
roc_fig = line_figure("ROC", "false accept rate", "true accept rate", height=360)
det_fig = det_figure("DET (log axes)", height=360)
for name in picked:
    run = workspace.RUNS_DIR / name
    epochs, losses = epoch_losses(run)
    loss_fig.add_scatter(x=epochs, y=losses, name=name)
    if RunPaths(run).checkpoint.exists():
        try:
            curve = cached.roc(run)
            roc_fig.add_scatter(x=curve["far"], y=curve["tar"], mode="lines", name=f"{name} (AUC {curve['auc']:.4f})")
            det_fig.add_scatter(x=curve["det_far"], y=curve["det_frr"], mode="lines",
                                name=f"{name} (EER {curve['eer']:.4f})")
        except SiameseError as exc:
            st.warning(f"{name}: {exc}")
loss_col.plotly_chart(loss_fig, width="stretch")
roc_col.plotly_chart(roc_fig, width="stretch")
det_col.plotly_chart(det_fig, width="stretch")

if studies := list_studies(search.url()):
    st.subheader("Searches and sweeps")
    search.study_view(st.selectbox("Study", [s.study_name for s in studies], key="study_shown"))

if sweeps := list_sweeps(workspace.RUNS_DIR):
    st.subheader("Older sweeps")
    chosen = st.selectbox("Sweep", [s.name for s in sweeps], key="sweep_shown", help=UNSUPPORTED)
    st.caption(f"{chosen}: {UNSUPPORTED}.")
    sweep = next(s for s in sweeps if s.name == chosen)
    rows = pd.DataFrame(sweep_table(sweep))
    table_col, plot_col = st.columns([2, 3])
    table_col.dataframe(rows, hide_index=True, width="stretch")
    fig = line_figure(f"Final figures against {sweep.field}", sweep.field, "", height=320)
    for key, label in (("val_auc", "AUC"), ("val_eer", "EER"), ("oneshot", "one-shot accuracy")):
        fig.add_scatter(x=rows[sweep.field].tolist(), y=rows[key].tolist(), mode="lines+markers", name=label)
    plot_col.plotly_chart(fig, width="stretch", key="sweep_chart")

st.subheader("Manage")
names = [row["run"] for row in table]
target = st.selectbox("Run", names, index=names.index(picked[0]))
use_col, export_col, delete_col = st.columns(3)
if use_col.button("Make it the current run"):
    st.session_state.run = target
    st.rerun()
if export_col.button("Export for TensorBoard", help="The run's embeddings and their labels as the TensorBoard "
                     "projector reads them (vectors.tsv, metadata.tsv)"):
    try:
        out, images = export_projector(workspace.RUNS_DIR / target, workspace.DATA_DIR)
        export_col.success(f"Wrote {out}/vectors.tsv and metadata.tsv ({images} images).")
        export_col.download_button("Download vectors.tsv", (out / "vectors.tsv").read_bytes(), "vectors.tsv")
        export_col.download_button("Download metadata.tsv", (out / "metadata.tsv").read_bytes(), "metadata.tsv")
    except SiameseError as exc:
        export_col.error(str(exc))
confirm = delete_col.checkbox(f"Yes, delete {target} and its files")
if delete_col.button("Delete run", disabled=not confirm):
    try:
        delete_run(workspace.RUNS_DIR / target)
        if st.session_state.get("run") == target:
            st.session_state.run = None
        st.rerun()
    except SiameseError as exc:
        delete_col.error(str(exc))
