"""The Verify page's drawing: the decision thresholds (where they come from, their targets, what backs them),
a photo input (webcam or upload), and each decision with its distance, threshold and confidence, with the
matches behind it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from siamese.data.images import load_image
from siamese.decisions import Rule, confidence_text, decision_rule
from siamese.decisions.rules import wrong_rate
from siamese.gallery import Comparison, Identification, Verification
from siamese.gallery.store import Enrolled
from siamese.runs.trained import Probe, TrainedModel
from ui import workspace
from ui.explain import explanation

PHOTO_TYPES = ["jpg", "jpeg", "png", "bmp", "webp", "pgm"]
TARGETS = [0.1, 0.05, 0.02, 0.01, 0.005, 0.001]
SOURCES = {"the gallery: calibrated on the people enrolled": "gallery", "the run: the threshold saved with it": "run"}
TASK_NAMES = {"compare": "two photos", "verify": "1:1 verify", "identify": "1:N identify"}


def decision_controls(enrolled: Enrolled, run: Path) -> dict[str, Rule]:
    """The thresholds the page decides with, chosen here (where from, and the targets), drawn with what
    backs them: the rule of each task ('compare', 'verify', 'identify'). Changing a target re-embeds
    nothing: the gallery's comparisons are computed once per gallery."""
    with st.expander("Decision thresholds", expanded=True):
        source_col, far_col, fpir_col = st.columns([2, 1, 1])
        source = SOURCES[source_col.radio("Thresholds from", list(SOURCES), key="threshold_source")]
        far = far_col.select_slider("Target false-accept rate (two photos, 1:1)", TARGETS, value=0.01,
                                    key="target_far", disabled=source == "run")
        fpir = fpir_col.select_slider("Target false-positive identification rate (1:N)", TARGETS, value=0.01,
                                      key="target_fpir", disabled=source == "run",
                                      help="The share of strangers (people not enrolled) that 1:N would name as "
                                           "someone, at the gallery's current size")
        calibration = enrolled.calibration
        rules = {task: decision_rule(calibration, run, task, source, fpir if task == "identify" else far)
                 for task in TASK_NAMES}
        # A table that wraps its cells: where each threshold comes from is a sentence, never cut short.
        rows = [_row(rule) for rule in rules.values()]
        st.markdown("\n".join(["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])] +
                              ["| " + " | ".join(v.replace("|", "\\|") for v in row.values()) + " |" for row in rows]))
        notes = list(dict.fromkeys(note for rule in rules.values() for note in rule.notes))
        if notes:
            st.warning("\n".join(f"- {note}" for note in notes))
    return rules


def _row(rule: Rule) -> dict:
    expected = ", ".join(f"{name} {value:.1%}" if value is not None else f"{name} not measurable yet"
                         for name, value in rule.expected.items())
    return {"decision": TASK_NAMES[rule.task], "threshold": f"{rule.threshold:.4f}", "from": rule.basis,
            "expected on the gallery": expected or "—",
            "on new photos, with 95% confidence": f"{wrong_rate(rule.task)} at most {rule.bound:.1%} "
                                                  f"({rule.comparisons:,} comparisons)" if rule.bound is not None else "—",
            "confidence": f"fitted on {rule.confidence.pairs:,}" if rule.confidence else "none"}


def photo_input(col, which: str, default: str) -> bytes | None:
    """One photo to compare, from the webcam or an upload: its bytes, or None while there is none."""
    source = col.segmented_control(f"{which} photo from", ["Webcam", "Upload"], default=default, required=True,
                                   key=f"compare_{which.lower()}_source")
    if source == "Webcam":
        photo = col.camera_input(f"{which} photo", key=f"compare_{which.lower()}_camera")
    else:
        photo = col.file_uploader(f"{which} photo", type=PHOTO_TYPES, key=f"compare_{which.lower()}_upload")
    return photo.getvalue() if photo is not None else None


def show_comparison(comparison: Comparison, trained: TrainedModel) -> None:
    """Both face crops side by side, then why a photo has none, or the decision and why it went so."""
    for col, which, face in zip(st.columns(2), ("First", "Second"), comparison.faces):
        if face is not None:
            col.image(face.crop, caption=f"{which.lower()} crop given to the model", width=200)
    for problem in comparison.problems:
        st.error(problem)
    if comparison.distance is not None:
        verdict = st.success if comparison.same else st.warning
        verdict(f"**{'Same person' if comparison.same else 'Different people'}**: distance "
                f"{comparison.distance:.4f} {'≤' if comparison.same else '>'} threshold "
                f"{comparison.threshold:.4f} ({comparison.rule.source}) · {confidence_text(comparison.confidence)}")
        first, second = comparison.probes
        explanation(trained, first.input, second.input, comparison.rule, "compare",
                    embeddings=(first.embedding, second.embedding))
    elif not comparison.problems:
        st.info("Take or upload both photos to compare them.")


def show_verification(result: Verification, trained: TrainedModel, probe: Probe, enrolled: Enrolled) -> None:
    """The decision on a claim, the claimed person's nearest enrolled images, and why: the probe against
    the nearest of them, with the embeddings the decision used."""
    verdict = st.success if result.accepted else st.error
    verdict(f"{'ACCEPTED' if result.accepted else 'REJECTED'}: distance {result.distance:.4f} to "
            f"{result.claimed} (threshold {result.threshold:.4f}, {result.rule.source}) · "
            f"{confidence_text(result.confidence)}")
    st.markdown(f"Closest enrolled images of {result.claimed}:")
    show_matches(result.nearest)
    nearest = load_image(workspace.GALLERY_DIR / result.nearest[0].image, trained.config.input_size,
                         trained.config.colour)[None]
    explanation(trained, probe.input, nearest, result.rule, "verify", f"this face and {result.claimed}'s nearest image",
                (probe.embedding, enrolled.embedding_of(result.nearest[0].image)))


def show_note(key: str) -> None:
    """What an enrolment just did, kept over its rerun under `key`: (message, problems), shown once."""
    if note := st.session_state.pop(key, None):
        st.success(note[0])
        for problem in note[1]:
            st.warning(problem)


def show_identification(result: Identification, trained: TrainedModel, probe: Probe, enrolled: Enrolled) -> None:
    """The answer of a search, its candidates, and why: the probe against the nearest person's nearest image,
    which the answer was decided on."""
    where = f"threshold {result.threshold:.4f}, {result.rule.source}"
    if result.identity:
        st.success(f"Identified as **{result.identity}** (distance {result.distance:.4f}, {where}) · "
                   f"{confidence_text(result.confidence)}")
    else:
        st.warning(f"**Unknown**: nobody is within the threshold ({where}; nearest: "
                   f"{result.candidates[0].identity} at {result.distance:.4f}) · "
                   f"{confidence_text(result.confidence)} as {result.candidates[0].identity}")
    st.markdown("Top candidates (nearest image of each person):")
    show_matches(result.candidates)
    best = result.candidates[0]
    image = load_image(workspace.GALLERY_DIR / best.image, trained.config.input_size, trained.config.colour)[None]
    explanation(trained, probe.input, image, result.rule, "identify", f"this face and {best.identity}'s nearest image",
                (probe.embedding, enrolled.embedding_of(best.image)))


def show_matches(matches) -> None:
    cols = st.columns(max(len(matches), 1))
    for col, match in zip(cols, matches):
        col.image(str(workspace.GALLERY_DIR / match.image), width=96,
                  caption=f"{match.identity} · d={match.distance:.3f}")
