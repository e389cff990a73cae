"""Several training processes, one run: what `torchrun` provides, and the few collectives training needs.

`python -m siamese train` is the same program on one process or many. Under `torchrun` (which sets RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT) `init_world` joins the process group: NCCL when each
process drives a CUDA device, Gloo on CPUs. Outside it, `World` is a single process and every collective
here is the identity, so the training loop has one code path.

Rule kept by the training loop: work done by rank 0 alone (validation, checkpoints, the run folder) calls
no collective, so the other ranks never wait on a rank that is not coming.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ..device import pick_device
from ..errors import ConfigError

# How long a rank waits for the others at a collective before the run fails instead of hanging for ever;
# validation on rank 0 happens while the others wait, so this bounds it too.
TIMEOUT = timedelta(minutes=30)


@dataclass
class World:
    """This process's place among the training processes; a single process is rank 0 of 1."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run folder and reports progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def sum(self, values: list[float]) -> list[float]:
        """Each value summed over all processes (float64), the same result on every rank."""
        if not self.distributed:
            return list(values)
        # NCCL reduces CUDA tensors only; Gloo, CPU ones.
        where = self.device if dist.get_backend() == "nccl" else torch.device("cpu")
        tensor = torch.tensor(values, dtype=torch.float64, device=where)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def broadcast(self, value):
        """Rank 0's `value` (any picklable object), returned on every rank."""
        if not self.distributed:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self.device if dist.get_backend() == "nccl" else None)
        return box[0]

    def gather(self, embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (B, D) embeddings and (B,) labels of every rank, concatenated in rank order: (W*B, D), (W*B,).

        Differentiable: every rank computes the same loss over the combined batch, and the backward pass
        sums each slice's gradient over the ranks and returns it to the rank it came from. DDP's average
        of parameter gradients over the ranks then gives exactly the gradient of the combined-batch loss,
        for the network and for parameters of the loss alike. Every rank must pass the same batch size.
        """
        if not self.distributed:
            return embeddings, labels
        label_parts = [torch.empty_like(labels) for _ in range(self.size)]
        dist.all_gather(label_parts, labels.contiguous())
        return _GatherWithGradient.apply(embeddings, self.rank, self.size), torch.cat(label_parts)

    def share_buffers(self, module: torch.nn.Module) -> None:
        """Give every rank rank 0's buffers (BatchNorm running statistics). DDP does this at the start of
        each forward pass, so after the last one each rank holds statistics of its own last batch."""
        if self.distributed:
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


class _GatherWithGradient(torch.autograd.Function):
    """all_gather forward; backward all-reduces the gradient of the whole gathered tensor and keeps this
    rank's slice (Gloo has no reduce-scatter; at (W*B, D) floats the extra traffic is negligible)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, rank: int, size: int) -> torch.Tensor:
        ctx.rank, ctx.rows = rank, tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.rows:(ctx.rank + 1) * ctx.rows], None, None


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_world(device_name: str = "auto") -> World:
    """Join the process group when launched by torchrun with several processes; else a single process on
    the device `device_name` picks (auto: CUDA, then MPS, then the CPU)."""
    if not launched_by_torchrun():
        return World(device=pick_device(device_name))
    if dist.is_initialized():
        return _current_world()
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name in ("auto", "cuda") and torch.cuda.is_available()
    if device_name == "cuda" and not use_cuda:
        raise ConfigError("device: cuda was asked for but no CUDA device is available")
    if device_name == "mps":
        raise ConfigError("device: several processes train on CUDA (NCCL) or the CPU (Gloo), not on MPS; "
                          "use --device cpu, or one process without torchrun")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} CUDA "
                              "device(s): give torchrun --nproc_per_node at most that many")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dist.init_process_group("nccl" if use_cuda else "gloo", timeout=TIMEOUT)
    return World(rank, size, local_rank, device)


def _current_world() -> World:
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")
    return World(dist.get_rank(), dist.get_world_size(), local_rank, device)


def leave_world(world: World, wait: bool = True) -> None:
    """Leave the process group, after every rank got here when `wait` (nothing to do for one process)."""
    if world.distributed and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
