"""Siamese explorer: `streamlit run app.py`. The landing page; the other pages are in pages/."""

import streamlit as st

from siamese.config import TrainConfig, pipeline_steps
from siamese.errors import SiameseError
from siamese.runs.folder import run_config
from siamese.runs.table import next_step, run_summary, split_people
from ui import cached, page
from ui.draw import pipeline_graph
from ui.page import PAGES

page.setup("Siamese explorer")
st.markdown("Train a Siamese network for face verification and look inside it: pick a dataset, train with "
            "the loss you choose while the curves update, look at the embedding space, tune the decision "
            "threshold on the ROC curve, and verify faces from a webcam, 1:1 and 1:N. The same network "
            "embeds both photos of a pair; a pair is the same person when their embeddings are close.")
if st.session_state.get("data_note"):
    st.info(st.session_state.data_note)  # on the digits: why, and how to get faces

run = page.current_run()
try:
    config = run_config(run) if run else TrainConfig(data=st.session_state.data_source)
except SiameseError:
    config = TrainConfig(data=st.session_state.data_source)
st.subheader(f"The pipeline{f' of run {run.name}' if run else ', with the defaults'}")
st.graphviz_chart(pipeline_graph(pipeline_steps(config)), width="stretch")

data_col, run_col = st.columns(2)
with data_col:
    try:
        if run:  # the run's own data beside the run, not the dataset the Data page has chosen since
            st.subheader(f"Trained on `{config.data}`")
            trained_on, validated_on = split_people(run)
            a, b = st.columns(2)
            a.metric("Training identities", f"{trained_on:,}")
            b.metric("Validation identities", f"{validated_on:,}")
            st.caption(f"The Data page's dataset is `{st.session_state.data_source}`.")
        else:
            st.subheader(f"Dataset `{st.session_state.data_source}`")
            _, counts = cached.dataset(st.session_state.data_source, 64, "grey")
            a, b = st.columns(2)
            a.metric("Identities", len(counts))
            b.metric("Images", f"{sum(r['images'] for r in counts):,}")
    except SiameseError as exc:
        st.error(str(exc))
with run_col:
    st.subheader(f"Run `{run.name}`" if run else "No run yet")
    if run:
        try:
            row = run_summary(run)
            a, b, c = st.columns(3)
            a.metric("Status", row["status"])
            b.metric("Validation AUC", f"{row['val_auc']:.3f}" if row["val_auc"] is not None else "—")
            c.metric("EER", f"{row['val_eer']:.4f}" if row["val_eer"] is not None else "—")
            st.caption(f"{row['epochs']} epochs in {row['seconds']:.0f} s, on {row['data']}; figures on the run's "
                       "validation identities, never seen in training.")
        except SiameseError as exc:
            st.error(str(exc))

target, why = next_step(run)
st.info(why)
path, label, icon = next(entry for entry in PAGES if entry[1] == target)
st.page_link(path, label=f"Go to {label}", icon=icon)
