"""siamese/evaluate/calibration.py: distances become probabilities that fall with distance and match how
often pairs at that distance are genuine."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.errors import RunError
from siamese.evaluate.calibration import Calibration, fit_calibration


def test_the_fit_matches_the_frequency_of_genuine_pairs_at_a_distance():
    rng = np.random.default_rng(0)
    d = np.r_[rng.normal(0.6, 0.15, 4000), rng.normal(1.0, 0.15, 4000)]
    same = np.r_[np.ones(4000, int), np.zeros(4000, int)]
    calibration = fit_calibration(d, same)
    assert calibration.slope < 0 and calibration.pairs == 8000
    assert calibration.confidence(0.8) == pytest.approx(0.5, abs=0.05)  # halfway between the two means
    near = (d > 0.55) & (d < 0.65)
    assert calibration.confidence(0.6) == pytest.approx(same[near].mean(), abs=0.03)
    values = [calibration.confidence(x) for x in np.linspace(0, 2, 50)]
    assert values == sorted(values, reverse=True) and 0 <= min(values) and max(values) <= 1


def test_far_distances_do_not_overflow():
    calibration = Calibration(40.0, -50.0, 10)
    assert calibration.confidence(1e6) == 0.0 and calibration.confidence(-1e6) == 1.0


def test_a_damaged_saved_calibration_says_so():
    assert Calibration.from_dict(Calibration(1.0, -2.0, 5).to_dict()) == Calibration(1.0, -2.0, 5)
    for damaged in ({}, {"intercept": "x", "slope": 1, "pairs": 2}, {"intercept": float("nan"), "slope": 1, "pairs": 1}):
        with pytest.raises(RunError, match="calibration is damaged"):
            Calibration.from_dict(damaged)


def test_one_kind_of_pair_cannot_be_calibrated():
    with pytest.raises(ValueError, match="genuine and impostor"):
        fit_calibration(np.array([0.1, 0.2]), np.array([1, 1]))
