"""How sure a decision is: a logistic fit of 'same person' against distance on labelled pairs, so that a
distance becomes a probability, p(same | distance), shown with every verification and identification.

The fit weighs genuine and impostor pairs equally (a prior of one half): the probability answers "of a
claim like this one, how often is it the claimed person?" when claims are as often true as false.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import RunError


@dataclass(frozen=True)
class Calibration:
    """p(same | distance) = 1 / (1 + exp(-(intercept + slope * distance))); slope < 0: farther is less alike."""

    intercept: float
    slope: float
    pairs: int

    def confidence(self, distance: float) -> float:
        """The probability that a pair at `distance` is of one person."""
        z = self.intercept + self.slope * distance
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Calibration":
        try:
            calibration = cls(float(values["intercept"]), float(values["slope"]), int(values["pairs"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(f"the saved calibration is damaged ({exc})") from None
        if not (math.isfinite(calibration.intercept) and math.isfinite(calibration.slope)):
            raise RunError("the saved calibration is damaged (not finite)")
        return calibration


def fit_calibration(distances: np.ndarray, same: np.ndarray) -> Calibration:
    """The logistic fit of `same` (1 genuine, 0 impostor) on `distances` (M,), classes weighed equally."""
    from sklearn.linear_model import LogisticRegression

    same = np.asarray(same)
    if same.min() == same.max():
        raise ValueError("a calibration needs genuine and impostor pairs")
    model = LogisticRegression(class_weight="balanced", C=1e4).fit(np.asarray(distances).reshape(-1, 1), same)
    return Calibration(float(model.intercept_[0]), float(model.coef_[0, 0]), len(same))
