"""Training: what the loop reads (`inputs`: the split dataset and its batches), the loop itself (`loop`),
and several processes under `torchrun` (`distributed`)."""

from .loop import TrainResult, resume, train

__all__ = ["TrainResult", "resume", "train"]
