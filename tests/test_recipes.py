"""siamese/recipes.py: photographs get their own defaults, face crops TrainConfig's, and presets from the
papers apply over a dataset's defaults while the dataset and budget stay the user's."""

from __future__ import annotations

import pytest

from siamese.config import TrainConfig
from siamese.errors import ConfigError
from siamese.recipes import PHOTOGRAPHS, PRESETS, apply_preset, defaults_for


def test_small_crops_keep_trainconfigs_defaults(make_identity_folders, tmp_path):
    values, why = defaults_for(str(make_identity_folders(n_identities=4, n_images=2)), tmp_path)
    assert values == {} and why.startswith("face crops")
    assert defaults_for("digits", tmp_path)[0] == {}


def test_photographs_get_the_photograph_defaults_with_the_reason(make_identity_folders, tmp_path):
    photos = make_identity_folders(n_identities=4, n_images=2, size=200)
    values, why = defaults_for(str(photos), tmp_path)
    assert values == PHOTOGRAPHS and "photographs of about 200 px" in why
    assert defaults_for("lfw", tmp_path)[0] == PHOTOGRAPHS  # known without downloading it
    assert TrainConfig.from_dict(values).faces == "align"


def test_every_preset_makes_a_valid_configuration_naming_its_source(tmp_path):
    for name, (fields, source) in PRESETS.items():
        values = apply_preset(name, {"data": "digits", "max_seconds": 30.0, "seed": 3}, tmp_path)
        config = TrainConfig.from_dict(values)
        assert (config.data, config.max_seconds, config.seed) == ("digits", 30.0, 3)
        assert all(getattr(config, field) == value for field, value in fields.items())
        assert source
    koch = TrainConfig.from_dict(apply_preset("Koch et al. 2015", {"data": "digits"}, tmp_path))
    assert (koch.model, koch.input_size, koch.loss) == ("koch", 105, "bce")


def test_an_unknown_preset_lists_the_known(tmp_path):
    with pytest.raises(ConfigError, match="preset 'x' is not one of: this project's default, Koch et al. 2015"):
        apply_preset("x", {"data": "digits"}, tmp_path)


def test_on_a_gpu_photographs_train_the_same_recipe_and_the_reason_says_what_the_gpu_changes(tmp_path, monkeypatch):
    import torch

    from siamese.recipes import GPU_WHY

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    values, why = defaults_for("lfw", tmp_path)
    assert values == PHOTOGRAPHS and why.endswith(GPU_WHY)
    assert "captured" in why and "not measured yet" in why
    values, why = defaults_for("lfw", tmp_path, device="cpu")  # a GPU here, but the run asks for the CPU
    assert values == PHOTOGRAPHS and GPU_WHY not in why
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert GPU_WHY not in defaults_for("lfw", tmp_path)[1]
    assert GPU_WHY not in defaults_for("lfw", tmp_path, device="cuda")[1]  # asked for, absent: said elsewhere
