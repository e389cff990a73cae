"""Data: pick a dataset and look at it before training."""

import pandas as pd
import streamlit as st

from siamese.config import TrainConfig
from siamese.data.builtin import DOWNLOAD_BYTES, builtin_is_cached
from siamese.data.mix import describe_mix
from siamese.data.preview import augmentation_examples, catalogue, face_plan, sample_grid, sample_pairs, who_trains
from siamese.data.sources import source_options
from siamese.data.zips import import_zip
from siamese.errors import SiameseError
from ui import cached, form, page, workspace
from ui.draw import show_faces, show_pairs

page.setup("Data")
if st.session_state.get("data_note"):
    st.info(st.session_state.data_note)

options = source_options(workspace.DATA_DIR)
current = st.session_state.data_source
choice_col, path_col = st.columns(2)
picked = choice_col.selectbox("Dataset", options + ([current] if current not in options else []),
                              index=(options + [current]).index(current))
typed = path_col.text_input("…or a folder of identity folders", placeholder="/path/to/faces")
upload = st.file_uploader("…or upload a .zip of identity folders", type=["zip"])

if upload is not None and st.button(f"Import {upload.name}"):
    try:
        root = import_zip(upload.getvalue(), workspace.DATA_DIR, upload.name)
        st.session_state.data_source = str(root)
        st.session_state.data_note = f"Imported {upload.name} into {root}."
        st.rerun()
    except SiameseError as exc:
        st.error(f"{upload.name} was not imported: {exc}")
source = typed.strip() or picked
if source != st.session_state.data_source:
    st.session_state.data_source = source
    st.session_state.data_note = None
    st.rerun()

def show_catalogue() -> None:
    with st.expander("Face datasets: on disk, and to download"):
        st.dataframe(pd.DataFrame(catalogue(workspace.DATA_DIR)), hide_index=True, width="stretch")


@st.fragment(run_every=1.0)
def downloading(job) -> None:
    st.progress(min(job.bytes_done() / max(job.total, 1), 0.99),
                text=f"Downloading {job.name}: {job.bytes_done() / 1e6:,.0f} MB of about {job.total / 1e6:,.0f} MB")
    if not job.running:
        st.rerun()


if source in DOWNLOAD_BYTES and not builtin_is_cached(source, workspace.DATA_DIR):
    job = cached.downloads().get(source)
    if job is not None and job.running:
        downloading(job)
    else:
        if job is not None and job.error:
            st.error(job.error)
        st.info(f"'{source}' is downloaded once (about {DOWNLOAD_BYTES[source] / 1e6:,.0f} MB) into "
                f"{workspace.DATA_DIR / 'sklearn'}, then used from there, offline too.")
        if st.button(f"Download {source}", type="primary"):
            cached.download(source, retry=True)
            st.rerun()
    show_catalogue()
    st.stop()

try:
    plan = face_plan(source, workspace.DATA_DIR)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()


@st.fragment(run_every=1.0)
def preparing(job) -> None:
    left = job.remaining_seconds
    pace = "" if left is None else f", about {left / 60:.0f} min left" if left >= 90 else f", about {left:.0f} s left"
    st.progress(job.done / max(job.total, 1), text=f"Finding and aligning the faces: {job.done:,} of "
                f"{job.total:,} photos{pace} (at the pace measured on this machine)")
    if not job.running:
        st.rerun()


st.caption(f"Faces: **{plan.cut}**: {plan.reason}.")
if plan.waiting:
    job = cached.preparations().get(str(plan.folder))
    if job is not None and job.running:
        preparing(job)
    elif job is not None and job.error:
        st.error(f"The faces could not be prepared: {job.error}")
    else:
        st.info("The faces of these photographs are found and aligned once, then kept in the face cache for "
                "every run; once started, the time it takes on this machine is shown. Until then the photos "
                "are shown as they are.")
        if st.button("Find and align the faces", type="primary"):
            cached.prepare(plan.folder)
            st.rerun()
try:
    data, counts = cached.dataset(source, 64, "grey", "whole" if plan.waiting else plan.cut)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("Identities", len(counts))
c2.metric("Images", sum(r["images"] for r in counts))
c3.metric("Images per identity", f"{min(r['images'] for r in counts)}–{max(r['images'] for r in counts)}")
settings = form.chosen_for(source, cached.defaults(source)[0])
who = who_trains(cached.sizes(source, "whole" if plan.waiting else plan.cut, counts), settings["singletons"],
                 settings["val_fraction"])
st.markdown("**Who trains, and how** (with the Train form's settings)\n" +
            "\n".join(f"- {line}" for line in who.lines()))
if settings.get("more_data"):
    try:
        st.markdown("**Trained beside it** (the Train form's more data)\n" + "\n".join(
            f"- {line}" for line in describe_mix(TrainConfig.from_dict(settings).sources, "auto", workspace.DATA_DIR)))
    except SiameseError as exc:
        st.warning(f"The Train form's more data cannot be used: {exc}")
if data.problems:
    with st.expander(f"{len(data.problems)} problem(s) found while reading", expanded=True):
        for problem in data.problems:
            st.warning(problem)

table_col, grid_col = st.columns([1, 3])
table_col.dataframe(pd.DataFrame(counts), hide_index=True, height=360, width="stretch")
with grid_col:
    st.subheader("Sample faces")
    seed = st.number_input("Sample seed", 0, 10_000, 0, key="data_seed")
    for name, images in sample_grid(data, identities=6, per_identity=8, seed=seed):
        st.caption(name)
        show_faces(images, columns=8, width=56)

st.subheader("Sample pairs")
pairs = sample_pairs(data, n=4, seed=seed)
show_pairs(data, pairs["genuine"], "Genuine pairs (same = 1)")
show_pairs(data, pairs["impostor"], "Impostor pairs (same = 0)")

st.subheader("Augmentation")
strength = st.slider("Strength (1 = Koch et al.)", 0.0, 3.0, 1.0, 0.1)
image = data.images[seed % len(data)]
show_faces([image] + augmentation_examples(image, strength, n=7, seed=seed),
           ["original"] + [f"augmented {k}" for k in range(1, 8)], columns=8, width=72)
show_catalogue()
