"""The gallery: the people enrolled without retraining (`store`), compared with each other to calibrate
decisions on the camera they come from (`calibration`), the rules decisions are made by (`decisions`),
and photos made ready for it and compared (`photos`)."""

from .decisions import Rule, confidence_text, decision_rule
from .photos import (
    Comparison,
    Snapshots,
    ValidationEnrolment,
    check_snapshots,
    compare_photos,
    enrol_photos,
    enrol_validation_people,
    faces_of,
)
from .store import Enrolled, Gallery, Identification, Match, Verification, check_identity_name

__all__ = ["Comparison", "Enrolled", "Gallery", "Identification", "Match", "Rule", "Snapshots", "ValidationEnrolment",
           "Verification", "check_identity_name", "check_snapshots", "compare_photos", "confidence_text",
           "decision_rule", "enrol_photos", "enrol_validation_people", "faces_of"]
