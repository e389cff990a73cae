"""Verification quality, on identities never seen in training: which pairs are scored (`pairs`), the
pure functions of the field (`metrics`: ROC, EER, thresholds, one-shot), the one object every figure is
read from (`scores.PairScores`), and a trained run evaluated (`run`), for the command line, the Threshold
page and the Runs page alike."""
