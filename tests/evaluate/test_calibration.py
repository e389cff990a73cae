"""siamese/evaluate/calibration.py: distances become probabilities that fall with distance and match how
often pairs at that distance are genuine."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_one_kind_of_pair_cannot_be_calibrated():
    with pytest.raises(ValueError, match="genuine and impostor"):
        fit_calibration(np.array([0.1, 0.2]), np.array([1, 1]))


def test_a_few_comparisons_that_separate_perfectly_give_no_certainty():
    d = np.array([0.2, 0.25, 0.3, 0.9, 1.0, 1.1, 1.2, 1.3])
    same = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    calibration = fit_calibration(d, same)
    # Platt's targets for 3 genuine and 5 impostor comparisons: 4/5 and 1/7, never 1 and 0
    assert calibration.confidence(0.0) == pytest.approx(4 / 5) and calibration.confidence(5.0) == pytest.approx(1 / 7)
    assert 0.7 < calibration.confidence(0.2) <= 0.8 and 1 / 7 <= calibration.confidence(1.3) < 0.2


def test_expected_calibration_error_is_small_for_a_fit_on_the_same_domain_and_large_elsewhere():
    from siamese.evaluate.calibration import expected_calibration_error

    rng = np.random.default_rng(1)
    same = np.r_[np.ones(3000, int), np.zeros(3000, int)]
    here = np.r_[rng.normal(0.6, 0.15, 3000), rng.normal(1.0, 0.15, 3000)]
    there = here * 0.6  # another camera: every distance smaller
    fitted = fit_calibration(here, same)
    held_out = np.r_[rng.normal(0.6, 0.15, 3000), rng.normal(1.0, 0.15, 3000)]
    assert expected_calibration_error([fitted.confidence(x) for x in held_out], same) < 0.03
    assert expected_calibration_error([fitted.confidence(x) for x in there], same) > 0.2
    assert expected_calibration_error(np.r_[np.ones(3), np.zeros(3)], np.r_[np.ones(3), np.zeros(3)]) == 0.0
