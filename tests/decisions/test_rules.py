"""Decision rules (siamese/decisions/rules.py): thresholds calibrated on the people enrolled at a target
rate, saying what backs them and what they cannot resolve; the run's threshold, saying when the gallery's
faces disagree with it; and no confidence where none can be fitted on the gallery."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import beta

from siamese.distances import euclidean_paired
from siamese.errors import GalleryError
from siamese.evaluate.metrics import rates_at_threshold, threshold_at_rate
from siamese.decisions import calibrate, decision_rule, save_identification_threshold, save_threshold
from siamese.decisions.rules import gallery_rule, run_rule


def gallery_of(people: int, images: int, spread: float = 0.3, seed: int = 0):
    """The calibration of `people` synthetic people, `images` each, around well-separated centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 8)) * 2
    vectors = np.repeat(centres, images, axis=0) + rng.normal(scale=spread, size=(people * images, 8))
    names = [f"p{k:02d}" for k in range(people) for _ in range(images)]
    return calibrate(torch.tensor(vectors, dtype=torch.float32), names, euclidean_paired)


@pytest.fixture
def run_dir(tmp_path):
    save_threshold(tmp_path, 99.0, "the validation pairs of another dataset")
    return tmp_path


def test_a_threshold_calibrated_on_the_gallery_keeps_to_its_target(run_dir):
    cal = gallery_of(12, 3)
    for task, comparisons in (("verify", cal.claims), ("compare", cal.pairs)):
        rule = decision_rule(cal, run_dir, task, "gallery", 0.05)
        assert rule.source == "gallery" and rule.target == 0.05 and rule.comparisons == len(comparisons.impostor)
        assert np.mean(comparisons.impostor <= rule.threshold) <= 0.05 == rule.target
        assert rule.expected["FAR"] <= 0.05 and rule.expected["FRR"] is not None
        assert f"{len(comparisons.impostor):,} impostor" in rule.basis and rule.confidence is not None
        assert rule.notes == ()


def test_a_1n_threshold_holds_at_the_gallerys_size(run_dir):
    cal = gallery_of(10, 3)
    rule = gallery_rule(cal, "identify", 0.1)
    # each stranger's search met 9 people; the rule is set so that FPIR is 0.1 at 10
    assert rule.threshold == threshold_at_rate(cal.searches.non_mated_best, 1 - 0.9 ** (9 / 10))
    assert rule.expected["FPIR"] <= 0.1 and rule.comparisons == 30 and "at 10 people" in rule.basis


def test_a_target_the_gallery_cannot_resolve_says_how_many_comparisons_it_needs(run_dir):
    cal = gallery_of(5, 2)  # 10 strangers' searches
    rule = gallery_rule(cal, "identify", 1e-3)
    assert rule.threshold < cal.searches.non_mated_best.min()  # the strictest the gallery can measure
    assert any("FPIR 0.001 needs at least 1,000 strangers' searches to be measured; the gallery gives 10, so the "
               "threshold is the strictest it can measure: below its nearest stranger's search" in n for n in rule.notes)
    assert any("Enrol more people" in n for n in rule.notes)


def test_a_gallery_too_small_to_calibrate_says_what_to_enrol_and_the_run_decides(run_dir):
    one = gallery_of(1, 3)
    with pytest.raises(GalleryError, match="1 person enrolled: .*enrol at least 2 people"):
        gallery_rule(one, "verify")
    rule = decision_rule(one, run_dir, "verify")
    assert rule.source == "run" and rule.threshold == 99.0 and "the run's threshold is used" in rule.notes[0]
    assert rule.confidence is None and "another dataset" in rule.basis


def test_one_image_per_person_gives_a_threshold_but_no_confidence(run_dir):
    rule = gallery_rule(gallery_of(6, 1), "verify")
    assert rule.confidence is None and rule.expected["FRR"] is None
    assert any("No confidence is given" in n for n in rule.notes)


