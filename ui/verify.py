"""The Verify page's drawing: a photo input (webcam or upload), and each decision with its distance,
threshold and calibrated confidence (`siamese.gallery.confidence_text`), with the matches behind it."""

from __future__ import annotations

import streamlit as st

from siamese.gallery import Comparison, Identification, Verification, confidence_text
from ui import workspace

PHOTO_TYPES = ["jpg", "jpeg", "png", "bmp", "webp", "pgm"]


def photo_input(col, which: str, default: str) -> bytes | None:
    """One photo to compare, from the webcam or an upload: its bytes, or None while there is none."""
    source = col.segmented_control(f"{which} photo from", ["Webcam", "Upload"], default=default, required=True,
                                   key=f"compare_{which.lower()}_source")
    if source == "Webcam":
        photo = col.camera_input(f"{which} photo", key=f"compare_{which.lower()}_camera")
    else:
        photo = col.file_uploader(f"{which} photo", type=PHOTO_TYPES, key=f"compare_{which.lower()}_upload")
    return photo.getvalue() if photo is not None else None


def show_comparison(comparison: Comparison) -> None:
    """Both face crops side by side, then why a photo has none, or the decision."""
    for col, which, face in zip(st.columns(2), ("First", "Second"), comparison.faces):
        if face is not None:
            col.image(face.crop, caption=f"{which.lower()} crop given to the model", width=200)
    for problem in comparison.problems:
        st.error(problem)
    if comparison.distance is not None:
        verdict = st.success if comparison.same else st.warning
        verdict(f"**{'Same person' if comparison.same else 'Different people'}**: distance "
                f"{comparison.distance:.4f} {'≤' if comparison.same else '>'} threshold "
                f"{comparison.threshold:.4f} · {confidence_text(comparison.confidence)}")
    elif not comparison.problems:
        st.info("Take or upload both photos to compare them.")


def show_verification(result: Verification) -> None:
    verdict = st.success if result.accepted else st.error
    verdict(f"{'ACCEPTED' if result.accepted else 'REJECTED'}: distance {result.distance:.4f} to "
            f"{result.claimed} (threshold {result.threshold:.4f}) · {confidence_text(result.confidence)}")
    st.markdown(f"Closest enrolled images of {result.claimed}:")
    show_matches(result.nearest)


def show_identification(result: Identification) -> None:
    if result.identity:
        st.success(f"Identified as **{result.identity}** (distance {result.distance:.4f}, "
                   f"threshold {result.threshold:.4f}) · {confidence_text(result.confidence)}")
    else:
        st.warning(f"**Unknown**: nobody is within the threshold {result.threshold:.4f} (nearest: "
                   f"{result.candidates[0].identity} at {result.distance:.4f}) · {confidence_text(result.confidence)}")
    st.markdown("Top candidates (nearest image of each person):")
    show_matches(result.candidates)


def show_matches(matches) -> None:
    cols = st.columns(max(len(matches), 1))
    for col, match in zip(cols, matches):
        col.image(str(workspace.GALLERY_DIR / match.image), width=96,
                  caption=f"{match.identity} · d={match.distance:.3f}")
