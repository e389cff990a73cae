"""Run by tests/train/test_distributed.py under `torchrun --nproc_per_node 2` (not collected by pytest).

Usage: ddp_worker.py OUT DATA. Each rank writes OUT/rank<r>.json: the losses and gradients of gathered
mining next to a single-process reference over the same combined batch; then all ranks train one small
run into OUT/runs/ddp and each saves its final weights to OUT/weights-rank<r>.pt, outside the run folder,
so the test can compare the replicas. Two more runs check that everyone stops together: one where rank 0
sees a STOP file, one where rank 1 alone meets a non-finite loss.
"""

import json
import sys
from pathlib import Path

import torch

from siamese.config import TrainConfig
from siamese.losses import build_loss
from siamese.runs.folder import new_run_dir
from siamese.train import loop as train_module
from siamese.train.distributed import init_world, leave_world
from siamese.train.loop import _Objective, train

LOSSES = [("triplet", "batch_hard"), ("triplet", "semi_hard"), ("triplet", "batch_all"),
          ("contrastive", "batch_hard"), ("bce", "batch_hard"), ("cosface", "batch_hard")]
BATCH, DIM, CLASSES = 12, 8, 5


def gathered_against_combined(world) -> dict:
    """Per loss: this rank's gathered loss and gradients, and the same over the combined batch in one
    process. Inputs are seeded identically on every rank; each rank feeds its own half through DDP."""
    results = {}
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(world.size * BATCH, 16, generator=generator)
    labels = torch.randint(0, CLASSES, (world.size * BATCH,), generator=generator)
    for loss_name, mining in LOSSES:
        config = TrainConfig(loss=loss_name, mining=mining, embedding_dim=DIM, device="cpu")
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(16, DIM), torch.nn.Tanh())
        loss_fn = build_loss(config, CLASSES)
        reference = _Objective(model, loss_fn, world, gather=False)
        combined = reference(inputs, labels)
        combined.backward()
        expected = {name: p.grad.clone() for name, p in reference.named_parameters()}
        reference.zero_grad()

        ddp = torch.nn.parallel.DistributedDataParallel(_Objective(model, loss_fn, world, gather=True))
        mine = slice(world.rank * BATCH, (world.rank + 1) * BATCH)
        gathered = ddp(inputs[mine], labels[mine])
        gathered.backward()
        results[f"{loss_name}/{mining}"] = {
            "combined": combined.item(), "gathered": gathered.item(),
            "largest_gradient_difference": max((p.grad - expected[name]).abs().max().item()
                                               for name, p in reference.named_parameters()),
            "largest_gradient": max(g.abs().max().item() for g in expected.values()),
        }
    return results


class NaNOnRank1(torch.nn.Module):
    """The real loss, except that on rank 1 the third call returns NaN."""

    def __init__(self, loss_fn: torch.nn.Module, rank: int):
        super().__init__()
        self.loss_fn, self.rank, self.calls = loss_fn, rank, 0

    def forward(self, embeddings, labels):
        self.calls += 1
        loss = self.loss_fn(embeddings, labels)
        return loss * float("nan") if self.rank == 1 and self.calls == 3 else loss


def main(out: Path, data: Path) -> None:
    torch.set_num_threads(1)
    world = init_world("cpu")
    report = {"rank": world.rank, "size": world.size, "gathered": gathered_against_combined(world)}
    config = TrainConfig(data=str(data), embedding_dim=16, p=4, k=3, epochs=4, loss="triplet", device="cpu")

    def run(name: str, callback=None):
        run_dir = world.broadcast(new_run_dir(out / "runs", name) if world.is_main else None)
        return train(config, run_dir, callback, world=world)

    result = run("ddp")
    report["status"], report["steps"] = result.status, result.steps
    torch.save(result.model.state_dict(), out / f"weights-rank{world.rank}.pt")

    def stop_at_step_2(record):  # called on rank 0 only
        if record["kind"] == "step" and record["step"] == 2:
            (out / "runs" / "stop" / "STOP").touch()
    result = run("stop", stop_at_step_2)
    report["stop"] = {"status": result.status, "steps": result.steps}

    real_build_loss = train_module.build_loss
    train_module.build_loss = lambda config, n: NaNOnRank1(real_build_loss(config, n), world.rank)
    result = run("diverge")
    report["diverge"] = {"status": result.status, "steps": result.steps}
    (out / f"rank{world.rank}.json").write_text(json.dumps(report))
    leave_world(world)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