def test_the_runs_threshold_says_when_the_gallerys_faces_disagree_with_it(run_dir):
    cal = gallery_of(8, 3)
    rule = run_rule(run_dir, "verify", cal)  # 99: every impostor claim of the gallery falls under it
    assert rule.source == "run" and rule.expected["FAR"] == 1.0
    assert "disagree with the run's threshold: at 99.0000, 100% of the gallery's 168 impostor claims" in rule.notes[0]
    assert rule.confidence is not None  # fitted on the gallery, whatever the threshold
    save_threshold(run_dir, float(np.median(cal.claims.genuine)), "the validation pairs")
    assert run_rule(run_dir, "verify", cal).notes == ()


def test_the_runs_1n_threshold_is_used_for_identification_when_one_was_saved(run_dir):
    assert run_rule(run_dir, "identify").threshold == 99.0
    save_identification_threshold(run_dir, 0.7, 0.01, 40, "validation identities of run x")
    rule = run_rule(run_dir, "identify")
    assert rule.threshold == 0.7 and "FPIR 0.01 at 40 people" in rule.basis
    assert run_rule(run_dir, "verify").threshold == 99.0


def test_one_person_enrolled_under_two_names_is_named_and_distinct_people_are_not(run_dir):
    """p03 enrolled again, from three more images of the same centre, as p03-again: each name's images are
    as near the other name's as their own, so every decision warns of them; ten people each of their own
    centre raise no such note."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(10, 8)) * 2
    vectors = np.repeat(centres, 3, axis=0) + rng.normal(scale=0.3, size=(30, 8))
    names = [f"p{k:02d}" for k in range(10) for _ in range(3)]
    distinct = calibrate(torch.tensor(vectors, dtype=torch.float32), names, euclidean_paired)
    assert distinct.look_alikes == ()
    cal = calibrate(torch.tensor(np.vstack([vectors, centres[3] + rng.normal(scale=0.3, size=(3, 8))]),
                                 dtype=torch.float32), names + ["p03-again"] * 3, euclidean_paired)
    assert cal.look_alikes == (("p03", "p03-again"),)
    for task in ("compare", "verify", "identify"):
        notes = " ".join(decision_rule(cal, run_dir, task, "gallery", 0.05).notes)
        assert "p03 and p03-again are nearer each other than themselves: one person enrolled under two names?" in notes


def test_a_decision_and_its_confidence_say_one_thing(run_dir):
    """The gallery's fit weighs genuine and impostor comparisons evenly, so at a strict FAR its one-half point
    lies beyond the threshold; a decision's confidence is at the threshold's odds: over one half exactly
    when the decision accepts."""
    cal = gallery_of(12, 3, spread=0.8)
    for task in ("compare", "verify", "identify"):
        rule = decision_rule(cal, run_dir, task, "gallery", 0.01)
        assert rule.confidence_at(rule.threshold) == pytest.approx(0.5)
        evenly = rule.confidence.confidence(rule.threshold * 1.05)
        assert evenly > 0.5  # the case a newcomer met: rejected, yet "likely the same" by the even fit
        for distance in np.linspace(0, 3 * rule.threshold, 61):
            accepted = distance <= rule.threshold
            assert (rule.confidence_at(distance) >= 0.5) == accepted or distance == pytest.approx(rule.threshold)


def test_a_threshold_that_will_reject_many_genuine_claims_says_so_and_what_to_do(run_dir):
    overlapping = gallery_of(12, 3, spread=2.5)
    for task, word in (("verify", "genuine claims of the enrolled people will be rejected"),
                       ("identify", "searches by the enrolled people will come out unknown or as someone else")):
        rule = decision_rule(overlapping, run_dir, task, "gallery", 0.01)
        missed = rule.expected["FRR" if task == "verify" else "FNIR"]
        assert missed >= 0.2
        assert any(f"about {missed:.0%} of {word}" in note and "adapt the model" in note for note in rule.notes)
    apart = decision_rule(gallery_of(12, 3), run_dir, "verify", "gallery", 0.05)
    assert not any("will be rejected" in note for note in apart.notes)


def test_a_rule_accepts_at_most_its_threshold_and_its_rates_are_the_evaluations(run_dir):
    cal = gallery_of(12, 3)
    rule = decision_rule(cal, run_dir, "verify", "gallery", 0.05)
    assert rule.accepts(rule.threshold) and not rule.accepts(np.nextafter(rule.threshold, np.inf))
    assert list(rule.accepts(np.array([rule.threshold - 1, rule.threshold + 1]))) == [True, False]
    distances = np.r_[cal.claims.genuine, cal.claims.impostor]
    same = np.r_[np.ones(len(cal.claims.genuine)), np.zeros(len(cal.claims.impostor))]
    by_evaluation = rates_at_threshold(distances, same, rule.threshold)
    assert rule.expected == {"FAR": by_evaluation["far"], "FRR": by_evaluation["frr"]}


def test_the_promise_says_how_sure_it_is_with_its_upper_bound(run_dir):
    cal = gallery_of(12, 3)
    rule = gallery_rule(cal, "verify", 0.05)
    accepted = int(np.sum(cal.claims.impostor <= rule.threshold))
    assert rule.bound == pytest.approx(beta.ppf(0.95, accepted + 1, len(cal.claims.impostor) - accepted))
    assert rule.expected["FAR"] < rule.bound < 1
    assert rule.promise == (f"FAR {rule.expected['FAR']:.1%}, at most {rule.bound:.1%} with 95% confidence "
                            f"({len(cal.claims.impostor):,} impostor claims)")
    more = gallery_rule(gallery_of(40, 3), "verify", 0.05)  # more comparisons: a tighter bound
    assert more.bound - more.expected["FAR"] < rule.bound - rule.expected["FAR"]


def test_fpir_is_given_at_the_gallerys_size_whatever_the_threshold_comes_from(run_dir):
    cal = gallery_of(10, 3)
    from_gallery = gallery_rule(cal, "identify", 0.1)
    save_threshold(run_dir, from_gallery.threshold, "the same threshold, saved with the run")
    from_run = run_rule(run_dir, "identify", cal)
    assert from_run.threshold == from_gallery.threshold
    assert from_run.expected == from_gallery.expected and from_run.bound == from_gallery.bound
    measured = np.mean(cal.searches.non_mated_best <= from_gallery.threshold)  # against 9 people
    assert from_run.expected["FPIR"] == pytest.approx(1 - (1 - measured) ** (10 / 9))


def test_a_saved_1n_threshold_is_converted_for_a_gallery_of_another_size(run_dir):
    strangers = np.random.default_rng(1).uniform(0.5, 1.5, 20000)  # a study's, against 20 people
    study_threshold = float(np.quantile(strangers, 0.01))
    save_identification_threshold(run_dir, study_threshold, 0.01, 20, "validation identities of run x", strangers)
    for size, stricter in ((40, True), (20, None), (10, False)):
        cal = gallery_of(size, 3)
        rule = run_rule(run_dir, "identify", cal)
        if stricter is None:
            assert rule.threshold == study_threshold and "converted" not in rule.basis
            continue
        # per person, a stranger passes with (1 - 0.01) ** (1 / 20); at `size` people FPIR stays 0.01
        kept = 1 - (1 - 0.01) ** (20 / size)
        assert rule.threshold == pytest.approx(np.quantile(strangers, kept), abs=2e-3)
        assert (rule.threshold < study_threshold) == stricter
        assert f"converted to keep FPIR 0.01 at {size} people" in rule.basis


def test_a_1n_threshold_saved_without_its_strangers_says_what_it_gives_at_this_size(run_dir):
    save_identification_threshold(run_dir, 0.7, 0.01, 40, "validation identities of run x")
    rule = run_rule(run_dir, "identify", gallery_of(10, 3))
    assert rule.threshold == 0.7
    assert f"at 10 people it names about {1 - 0.99 ** (10 / 40):.1%} of strangers" in rule.basis
