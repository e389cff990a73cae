"""The one call every page starts with: page settings, the once-per-server warm-up, the session's state,
and the sidebar (navigation, the current dataset, run and device). A page opened by its URL in a fresh
browser session runs only its own file, so everything it needs is set up here."""

from __future__ import annotations

import gc
import os
import threading

import streamlit as st

from siamese import projection
from siamese.data.builtin import builtin_is_cached
from siamese.data.preview import default_source
from siamese.device import pick_device
from siamese.runs.folder import RunPaths, list_runs
from siamese.runs.status import read_status, running_runs
from ui import cached, workspace

# (file, label, icon): the landing page, then the pages in pipeline order.
PAGES = [("app.py", "Overview", ":material/home:"),
         ("pages/1_data.py", "Data", ":material/folder_open:"),
         ("pages/2_train.py", "Train", ":material/model_training:"),
         ("pages/3_embeddings.py", "Embeddings", ":material/scatter_plot:"),
         ("pages/4_threshold.py", "Threshold", ":material/tune:"),
         ("pages/5_verify.py", "Verify", ":material/face:"),
         ("pages/6_runs.py", "Runs", ":material/table_chart:")]


def page_file(label: str) -> str:
    """The file of the page with this label ('Train' -> 'pages/2_train.py'), for links and switch_page."""
    return next(path for path, name, _ in PAGES if name == label)


def setup(title: str) -> None:
    """Set the page up and draw its title; call it first on every page."""
    st.set_page_config(page_title=f"{title} · Siamese explorer", page_icon=":material/compare:", layout="wide")
    _warm_up()
    _init_state()
    _follow_the_faces()
    _sidebar()
    if st.query_params.get("data") != st.session_state.data_source:
        st.query_params["data"] = st.session_state.data_source  # a reload or a shared link keeps the dataset
    st.title(title)


def _freeze_heap() -> None:
    # A full garbage collection walks every live object, and torch, plotly and UMAP's compiled code leave
    # half a million: 0.2-0.7 s a pass on two busy cores, about one pass a second while a run is watched,
    # each stalling every session. Frozen objects are skipped; what is alive after start-up stays anyway.
    gc.collect()
    gc.freeze()


def _import_the_rest() -> None:
    # scikit-learn takes a second or two to import: imported in the background, the first page does not
    # wait for it and the pages that draw ROC curves find it ready.
    import sklearn.metrics  # noqa: F401


@st.cache_resource
def _warm_up() -> threading.Thread:
    """Once per server: freeze the start-up heap, then import scikit-learn and compile UMAP in the
    background (it takes many seconds on first use) and freeze what that left too."""
    _freeze_heap()
    thread = threading.Thread(target=lambda: (_import_the_rest(), projection.warm_up(), _freeze_heap()),
                              name="umap-warm-up", daemon=True)
    thread.start()
    return thread


@st.cache_resource
def _device() -> str:
    return str(pick_device("auto"))


def first_faces():
    """Once per server, on a first start with no faces on disk: Olivetti's faces (about 4 MB) fetched in the
    background, so the app opens on faces rather than digits; offline it fails quickly and the digits stay.
    SIAMESE_FETCH_FACES=0 turns it off (the tests do)."""
    if os.environ.get("SIAMESE_FETCH_FACES", "1") == "0" or default_source(workspace.DATA_DIR)[0] != "digits":
        return None
    return cached.download("olivetti")


def _init_state() -> None:
    """Every session key, set once per browser session; the dataset from the link when it names one."""
    if "data_source" not in st.session_state:
        source, note = default_source(workspace.DATA_DIR)
        st.session_state.data_source = st.query_params.get("data", source)
        st.session_state.data_note = note if st.session_state.data_source == source else None
        st.session_state.data_auto = "data" not in st.query_params
    if "run" not in st.session_state:
        existing = running_runs(workspace.RUNS_DIR) or list_runs(workspace.RUNS_DIR)
        st.session_state.run = existing[0].name if existing else None
    st.session_state.setdefault("enrol_shots", [])


def _follow_the_faces() -> None:
    """A session still on the digits it opened with moves to Olivetti's faces once they have arrived."""
    fetching = first_faces()
    if not st.session_state.get("data_auto") or st.session_state.data_source != "digits" or fetching is None:
        return
    if fetching.running:
        st.session_state.data_note = ("Fetching Olivetti's faces (about 4 MB) in the background; the app moves "
                                      "to them when they arrive. Meanwhile: scikit-learn's handwritten digits.")
    elif fetching.error is None and builtin_is_cached("olivetti", workspace.DATA_DIR):
        st.session_state.data_source, st.session_state.data_note = "olivetti", None
        st.toast("Olivetti's faces have arrived: the app now shows them.")


def _sidebar() -> None:
    names = [p.name for p in list_runs(workspace.RUNS_DIR)]
    if st.session_state.run not in names:  # deleted meanwhile, from another tab or the command line
        st.session_state.run = names[0] if names else None
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
        st.markdown(f"**Dataset:** `{st.session_state.data_source}`")
        if names:
            st.session_state.run = st.selectbox("Current run", names, index=names.index(st.session_state.run))
            st.caption(f"status: {read_status(workspace.RUNS_DIR / st.session_state.run).get('status', 'unknown')}")
        else:
            st.markdown("**Run:** none yet")
        st.markdown(f"**Device:** `{_device()}`")
        if not projection.is_warm():
            st.caption("UMAP is warming up in the background…")


def current_run():
    """The current run's folder, or None."""
    name = st.session_state.get("run")
    return workspace.RUNS_DIR / name if name and (workspace.RUNS_DIR / name / "config.json").is_file() else None


def require_model(what: str = "this page"):
    """The current run if it has a checkpoint; otherwise explain and stop the page."""
    run = current_run()
    if run is None:
        st.info(f"No trained run yet: train one on the Train page (or `python -m siamese train`) to use {what}.")
        st.stop()
    if not RunPaths(run).checkpoint.exists():
        st.info(f"Run {run.name} has no checkpoint yet; it appears here when training saves one.")
        st.stop()
    return run
