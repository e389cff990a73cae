"""Verify: two photos compared; a webcam snapshot or a photo, the face found and cropped, then 1:1 or 1:N;
enrol (from snapshots, a burst, photos, or the run's validation people), remove, and adapt the model to them."""

import streamlit as st

from siamese.errors import SiameseError
from siamese.faces.prepare import prepare_face
from siamese.gallery import check_snapshots, compare_photos, enrol_photos, enrol_validation_people
from ui import adapt, burst, cached, page, workspace
from ui.verify import PHOTO_TYPES, decision_controls, photo_input, show_comparison, show_identification
from ui.verify import show_note, show_verification

BURST = 5  # snapshots a burst takes, half a second apart

page.setup("Verify")
run = page.require_model("verification")
adapt.adapted_note(run)
try:
    trained = cached.model(run)
    people = cached.gallery(run)
    enrolled = people.now()  # one gallery for every decision of this page, whoever enrols meanwhile
    rules = decision_controls(enrolled, run)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()
for problem in people.problems:
    st.warning(problem)
for note in people.notes:
    st.info(note)
st.caption(f"Model: run {run.name} · {len(enrolled.identities())} people enrolled in {workspace.GALLERY_DIR}")
adapt.adapt_control(run)

options = st.columns(2)
detect = options[0].checkbox("Detect the face", value=True, help="Untick for images that are already "
                             "face crops, like those of ORL or Olivetti")
largest = options[1].checkbox("Use the largest face when there are several", value=False)
cut = trained.cut(detect)


def crop(source, failure: str = ""):
    """The face crop of a photo, or None after showing why there is none (after `failure`)."""
    try:
        return prepare_face(source, cut, largest)
    except SiameseError as exc:
        st.error(f"{failure}{exc}")
        return None


compare_tab, check_tab, enrol_tab, remove_tab = st.tabs(["Compare two photos", "Verify / identify",
                                                         "Enrol a person", "Remove a person"])
with compare_tab:
    st.caption("Are two photos of one person? Both faces go through the same network (the twins share their "
               "weights); the distance between the two embeddings is decided at the threshold above.")
    inputs = st.columns(2)
    photos = [photo_input(inputs[0], "First", "Webcam"), photo_input(inputs[1], "Second", "Upload")]
    show_comparison(compare_photos(trained, *photos, rules["compare"], detect, largest), trained)

with check_tab:
    camera_col, upload_col = st.columns(2)
    shot = camera_col.camera_input("Webcam snapshot", key="verify_camera")
    uploaded = upload_col.file_uploader("…or a photo", type=PHOTO_TYPES, key="verify_upload")
    photo = shot or uploaded
    mode = st.radio("Mode", ["1:N identify", "1:1 verify a claim"], horizontal=True, key="verify_mode")
    claimed = st.selectbox("Claimed identity", list(enrolled.identities()), disabled=mode.startswith("1:N"))
    probe = None
    if photo is not None:
        try:
            probe = trained.probe(photo.getvalue(), detect, largest)
        except SiameseError as exc:
            st.error(str(exc))
    if probe is not None:
        left, right = st.columns([2, 1])
        left.image(probe.face.annotated, caption="detected face" if probe.face.face else "whole image used", width=360)
        right.image(probe.face.crop, caption="crop given to the model", width=160)
        if not enrolled.names:
            st.info("Nobody is enrolled yet: enrol someone in the next tab.")
        elif mode.startswith("1:1"):
            show_verification(enrolled.verify(probe.embedding, claimed, rules["verify"]), trained, probe, enrolled)
        else:
            show_identification(enrolled.identify(probe.embedding, rules["identify"]), trained, probe, enrolled)

with enrol_tab:
    if st.session_state.pop("enrol_done", False):  # before the field is drawn: the next person starts empty
        st.session_state.enrol_name = ""
    name = st.text_input("Name of the person to enrol", key="enrol_name")
    single, several = st.columns(2)
    snap = single.camera_input("Snapshot", key="enrol_camera")
    if snap is not None and single.button("Add this snapshot"):
        with single:
            if crop(snap.getvalue(), "The snapshot was not added: ") is not None:
                st.session_state.enrol_shots.append(snap.getvalue())
    several.markdown(f"…or {BURST} snapshots in a row, half a second apart: turn your head a little")
    with several:
        frames = burst.burst_camera(BURST, 0.5)
        if frames is not None:
            taken = check_snapshots(frames, cut, largest)
            st.session_state.enrol_shots += taken.kept
            (st.success if not taken.skipped else st.warning if taken.kept else st.error)(taken.message)
    # A new key after each enrolment empties the uploader: the next person must not get the last one's photos.
    files = st.file_uploader("…or photos", accept_multiple_files=True, type=PHOTO_TYPES,
                             key=f"enrol_files_{st.session_state.get('enrolments', 0)}")
    sources = [(f"snapshot {i + 1}", shot) for i, shot in enumerate(st.session_state.enrol_shots)]
    sources += [(f.name, f.getvalue()) for f in files or []]
    st.caption(f"{len(sources)} image(s) ready; several, with small changes of pose and light, work best.")
    waiting = None if name.strip() else "Type the person's name first"
    if sources and st.button(f"Enrol {name.strip() or '…'} from {len(sources)} image(s)", type="primary",
                             disabled=bool(waiting), help=waiting):
        try:
            count = enrol_photos(people, name, sources, detect=detect, allow_largest=largest)
            st.session_state.enrol_shots = []
            st.session_state.enrolments = st.session_state.get("enrolments", 0) + 1
            st.session_state.enrol_note = (f"{name.strip()} now has {count} enrolled image(s).", [])
            st.session_state.enrol_done = True
            st.rerun()  # the thresholds above are calibrated on the new gallery
        except SiameseError as exc:
            st.error(str(exc))
    show_note("enrol_note")  # beside the button that enrolled
    if st.session_state.enrol_shots and st.button("Clear the snapshots"):
        st.session_state.enrol_shots = []
        st.rerun()
    st.divider()
    st.markdown("**The run's validation people**: people the model never saw in training, enrolled from the "
                "images the run uses, so that 1:N has someone to find at once.")
    each = st.number_input("Images of each", min_value=1, max_value=10, value=3, key="validation_each")
    if st.button(f"Add the run's validation people, {each} images each"):
        try:
            with st.spinner("Enrolling the validation people…"):
                done = enrol_validation_people(people, run, workspace.DATA_DIR, int(each))
            st.session_state.validation_note = (done.message, done.problems)
            st.rerun()  # the page above shows the new people too
        except SiameseError as exc:
            st.error(str(exc))
    show_note("validation_note")

with remove_tab:
    if on_disk := people.folders():
        counts = enrolled.identities()
        st.dataframe({"person": on_disk, "images": [counts.get(p, 0) for p in on_disk]}, hide_index=True)
        who = st.selectbox("Person", on_disk, key="remove_who")
        if st.button(f"Remove {who} (deletes their images and embeddings)"):
            try:
                people.remove(who)
                st.rerun()
            except SiameseError as exc:
                st.error(str(exc))
    else:
        st.info("Nobody is enrolled.")
