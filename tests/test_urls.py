"""A configuration survives the trip through URL query parameters; bad values are reported and skipped."""

from __future__ import annotations

from siamese.config import TrainConfig
from siamese.urls import config_from_query, config_to_query


def test_round_trip_only_non_defaults():
    config = TrainConfig(loss="contrastive", lr=0.01, augment=False, max_seconds=30.0, p=8)
    query = config_to_query(config)
    assert query == {"loss": "contrastive", "lr": "0.01", "augment": "false", "max_seconds": "30.0", "p": "8"}
    values, problems = config_from_query(query)
    assert TrainConfig.from_dict(values) == config and not problems


def test_default_config_makes_an_empty_query():
    assert config_to_query(TrainConfig()) == {}


def test_bad_values_are_reported_and_skipped():
    values, problems = config_from_query({"lr": "fast", "p": "1", "epochs": "7", "nonsense": "1"},
                                         {"data": "olivetti"})
    assert values["epochs"] == 7 and values["lr"] == TrainConfig().lr and values["p"] == 16
    assert values["data"] == "olivetti" and len(problems) == 2
