"""How sure a decision is: a logistic fit of 'same person' against distance on labelled comparisons of
one domain (the people enrolled from a camera, or the pairs of the dataset studied), so that a distance
becomes a probability, p(same | distance). A confidence is only as good as the comparisons it was fitted
on: applied to faces from another camera, a fit from elsewhere is confidently wrong.

The fit weighs genuine and impostor comparisons equally (a prior of one half): the probability answers "of
a claim like this one, how often is it the claimed person?" when claims are as often true as false. It is
Platt's: the targets are (n+ + 1) / (n+ + 2) and 1 / (n- + 2) rather than 1 and 0, so that a few
comparisons that happen to separate perfectly give confidences short of certainty, not 100 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """p(same | distance) = 1 / (1 + exp(-(intercept + slope * distance))), slope < 0: farther is less
    alike; kept within [floor, ceiling], the targets of the fit, beyond which its comparisons say nothing."""

    intercept: float
    slope: float
    pairs: int            # comparisons it was fitted on
    floor: float = 0.0
    ceiling: float = 1.0

    def confidence(self, distance: float, even_at: float | None = None) -> float:
        """The probability that a pair at `distance` is of one person; with `even_at`, at the prior odds
        that put one half at that distance (a decision threshold: a strict one says impostors are the more
        likely, and the probability follows it, so it is over one half exactly where the decision accepts)."""
        z = self.slope * (distance - even_at) if even_at is not None else self.intercept + self.slope * distance
        p = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
        return min(max(p, self.floor), self.ceiling)


def fit_calibration(distances: np.ndarray, same: np.ndarray) -> Calibration:
    """The logistic fit of `same` (1 genuine, 0 impostor) on `distances` (M,), classes weighed equally,
    with Platt's targets (see the module)."""
    distances, same = np.asarray(distances, dtype=np.float64), np.asarray(same)
    genuine = same == 1
    if genuine.all() or not genuine.any():
        raise ValueError("a calibration needs genuine and impostor pairs")
    n_genuine, n_impostor = int(genuine.sum()), int((~genuine).sum())
    target = np.where(genuine, (n_genuine + 1) / (n_genuine + 2), 1 / (n_impostor + 2))
    weight = np.where(genuine, 0.5 / n_genuine, 0.5 / n_impostor)
    # Newton's method on the standardised distance, where it converges in a few steps from zero.
    centre, scale = distances.mean(), distances.std() or 1.0
    x = np.c_[np.ones_like(distances), (distances - centre) / scale]
    beta = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        gradient = x.T @ (weight * (p - target))
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    slope = beta[1] / scale
    return Calibration(float(beta[0] - slope * centre), float(slope), len(same), 1 / (n_impostor + 2),
                       (n_genuine + 1) / (n_genuine + 2))


def expected_calibration_error(confidences: np.ndarray, same: np.ndarray, bins: int = 10) -> float:
    """How far stated confidences are from how often they are right: the mean, over `bins` equal bins of
    confidence, of |mean confidence - fraction genuine|, each bin weighed by its share of the comparisons.
    Genuine and impostor comparisons are weighed equally, the prior the confidences are stated for."""
    confidences, same = np.asarray(confidences, dtype=np.float64), np.asarray(same)
    genuine = same == 1
    weight = np.where(genuine, 0.5 / max(genuine.sum(), 1), 0.5 / max((~genuine).sum(), 1))
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            w = weight[inside]
            error += abs(np.average(confidences[inside], weights=w) - np.average(genuine[inside], weights=w)) * w.sum()
    return float(error / weight.sum())
