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


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_the_fused_update_a_gpu_uses_is_the_plain_update(name):
    """`fused` (chosen on CUDA) updates every parameter in one kernel: the same steps, here on the CPU."""
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(32, 1))
            for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    optimizers = [build_optimizer(name, list(net.parameters()), 0.01, 0.05, fused=fused)
                  for net, fused in zip(nets, (False, True))]
    assert optimizers[1].defaults["fused"] and not optimizers[0].defaults.get("fused")
    x = torch.rand(4, 1, 6, 6)
    for _ in range(5):
        for net, optimizer in zip(nets, optimizers):
            optimizer.zero_grad()
            net(x).pow(2).mean().backward()
            optimizer.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
