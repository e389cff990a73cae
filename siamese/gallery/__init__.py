"""The gallery: the people enrolled without retraining (`store`), and photos made ready for it and compared
(`photos`). Its decisions are made by the rules of `siamese.decisions`, calibrated on its people."""

from .photos import (
    Comparison,
    Snapshots,
    ValidationEnrolment,
    check_snapshots,
    compare_photos,
    enrol_photos,
    enrol_validation_people,
)
from .store import Enrolled, Gallery, Identification, Match, Verification, check_identity_name

__all__ = ["Comparison", "Enrolled", "Gallery", "Identification", "Match", "Snapshots", "ValidationEnrolment",
           "Verification", "check_identity_name", "check_snapshots", "compare_photos", "enrol_photos",
           "enrol_validation_people"]
