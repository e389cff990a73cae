"""Threshold: the ROC and DET curves with the operating point, rates at any threshold, TAR at fixed FARs, presets,
the hardest mistakes, on the validation identities, another dataset or a pairs file, and Save."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from siamese.decisions import Rule, run_threshold, save_threshold
from siamese.errors import SiameseError
from ui import adapt, cached, page
from ui.draw import det_figure, line_figure, show_pairs
from ui.explain import open_a_mistake
from ui.identification import identification_study

PAIRS = {"the run's validation identities": "validation", "every identity of another dataset": "dataset",
         "an LFW-format pairs file": "file"}

page.setup("Threshold")
run = page.require_model("the threshold tuner")
adapt.adapted_note(run)
kind_col, target_col = st.columns([1, 2])
kind = PAIRS[kind_col.selectbox("Study the threshold on", list(PAIRS))]
target = "" if kind == "validation" else target_col.text_input(
    "Dataset" if kind == "dataset" else "Pairs file", placeholder="a dataset name or folder" if kind == "dataset"
    else "/path/to/lfw/pairsDevTest.txt").strip()
if kind != "validation" and not target:
    st.stop()
try:
    scores, data = cached.scores(run, kind, target)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()
try:
    saved = run_threshold(run)
except SiameseError as exc:  # none yet, or a damaged file: choose one here and save it
    st.warning(str(exc))
    saved = None

low, high = scores.threshold_range()
key, chosen, shown = (f"{name}_{run.name}" for name in ("threshold", "chosen_threshold", "threshold_range"))
# The threshold chosen is kept apart from the slider's state, which Streamlit resets to its minimum when
# another study changes the slider's range: then it comes back (or the saved one), moved into the range.
if key not in st.session_state or st.session_state.get(shown) != (low, high):
    st.session_state[key] = scores.clip(st.session_state.get(chosen, saved or scores.presets["EER"]))
st.session_state[shown] = (low, high)
preset_cols = st.columns(len(scores.presets) + 1)
for col, (name, value) in zip(preset_cols, scores.presets.items()):
    if col.button(f"{name} ({value:.4g})", width="stretch"):
        st.session_state[key] = scores.clip(value)
if saved is not None and preset_cols[-1].button(f"saved ({saved:.4g})", width="stretch"):
    st.session_state[key] = scores.clip(saved)
threshold = st.slider("Threshold (distance): accept a pair when its distance is at most this",
                      low, high, key=key, step=(high - low) / 1000 or 1e-6, format="%.4f")
st.session_state[chosen] = threshold
st.caption(f"Pairs: {scores.protocol}: {scores.genuine_pairs:,} genuine, {scores.impostor_pairs:,} impostor.")

rates = scores.rates(threshold)
cols = st.columns(6)
cols[0].metric("False accept rate", f"{rates['far']:.4f}")
cols[1].metric("False reject rate", f"{rates['frr']:.4f}")
cols[2].metric("Accuracy", f"{rates['accuracy']:.4f}")
cols[3].metric("Precision", f"{rates['precision']:.4f}")
cols[4].metric("Recall", f"{rates['recall']:.4f}")
cols[5].metric("p(same)", f"{scores.calibration.confidence(threshold):.0%}",
               help="At the threshold: how often a pair at this distance is of one person, on these pairs (a logistic fit, genuine "
                    "and impostor pairs weighed equally); on another camera's faces it does not hold")

roc_col, det_col, hist_col = st.columns(3)
fig = line_figure(f"ROC (AUC {scores.curve.auc:.4f}, EER {scores.eer:.4f})", "false accept rate",
                  "true accept rate", height=380)
roc = scores.roc_points()  # thinned: the browser draws 400 points, not one per pair
fig.add_scatter(x=roc["far"], y=roc["tar"], mode="lines", name="ROC")
far, tar = scores.operating_point(threshold)
fig.add_scatter(x=[far], y=[tar], mode="markers", marker=dict(size=14, color="red"), name="operating point")
fig.add_scatter(x=[0, 1], y=[1, 0], mode="lines", line=dict(dash="dot", color="grey"), name="EER line")
roc_col.plotly_chart(fig, width="stretch")

det = scores.det_points()
fig = det_figure("DET: false rejects against false accepts")
fig.add_scatter(x=det["far"], y=det["frr"], mode="lines", name="DET")
point_far, point_frr = scores.det_point(threshold)
fig.add_scatter(x=[point_far], y=[point_frr], mode="markers", marker=dict(size=14, color="red"),
                name="operating point")
det_col.plotly_chart(fig, width="stretch", key="det_chart")

fig = line_figure("Distances of the pairs", "distance", "pairs", height=380)
bars = scores.histogram()
for label, kind, colour in (("genuine (same = 1)", "genuine", "#2a9d8f"), ("impostor (same = 0)", "impostor", "#e76f51")):
    fig.add_trace(go.Bar(x=bars["centres"], y=bars[kind], width=bars["width"], name=label, opacity=0.6,
                         marker_color=colour))
fig.update_layout(barmode="overlay")
fig.add_vline(x=threshold, line_color="black", line_dash="dash", annotation_text="threshold")
hist_col.plotly_chart(fig, width="stretch")

st.markdown("**True accepts at a fixed false-accept rate** (a rate below 1 / impostor pairs cannot be told "
            "from 0 on these pairs)")
st.dataframe(pd.DataFrame(scores.tar_table()), hide_index=True,
             column_config={"false accept rate": st.column_config.NumberColumn(format="%.0e"),
                            "threshold": st.column_config.NumberColumn(format="%.4f"),
                            "true accept rate": st.column_config.NumberColumn(format="%.4f"),
                            "reached": st.column_config.NumberColumn(format="%.5f")})

matrix_col, save_col = st.columns([2, 1])
matrix_col.markdown("**Confusion matrix** (rows: truth, columns: decision)")
matrix_col.table(pd.DataFrame([[rates["tp"], rates["fn"]], [rates["fp"], rates["tn"]]],
                              index=["genuine pair", "impostor pair"], columns=["accepted", "rejected"]))
with save_col:
    st.markdown(f"**Saved threshold:** {saved:.4f}" if saved is not None else "**Saved threshold:** none")
    if st.button("Save this threshold with the run", type="primary"):
        try:
            save_threshold(run, threshold, f"the Threshold page, on {scores.protocol}")
            st.success(f"Saved {threshold:.4f}; verification now uses it.")
        except SiameseError as exc:
            st.error(f"Not saved: {exc}")

hardest = scores.hardest(threshold, k=8)
st.subheader("Hardest mistakes at this threshold")
show_pairs(data, hardest["false_accepts"], "False accepts (impostors nearest first)")
show_pairs(data, hardest["false_rejects"], "False rejects (genuine pairs farthest first)")
open_a_mistake(cached.model(run), data, hardest, Rule("compare", threshold, "run", f"this page, on {scores.protocol}"))

identification_study(run, kind, target, len(data.identities))
