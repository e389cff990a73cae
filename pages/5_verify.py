"""Verify: a webcam snapshot or a photo, the face found and cropped, then 1:1 or 1:N; enrol and remove."""

import streamlit as st

from siamese.errors import SiameseError
from siamese.faces.prepare import face_tensor, photo_cut, prepare_face
from siamese.gallery import enrol_photos
from siamese.runs.folder import decision_threshold
from ui import cached, page, workspace

PHOTO_TYPES = ["jpg", "jpeg", "png", "bmp", "webp", "pgm"]

page.setup("Verify")
run = page.require_model("verification")
try:
    trained = cached.model(run)
    people = cached.gallery(run)
    threshold = decision_threshold(run)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()
enrolled = people.identities()
for problem in people.problems:
    st.warning(problem)
st.caption(f"Model: run {run.name} · threshold {threshold:.4f} (set it on the Threshold page) · "
           f"{len(enrolled)} people enrolled in {workspace.GALLERY_DIR}")

options = st.columns(2)
detect = options[0].checkbox("Detect the face", value=True, help="Untick for images that are already "
                             "face crops, like those of ORL or Olivetti")
largest = options[1].checkbox("Use the largest face when there are several", value=False)


def crop(source, failure: str = ""):
    """The face crop of a photo, or None after showing why there is none (after `failure`)."""
    try:
        return prepare_face(source, photo_cut(trained.faces, detect), largest)
    except SiameseError as exc:
        st.error(f"{failure}{exc}")
        return None


def show_matches(matches):
    cols = st.columns(max(len(matches), 1))
    for col, match in zip(cols, matches):
        col.image(str(workspace.GALLERY_DIR / match.image), width=96,
                  caption=f"{match.identity} · d={match.distance:.3f}")


check_tab, enrol_tab, remove_tab = st.tabs(["Verify / identify", "Enrol a person", "Remove a person"])
with check_tab:
    camera_col, upload_col = st.columns(2)
    shot = camera_col.camera_input("Webcam snapshot", key="verify_camera")
    uploaded = upload_col.file_uploader("…or a photo", type=PHOTO_TYPES, key="verify_upload")
    photo = shot or uploaded
    mode = st.radio("Mode", ["1:N identify", "1:1 verify a claim"], horizontal=True)
    claimed = st.selectbox("Claimed identity", list(enrolled), disabled=mode.startswith("1:N"))
    face = crop(photo.getvalue()) if photo is not None else None
    if face is not None:
        left, right = st.columns([2, 1])
        left.image(face.annotated, caption="detected face" if face.face else "whole image used", width=360)
        right.image(face.crop, caption="crop given to the model", width=160)
        probe = face_tensor(face.crop, trained.config.input_size, trained.config.colour)
        if not enrolled:
            st.info("Nobody is enrolled yet: enrol someone in the next tab.")
        elif mode.startswith("1:1"):
            result = people.verify(probe, claimed, threshold)
            verdict = st.success if result.accepted else st.error
            verdict(f"{'ACCEPTED' if result.accepted else 'REJECTED'}: distance {result.distance:.4f} to "
                    f"{claimed} (threshold {result.threshold:.4f})")
            st.markdown(f"Closest enrolled images of {claimed}:")
            show_matches(result.nearest)
        else:
            result = people.identify(probe, threshold)
            if result.identity:
                st.success(f"Identified as **{result.identity}** (distance {result.distance:.4f}, "
                           f"threshold {result.threshold:.4f})")
            else:
                st.warning(f"**Unknown**: nobody is within the threshold {result.threshold:.4f} "
                           f"(nearest {result.distance:.4f})")
            st.markdown("Top candidates (nearest image of each person):")
            show_matches(result.candidates)

with enrol_tab:
    name = st.text_input("Name of the person to enrol", key="enrol_name")
    snap = st.camera_input("Snapshot", key="enrol_camera")
    if snap is not None and st.button("Add this snapshot"):
        if crop(snap.getvalue(), "The snapshot was not added: ") is not None:
            st.session_state.enrol_shots.append(snap.getvalue())
    files = st.file_uploader("…or photos", accept_multiple_files=True, key="enrol_files", type=PHOTO_TYPES)
    sources = [(f"snapshot {i + 1}", shot) for i, shot in enumerate(st.session_state.enrol_shots)]
    sources += [(f.name, f.getvalue()) for f in files or []]
    st.caption(f"{len(sources)} image(s) ready; several, with small changes of pose and light, work best.")
    waiting = None if name.strip() else "Type the person's name first"
    if sources and st.button(f"Enrol {name.strip() or '…'} from {len(sources)} image(s)", type="primary",
                             disabled=bool(waiting), help=waiting):
        try:
            count = enrol_photos(people, name, sources, detect=detect, allow_largest=largest)
            st.session_state.enrol_shots = []
            st.success(f"{name.strip()} now has {count} enrolled image(s).")
        except SiameseError as exc:
            st.error(str(exc))
    if st.session_state.enrol_shots and st.button("Clear the snapshots"):
        st.session_state.enrol_shots = []
        st.rerun()

with remove_tab:
    if on_disk := people.folders():
        st.dataframe({"person": on_disk, "images": [enrolled.get(p, 0) for p in on_disk]}, hide_index=True)
        who = st.selectbox("Person", on_disk, key="remove_who")
        if st.button(f"Remove {who} (deletes their images and embeddings)"):
            try:
                people.remove(who)
                st.rerun()
            except SiameseError as exc:
                st.error(str(exc))
    else:
        st.info("Nobody is enrolled.")
