"""siamese/config.py: validation that names the field, margins per loss, JSON and string coercion."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from siamese.config import DEFAULT_MARGINS, TrainConfig
from siamese.errors import ConfigError


def test_defaults_are_valid():
    config = TrainConfig()
    config.validate()
    assert (config.loss, config.margin, config.in_channels) == ("cosface", 0.35, 1)


CHOICE_FIELDS = [f.name for f in fields(TrainConfig) if f.metadata.get("choices")]


@pytest.mark.parametrize("field", CHOICE_FIELDS)
def test_an_unknown_choice_raises_config_error_naming_the_field_and_the_choices(field):
    choices = next(f.metadata["choices"] for f in fields(TrainConfig) if f.name == field)
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: "no-such-choice"})
    assert str(info.value).startswith(f"{field}: ")
    assert all(choice in str(info.value) for choice in choices)


@pytest.mark.parametrize("field,value", [
    ("margin", -0.1), ("p", 1), ("k", 1), ("lr", 0.0), ("val_fraction", 1.0), ("val_fraction", 0.0),
    ("input_size", 8), ("embedding_dim", 1), ("epochs", 0), ("max_seconds", 0.0), ("augment_strength", -1.0),
    ("weight_decay", -1e-4), ("eval_every", 0), ("data", "  "),
])
def test_each_invalid_value_raises_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize("loss", DEFAULT_MARGINS)
def test_margin_default_depends_on_the_loss(loss):
    assert TrainConfig(loss=loss).margin == {"cosface": 0.35, "contrastive": 1.0, "triplet": 0.2, "bce": 0.0}[loss]
    assert TrainConfig(loss=loss, margin=0.5).margin == 0.5


def test_json_round_trip(tmp_path):
    config = TrainConfig(data="my faces", model="koch", input_size=105, loss="contrastive", distance="cosine",
                         normalize=False, lr=1e-4, p=8, max_seconds=90.0, seed=7)
    path = tmp_path / "config.json"
    config.save(path)
    assert json.loads(path.read_text())["input_size"] == 105
    assert TrainConfig.load(path) == config


def test_load_of_an_unreadable_file_raises_config_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        TrainConfig.load(tmp_path / "config.json")
    with pytest.raises(ConfigError, match="cannot read"):
        TrainConfig.load(tmp_path / "missing.json")


@pytest.mark.parametrize("text", ["42", "[1, 2]", '"data"', "null"])
def test_load_of_json_that_is_not_an_object_raises_config_error(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="not a JSON object"):
        TrainConfig.load(path)


def test_load_of_bytes_that_are_not_utf8_raises_config_error(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b'{"data": "\xff"}')
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        TrainConfig.load(path)


def test_from_dict_coerces_strings():
    config = TrainConfig.from_dict({"margin": "0.5", "normalize": "true", "augment": "off", "p": "16",
                                    "lr": "1e-3", "max_seconds": "30", "embedding_dim": 64.0})
    assert config.margin == 0.5 and isinstance(config.margin, float)
    assert config.normalize is True and config.augment is False
    assert config.p == 16 and isinstance(config.p, int)
    assert (config.lr, config.max_seconds, config.embedding_dim) == (1e-3, 30.0, 64)


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_dict({"lr": "0.1", "learning_rate": "0.1"})


@pytest.mark.parametrize("field,value", [("p", "sixteen"), ("p", "16.0"), ("k", 2.5), ("lr", "fast"),
                                         ("augment", "maybe"), ("margin", "-1"), ("model", "vgg16")])
def test_from_dict_refuses_bad_values_naming_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({field: value})
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize("field,value", [("lr", ""), ("p", None)])
def test_from_dict_with_an_empty_required_value_names_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({field: value})
    assert str(info.value).startswith(f"{field}: ")


def test_from_dict_accepts_empty_for_optional_fields():
    config = TrainConfig.from_dict({"margin": "", "max_seconds": None, "loss": "contrastive"})
    assert config.margin == 1.0 and config.max_seconds is None
