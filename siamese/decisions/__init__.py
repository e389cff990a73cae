"""Decisions, one concept in one place: the thresholds a run saves (`saved`, the only reader and writer of
its `threshold.json`), the enrolled people compared with each other (`calibration`), and the rules a
decision is made by (`rules`): the threshold, where it comes from, its target, the rates to expect with
their bound, and how sure a decision at a distance is. It depends on the evaluation's rate functions and
nothing of training, runs or pages."""

from .calibration import GalleryCalibration, calibrate
from .rules import DEFAULT_TARGET, SOURCES, TASKS, Rule, confidence_text, decision_rule
from .saved import (
    read_identification_threshold,
    run_threshold,
    save_identification_threshold,
    save_threshold,
    save_validation_threshold,
    threshold_source,
)

__all__ = ["DEFAULT_TARGET", "SOURCES", "TASKS", "GalleryCalibration", "Rule", "calibrate", "confidence_text",
           "decision_rule", "read_identification_threshold", "run_threshold", "save_identification_threshold",
           "save_threshold", "save_validation_threshold", "threshold_source"]
