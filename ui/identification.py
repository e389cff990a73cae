"""The Threshold page's open-set identification study: part of the studied people enrolled, the rest
strangers, several draws; DIR against FPIR, the CMC, the thresholds for a target FPIR at the chosen
gallery size, and Save as the run's 1:N threshold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from siamese.errors import SiameseError
from siamese.decisions import read_identification_threshold, save_identification_threshold
from ui import cached
from ui.draw import line_figure


def identification_study(run: Path, kind: str, target: str, identities: int) -> None:
    """Draw the study of the run on what the page studies (`kind`, `target`: see `cached.scores`), whose
    labelled set holds `identities` people."""
    st.subheader("1:N identification: who is this, or a stranger?")
    st.caption("Part of these people are enrolled (the gallery), the others are strangers who should be answered "
               "\"unknown\"; each of their images is searched against the gallery, several draws of who is "
               "enrolled. FPIR: the share of strangers' searches that name someone; FNIR: the share of enrolled "
               "people's searches not answered with them first, within the threshold (NIST's terms). FPIR grows "
               "with the gallery's size: a 1:N threshold holds for the size it was chosen at.")
    size_col, per_col, draws_col = st.columns(3)
    gallery_size = size_col.number_input("Gallery size (people enrolled)", 1, max(1, identities - 1),
                                         min(max(1, identities // 2), 100), key=f"open_set_size_{run.name}")
    per_person = per_col.number_input("Images enrolled of each", 1, 10, 1, key="open_set_per_person")
    draws = draws_col.number_input("Draws of who is enrolled", 1, 20, 5, key="open_set_draws")
    try:
        study = cached.open_set(run, kind, target, int(gallery_size), int(per_person), int(draws))
    except SiameseError as exc:
        st.error(str(exc))
        return
    searches = study.searches
    st.caption(f"{searches.mated:,} searches of enrolled people and {searches.non_mated:,} of strangers, "
               f"{study.draws} draws of {study.gallery_size} people enrolled out of {study.identities}.")
    curve_col, cmc_col = st.columns(2)
    curve = searches.curve()
    fig = line_figure("DIR against FPIR (rank 1)", "false-positive identification rate (strangers named)",
                      "detection and identification rate", height=360)
    fig.update_xaxes(type="log")
    fig.add_scatter(x=[max(v, 0.5 / max(searches.non_mated, 1)) for v in curve["fpir"]], y=curve["dir"],
                    mode="lines", name="DIR")
    curve_col.plotly_chart(fig, width="stretch", key="dir_fpir_chart")
    cmc = searches.cmc(10)
    fig = line_figure("CMC: the mate among the k nearest people", "rank k", "identification rate", height=360)
    fig.add_scatter(x=list(range(1, len(cmc) + 1)), y=cmc, mode="lines+markers", name="CMC")
    cmc_col.plotly_chart(fig, width="stretch", key="cmc_chart")
    rows = searches.at_targets((1e-1, 1e-2, 1e-3))
    st.dataframe(pd.DataFrame([{"target FPIR": r["fpir"], "threshold": r["threshold"], "FPIR reached": r["fpir_reached"],
                                "FNIR": r["fnir"], "DIR": r["dir"],
                                "measurable": "yes" if r["resolved"] else f"no: needs {int(1 / r['fpir']):,} strangers' searches"}
                               for r in rows]), hide_index=True,
                 column_config={"target FPIR": st.column_config.NumberColumn(format="%.0e"),
                                "threshold": st.column_config.NumberColumn(format="%.4f"),
                                "FPIR reached": st.column_config.NumberColumn(format="%.4f"),
                                "FNIR": st.column_config.NumberColumn(format="%.4f"),
                                "DIR": st.column_config.NumberColumn(format="%.4f")})
    choice_col, save_col = st.columns([1, 2])
    fpir = choice_col.selectbox("Target FPIR to save", [r["fpir"] for r in rows], index=1, format_func=lambda v: f"{v:g}")
    chosen = next(r for r in rows if r["fpir"] == fpir)
    try:
        saved = read_identification_threshold(run)
    except SiameseError as exc:
        saved = None
        save_col.warning(str(exc))
    save_col.markdown("**Saved 1:N threshold:** " + (f"{saved.threshold:.4f} (FPIR {saved.fpir:g} at "
                                                     f"{saved.gallery_size} people)" if saved else "none yet"))
    if save_col.button(f"Save {chosen['threshold']:.4f} as the run's 1:N threshold (FPIR {fpir:g} at "
                       f"{study.gallery_size} people)"):
        try:
            save_identification_threshold(run, chosen["threshold"], fpir, study.gallery_size, study.protocol,
                                          searches.non_mated_best)
            save_col.success("Saved: the Verify page uses it for 1:N when its thresholds come from the run, "
                             "converted to keep this FPIR for a gallery of another size.")
        except SiameseError as exc:
            save_col.error(f"Not saved: {exc}")
