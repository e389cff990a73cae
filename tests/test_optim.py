"""siamese/optim.py: the schedules by name, and weight decay on weight matrices only."""

from __future__ import annotations

import pytest
import torch

from siamese.optim import SCHEDULES, WARMUP, build_optimizer


def test_warmup_cosine_rises_then_falls_to_zero():
    f = SCHEDULES["warmup_cosine"]
    assert f(0.0) == 0.0 and f(WARMUP / 2) == pytest.approx(0.5) and f(WARMUP) == pytest.approx(1.0)
    assert f(1.0) == pytest.approx(0.0, abs=1e-12)
    values = [f(WARMUP + k * (1 - WARMUP) / 100) for k in range(101)]
    assert values == sorted(values, reverse=True)


def test_cosine_ends_at_a_hundredth_and_constant_stays():
    assert SCHEDULES["cosine"](0.0) == pytest.approx(1.0) and SCHEDULES["cosine"](1.0) == pytest.approx(0.01)
    assert SCHEDULES["constant"](0.7) == 1.0


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_weight_decay_spares_biases_and_batch_norm(name):
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    optimizer = build_optimizer(name, list(net.parameters()), 0.1, 0.01)
    decays = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    assert decays[id(net[0].weight)] == 0.01
    assert decays[id(net[0].bias)] == decays[id(net[1].weight)] == decays[id(net[1].bias)] == 0.0
