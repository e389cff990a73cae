"""Siamese explorer: `streamlit run app.py`. Builds the navigation, sets up session state in one place and
draws the sidebar (current dataset, run and device); each page lives in app_pages/ (not pages/: a folder
named pages makes Streamlit run a page opened by its URL without this script, as a v1 multipage app)."""

from __future__ import annotations

import gc
import threading

import streamlit as st

from app_pages.shared import DATA_DIR, RUNS_DIR
from siamese import launch, projection, runs
from siamese.models import pick_device
from siamese.samples import default_source

st.set_page_config(page_title="Siamese explorer", page_icon=":material/compare:", layout="wide")


def _freeze_heap() -> None:
    # A full garbage collection walks every live object, and torch, plotly and UMAP's compiled code leave
    # half a million: 0.2-0.7 s a pass on two busy cores, about one pass a second while a run is watched,
    # each stalling every session. Frozen objects are skipped; what is alive after start-up stays anyway.
    gc.collect()
    gc.freeze()


@st.cache_resource
def _warm_up() -> threading.Thread:
    """Once per server: freeze the start-up heap, then compile UMAP in the background (it takes many
    seconds on first use) and freeze what that left too."""
    _freeze_heap()
    thread = threading.Thread(target=lambda: (projection.warm_up(), _freeze_heap()), name="umap-warm-up",
                              daemon=True)
    thread.start()
    return thread


@st.cache_resource
def _device() -> str:
    return str(pick_device("auto"))


def init_state() -> None:
    """Every session key, set once per browser session."""
    if "data_source" not in st.session_state:
        source, note = default_source(DATA_DIR)
        st.session_state.data_source = source
        st.session_state.data_note = note
    if "run" not in st.session_state:
        live = launch.running_runs(RUNS_DIR)
        existing = live or runs.list_runs(RUNS_DIR)
        st.session_state.run = existing[0].name if existing else None
    st.session_state.setdefault("enrol_shots", [])


def sidebar() -> None:
    names = [p.name for p in runs.list_runs(RUNS_DIR)]
    current = st.session_state.run
    # A run without a config is being launched (or its launch failed): keep it current, to show how it
    # goes. One that left no trace at all was deleted meanwhile, from another tab or the command line.
    state = launch.run_state(RUNS_DIR / current) if current and current not in names else {}
    if state.get("status") == "new":
        st.session_state.run = current = None
    with st.sidebar:
        st.markdown(f"**Dataset:** `{st.session_state.data_source}`")
        if current and current not in names:
            st.markdown(f"**Run:** `{current}` ({state.get('status')})")
        elif names:
            index = names.index(st.session_state.run) if st.session_state.run in names else 0
            st.session_state.run = st.selectbox("Current run", names, index=index)
            state = launch.run_state(RUNS_DIR / st.session_state.run)
            st.caption(f"status: {state.get('status', 'unknown')}")
        else:
            st.markdown("**Run:** none yet")
        st.markdown(f"**Device:** `{_device()}`")
        if not projection.is_warm():
            st.caption("UMAP is warming up in the background…")


_warm_up()
init_state()
page = st.navigation([
    st.Page("app_pages/data.py", title="Data", icon=":material/folder_open:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page("app_pages/threshold.py", title="Threshold", icon=":material/tune:"),
    st.Page("app_pages/verify.py", title="Verify", icon=":material/face:"),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/table_chart:"),
])
sidebar()
page.run()
