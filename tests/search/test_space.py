"""siamese/search/space.py: fields searched as float, log, int or choice; every bad space named before a
trial starts; the default spaces."""

from __future__ import annotations

import json

import optuna
import pytest

from siamese.config import TrainConfig
from siamese.errors import SearchError
from siamese.search.space import (DEFAULT_SPACES, default_space, parse_dimension, read_space, space_from_json,
                                  space_to_json, suggest)


@pytest.mark.parametrize("text, message", [
    ("lr=log:0.01:0.0001", "lr: the low end 0.01 is above the high end 0.0001"),
    ("margin=log:0:1", "margin: a log range must stay above 0, and 0 does not"),
    ("lr=log:0:0.1", "lr: the bound 0.0 is refused: lr: must be positive"),
    ("speed=float:1:2", "'speed' is not a field of the configuration; searchable: model, "),
    ("seed=int:0:9", "seed cannot be searched: a seed that wins is luck"),
    ("data=choice:a,b", "data cannot be searched"),
    ("model=choice:compact,vgg", "model: the choice 'vgg' is refused: model: 'vgg' is not one of compact"),
    ("k=int:1:4", "k: the bound 1 is refused: k: a batch needs at least 2 images"),
    ("k=float:2:4", "k is an integer: use an int range"),
    ("loss=float:0:1", "loss takes named values, not a range: use choice"),
    ("lr=float:0.1:0.1", "lr: 0.1 to 0.1 is one value"),
    ("lr=linear:1:2", "lr: 'linear' is not a kind of range"),
    ("lr", "write FIELD=KIND:LOW:HIGH"),
])
def test_a_bad_dimension_is_named_with_its_reason(text, message):
    with pytest.raises(SearchError, match=message.replace("(", r"\(")):
        parse_dimension(text)


def test_an_empty_space_has_nothing_to_search(tmp_path):
    (tmp_path / "space.json").write_text("{}")
    with pytest.raises(SearchError, match="the space has nothing to search"):
        read_space(tmp_path / "space.json")


def test_a_space_file_round_trips_and_is_checked_against_the_fixed_configuration(tmp_path):
    written = {"lr": {"log": [1e-4, 1e-2]}, "k": {"int": [2, 5]}, "loss": {"choice": ["cosface", "arcface"]}}
    (tmp_path / "space.json").write_text(json.dumps(written))
    space = read_space(tmp_path / "space.json")
    assert space_to_json(space) == {"lr": {"log": [1e-4, 1e-2]}, "k": {"int": [2, 5]},
                                    "loss": {"choice": ["cosface", "arcface"]}}
    with pytest.raises(SearchError, match="margin: the bound"):  # a negative margin is refused by any config
        space_from_json({"margin": {"float": [-0.5, 0.5]}}, TrainConfig())


def test_suggested_values_stay_in_their_ranges_and_make_valid_configurations():
    space = space_from_json({"lr": {"log": [1e-4, 1e-2]}, "k": {"int": [2, 5]},
                             "embedding_dim": {"choice": [32, 64]}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        values = suggest(study.ask(), space)
        assert 1e-4 <= values["lr"] <= 1e-2 and values["k"] in (2, 3, 4, 5) and values["embedding_dim"] in (32, 64)
        TrainConfig(**values)


@pytest.mark.parametrize("kind", list(DEFAULT_SPACES))
def test_each_default_space_searches_four_fields_or_more_each_with_its_reason(kind):
    space, why = default_space(kind)
    assert len(space) >= 4 and set(why) == set(space) and all(len(reason) > 20 for reason in why.values())
