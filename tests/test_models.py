"""siamese/models.py: every registered network under one test, cached-only pretrained weights, the input
scaling."""

from __future__ import annotations

import pytest
import torch

from siamese.config import TrainConfig
from siamese.distances import euclidean_paired
from siamese.errors import ModelError
from siamese.models import MODELS, build_model, to_input

INPUT_SIZE = {"koch": 105}  # koch's four valid convolutions need at least 88 pixels; the rest take 64


@pytest.mark.parametrize("colour", ["grey", "rgb"])
@pytest.mark.parametrize("name", MODELS)
def test_every_model_embeds_a_twin_pair(name, colour):
    torch.manual_seed(0)
    size = INPUT_SIZE.get(name, 64)
    config = TrainConfig(model=name, input_size=size, embedding_dim=24, colour=colour)
    model = build_model(config).eval()
    a, b = torch.rand(2, 1, config.in_channels, size, size) * 2 - 1
    with torch.no_grad():
        ab, ba = model(torch.cat([a, b])), model(torch.cat([b, a]))
    assert ab.shape == (2, 24) and not ab.isnan().any()
    torch.testing.assert_close(ab.norm(dim=1), torch.ones(2))
    # One module called on both inputs: the distance of (a, b) is that of (b, a).
    torch.testing.assert_close(euclidean_paired(ab[:1], ab[1:]), euclidean_paired(ba[1:], ba[:1]),
                               rtol=1e-4, atol=1e-5)
    assert (ab[0] - ab[1]).abs().max() > 0


def test_normalize_false_leaves_the_length_free():
    torch.manual_seed(0)
    model = build_model(TrainConfig(model="compact", normalize=False, embedding_dim=24)).eval()
    with torch.no_grad():
        norms = model(torch.rand(2, 1, 64, 64) * 2 - 1).norm(dim=1)
    assert not torch.allclose(norms, torch.ones(2), atol=1e-3)


def test_compact_is_under_a_million_parameters():
    model = build_model(TrainConfig(model="compact"))
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_koch_refuses_small_inputs():
    with pytest.raises(ModelError, match="at least 88"):
        build_model(TrainConfig(model="koch", input_size=64))


def test_pretrained_resnet18_without_cached_weights_says_so(tmp_path, monkeypatch, no_network):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(ModelError, match="local torch cache") as info:
        build_model(TrainConfig(model="resnet18", pretrained=True))
    assert str(tmp_path) in str(info.value)


def test_unknown_model_lists_the_known():
    config = TrainConfig()
    config.model = "vgg16"
    with pytest.raises(ModelError) as info:
        build_model(config)
    assert all(name in str(info.value) for name in MODELS)


def test_to_input_maps_uint8_to_minus_one_one():
    images = torch.tensor([0, 255, 51], dtype=torch.uint8).view(1, 1, 1, 3)
    assert to_input(images).flatten().tolist() == pytest.approx([-1.0, 1.0, -0.6])


def test_flip_average_embeds_an_image_and_its_mirror_alike_outside_training():
    torch.manual_seed(0)
    model = build_model(TrainConfig(model="face_resnet", input_size=32, embedding_dim=16, colour="rgb",
                                    flip_average=True)).eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.flip(3)), rtol=1e-4, atol=1e-5)
        plain = build_model(TrainConfig(model="face_resnet", input_size=32, embedding_dim=16, colour="rgb")).eval()
        plain.load_state_dict(model.state_dict())
        assert (plain(x) - plain(x.flip(3))).abs().max() > 1e-3
    model.train()
    assert (model(x) - model(x.flip(3))).abs().max() > 1e-3  # training sees each image as it is


def test_inputs_are_channels_last_for_the_convolution_kernels():
    assert to_input(torch.zeros(2, 3, 8, 8, dtype=torch.uint8)).is_contiguous(memory_format=torch.channels_last)


def test_face_resnet_lite_halves_the_arithmetic_of_face_resnet_with_the_same_head():
    from torch.utils.flop_counter import FlopCounterMode

    def measured(name):
        net = MODELS[name](3, 256, 64).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            net(torch.zeros(1, 3, 64, 64))
        head = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1)
        return counter.get_total_flops(), sum(p.numel() for p in net.parameters()), head.kernel_size

    lite, full = measured("face_resnet_lite"), measured("face_resnet")
    assert lite[0] / full[0] == pytest.approx(0.53, abs=0.02)  # 72 of 135 MFLOP forward
    assert lite[1] < 0.6 * full[1]
    assert lite[2] == full[2] == (4, 4)  # the depthwise head sees the same 4 x 4 map of a 64 px face
