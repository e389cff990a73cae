"""siamese/config.py: validation that names the field, margins per loss, JSON and string coercion, and the
trip through URL query parameters (bad values reported and skipped)."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from siamese.config import TrainConfig, form_field, from_query, pipeline_steps, to_query
from siamese.errors import ConfigError
from siamese.losses import LOSSES, build_loss, default_margin


def test_defaults_are_valid():
    config = TrainConfig()
    config.validate()
    assert (config.loss, build_loss(config, 2).margin, config.in_channels) == ("cosface", 0.35, 1)


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
    ("input_size", 8), ("embedding_dim", 1), ("epochs", 0), ("max_seconds", 0.0), ("augment_strength", -1.0), ("grey_fraction", 1.5),
    ("weight_decay", -1e-4), ("eval_every", -1), ("data", "  "),
])
def test_each_invalid_value_raises_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{field: value})
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize("loss", LOSSES)
def test_margin_default_depends_on_the_loss_that_owns_it(loss):
    expected = {"cosface": 0.35, "arcface": 0.5, "contrastive": 1.0, "triplet": 0.2, "bce": None}[loss]
    assert TrainConfig(loss=loss).margin is None and default_margin(loss) == expected
    built = build_loss(TrainConfig(loss=loss), 4)
    assert getattr(built, "margin", None) == expected
    if expected is not None:
        assert build_loss(TrainConfig(loss=loss, margin=0.5), 4).margin == 0.5


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
    assert config.margin is None and build_loss(config).margin == 1.0 and config.max_seconds is None


def test_round_trip_only_non_defaults():
    config = TrainConfig(loss="contrastive", lr=0.01, augment=False, max_seconds=30.0, p=8)
    query = to_query(config)
    assert query == {"loss": "contrastive", "lr": "0.01", "augment": "false", "max_seconds": "30.0", "p": "8"}
    values, problems = from_query(query)
    assert TrainConfig.from_dict(values) == config and not problems


def test_default_config_makes_an_empty_query():
    assert to_query(TrainConfig()) == {}


def test_bad_values_are_reported_and_skipped():
    values, problems = from_query({"lr": "fast", "p": "1", "epochs": "7", "nonsense": "1"},
                                         {"data": "olivetti"})
    assert values["epochs"] == 7 and values["lr"] == TrainConfig().lr and values["p"] == 16
    assert values["data"] == "olivetti" and len(problems) == 2


def test_form_fields_describe_every_field_as_the_dataclass_does():
    kinds = {name: form_field(name).kind for name in ("model", "augment", "p", "seed", "lr", "margin", "max_seconds")}
    assert kinds == {"model": "choice", "augment": "bool", "p": "int", "seed": "int", "lr": "float",
                     "margin": "optional", "max_seconds": "optional"}
    assert form_field("loss").choices == tuple(LOSSES) and form_field("seed").minimum == 0
    assert form_field("p").minimum == 1 and form_field("lr").help == "learning rate"


def test_pipeline_steps_name_what_the_configuration_does_at_each_step():
    steps = dict(pipeline_steps(TrainConfig(data="orl", loss="triplet", mining="semi_hard", max_seconds=60)))
    assert list(steps) == ["data", "sampling", "model", "loss", "train", "evaluate", "gallery / projection"]
    assert steps["loss"] == "triplet, margin 0.2, semi_hard mining, euclidean distance"
    assert "16 identities x 4 images" in steps["sampling"] and "or 60 s" in steps["train"]
    assert "margin" not in dict(pipeline_steps(TrainConfig(loss="bce")))["loss"]


def test_the_pipeline_names_the_sampler_used_and_datasets_by_their_short_names():
    uniform = dict(pipeline_steps(TrainConfig(data="/work/shared/datasets/lfw/images", sampler="uniform", p=32, k=4)))
    assert uniform["sampling"] == "128 images drawn at random a batch" and "P x K" not in uniform["sampling"]
    assert uniform["data"].startswith("lfw/images; identities split")
    assert dict(pipeline_steps(TrainConfig(data="orl", sampler="pk")))["sampling"].startswith("P x K = ")
