"""A training as a live instrument: its progress and curves, refreshed every second while it trains."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from siamese.errors import SiameseError
from siamese.runs.progress import clock, read_progress
from siamese.runs.lineage import run_lineage
from ui.draw import line_figure


@st.fragment(run_every=1.0)
def live_view(run_dir: Path) -> None:
    """Progress, the loss per step and the validation curves of a live run; when it ends, the page is
    redrawn (so Start comes back)."""
    progress = _view(run_dir)
    if not progress.live:
        st.rerun()


def ended_view(run_dir: Path) -> None:
    """The same view, drawn once, for a run that is not training."""
    _view(run_dir)


def _view(run_dir: Path):
    progress = read_progress(run_dir)
    st.subheader(f"Run {run_dir.name}: {progress.status}")
    if progress.status in ("failed", "diverged", "interrupted") and progress.message:
        st.error(progress.message)
    elif progress.status in ("starting", "queued", "stopped", "pruned", "cancelled") and progress.message:
        st.caption(progress.message)
    rate = f"{progress.images_per_second:,.0f} images/s" if progress.images_per_second else ""
    st.progress(progress.fraction, text=f"epoch {progress.epoch} · {progress.fraction:.0%} · "
                f"{clock(progress.elapsed)} elapsed · {clock(progress.remaining)} left · {rate}")
    loss_col, val_col = st.columns(2)
    fig = line_figure("Training loss", "step", "loss", height=280)
    fig.add_scatter(x=progress.steps, y=progress.losses, mode="lines", name="loss per step")
    loss_col.plotly_chart(fig, width="stretch", key=f"loss_chart_{run_dir.name}")
    pairs = progress.epochs[-1].get("genuine_pairs") if progress.epochs else None
    title = "Validation (held-out identities" + (f", {pairs:,} genuine pairs)" if pairs else ")")
    fig = line_figure(title, "epoch", "", height=280)
    epochs = [r["epoch"] for r in progress.epochs]
    for key, name in (("val_auc", "AUC"), ("val_eer", "EER"), ("oneshot_accuracy", "one-shot accuracy")):
        fig.add_scatter(x=epochs, y=[r.get(key) for r in progress.epochs], mode="lines+markers", name=name)
    val_col.plotly_chart(fig, width="stretch", key=f"val_chart_{run_dir.name}")
    if spans := sorted({r.get("every", 1) for r in progress.epochs} - {1}):
        # Epochs seconds long are validated by time, not each one: the curve says so, rather than leave a gap.
        every = str(spans[0]) if len(spans) == 1 else f"{spans[0]} to {spans[-1]}"
        val_col.caption(f"Validated every {every} epochs, so that validation takes at most a twentieth of the "
                        "training time (eval_every 0: by time; the first, last and snapshot epochs always).")
    if epochs and epochs[0] == 0:
        val_col.caption(f"Epoch 0: {_parent_name(run_dir)}'s network on this run's validation people, before any "
                        "step: what the run started from.")
    return progress


def _parent_name(run_dir: Path) -> str:
    try:
        return (run_lineage(run_dir) or {}).get("parent", "the parent")
    except SiameseError:
        return "the parent"
