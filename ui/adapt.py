"""Adapting the current model to the people enrolled, on the Verify page: the control that starts it (a
new run, trained in the background from the current one on their crops), its progress while it trains,
and, once it is done, the switch to it. An adapted model says so wherever its figures are shown."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from siamese.errors import GalleryError, SiameseError, describe
from siamese.gallery.adapt import ADAPTED_NOTE, create_adaptation, enrolled_people
from siamese.runs import launch
from siamese.runs.progress import clock, read_progress
from siamese.runs.status import running_runs
from siamese.runs.lineage import adaptations_of, adapted_to, run_lineage
from ui import workspace

SECONDS = 60  # the adaptation's default budget: a minute is enough to move a trained network


def adapted_note(run: Path) -> None:
    """Say plainly, when `run` was adapted to enrolled people, that its figures on them are no longer
    figures on unseen people."""
    if people := adapted_to(run):
        st.warning(f"**Adapted to {', '.join(people)}.** {ADAPTED_NOTE[0].upper()}{ADAPTED_NOTE[1:]}.")


def adapt_control(run: Path) -> None:
    """The adaptation of `run` to the gallery's people: why it cannot be done yet, or the control that
    starts it; the newest adaptation of `run` while it trains, or its outcome and the switch to it."""
    adaptations = adaptations_of(run, workspace.RUNS_DIR)
    latest = adaptations[0] if adaptations else None
    live = latest is not None and read_progress(latest).live
    with st.expander("Adapt the model to these people", expanded=live or _unused(latest)):
        st.caption("A short run from this model on the enrolled people's own photos, from your camera, beside a "
                   "sample of its dataset so that what it learned there is not forgotten. The new model has "
                   "trained on these people: its figures on them are no longer figures on unseen people.")
        if latest is not None:
            (_watch if live else _outcome)(latest)
        _start(run, busy=bool(running_runs(workspace.RUNS_DIR)))
        back_to_parent(run)


def _unused(adaptation: Path | None) -> bool:
    """An adaptation that ended well and has not been made the page's model yet."""
    return adaptation is not None and read_progress(adaptation).status in ("finished", "stopped") \
        and st.session_state.get("adapted_used") != adaptation.name


def _start(run: Path, busy: bool) -> None:
    try:
        people = enrolled_people(workspace.GALLERY_DIR)
    except GalleryError as exc:
        st.info(f"Cannot adapt yet: {exc}.")
        return
    seconds_col, button_col = st.columns([1, 2], vertical_alignment="bottom")
    seconds = seconds_col.number_input("Seconds of training", min_value=5, max_value=3600, value=SECONDS, step=5,
                                       key="adapt_seconds")
    why = "A run is training; wait for it to end, or stop it on the Train page" if busy else None
    if button_col.button(f"Adapt {run.name} to these {len(people)} people", disabled=busy, help=why,
                         key="adapt_start"):
        try:
            adaptation = create_adaptation(run, workspace.GALLERY_DIR, workspace.RUNS_DIR, float(seconds))
            launch.start_training(adaptation, workspace.DATA_DIR)
        except SiameseError as exc:
            st.error(f"The adaptation did not start: {describe(exc)}")
            return
        st.rerun()


@st.fragment(run_every=1.0)
def _watch(adaptation: Path) -> None:
    """Its progress, every second; the page is drawn again when it ends (so the switch appears)."""
    progress = read_progress(adaptation)
    if not progress.live:
        st.rerun()
    st.progress(progress.fraction, text=f"Adapting: {adaptation.name} {progress.status} · epoch {progress.epoch} · "
                f"{clock(progress.elapsed)} elapsed · {clock(progress.remaining)} left")
    st.caption(_figures(progress.epochs) or progress.message)


def _outcome(adaptation: Path) -> None:
    progress = read_progress(adaptation)
    if progress.status == "new":  # its folder was made, its training never started
        st.warning(f"The adaptation {adaptation.name} was prepared but never started: adapt again.")
        return
    if progress.status not in ("finished", "stopped"):
        st.error(f"The adaptation {adaptation.name} {progress.status}: {progress.message or 'no message'}")
        return
    st.success(f"Adaptation {adaptation.name} {progress.status} after {progress.epoch} epochs in "
               f"{clock(progress.elapsed)}. {_figures(progress.epochs)}")
    if st.button(f"Use the adapted model ({adaptation.name})", type="primary", key="adapt_use",
                 help="The gallery is embedded by it and its thresholds calibrated on it again"):
        use(adaptation)


def _figures(epochs: list[dict]) -> str:
    """Validation AUC before the adaptation (its epoch 0: the parent's network) and now, on the base
    dataset's people, none of them enrolled."""
    scored = [r for r in epochs if r.get("val_auc") is not None]
    if not scored:
        return ""
    before = f"{scored[0]['val_auc']:.3f} before, " if scored[0].get("epoch") == 0 else ""
    return f"Validation AUC on the dataset's own people (none of them enrolled): {before}{scored[-1]['val_auc']:.3f} now."


def use(run: Path) -> None:
    """Make `run` the page's model, as the sidebar's Current run does."""
    st.session_state.run = run.name
    st.session_state.adapted_used = run.name
    st.rerun()


def back_to_parent(run: Path) -> None:
    """For an adapted model: the button back to the model it was adapted from."""
    lineage = run_lineage(run) if adapted_to(run) else None
    here = lineage and lineage["exists"] and lineage["parent_dir"].parent.resolve() == workspace.RUNS_DIR.resolve()
    if not here:  # a parent elsewhere cannot be the page's model: the sidebar lists the runs folder's runs
        return
    if st.button(f"Back to {lineage['parent']}, the model it was adapted from", key="adapt_back"):
        use(lineage["parent_dir"])
