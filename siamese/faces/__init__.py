"""Faces cut from photos, one way from the training set to the webcam: found and given five landmarks
(`detect`), aligned onto a fixed template (`align`), prepared from one photo for enrolment and
verification (`prepare`), and prepared once for a whole dataset, cached on disk (`cache`).

A run records how its faces are cut (`TrainConfig.faces`): `align` for photographs, every face detected
and aligned as above, or `whole` for datasets that are face crops already (ORL, Olivetti), taken as they
are. Evaluation, the threshold, enrolment and verification apply the run's choice, so a distance means
the same on a webcam snapshot as on a validation pair.
"""

FACE_CUTS = ("auto", "align", "whole")
