"""Embedding networks, by name. Each maps images (B, C, H, W) float to embeddings (B, D), nothing else.

The Siamese twin is one of these modules called on both inputs, so the weights are shared by construction.
Distances, heads and decisions live outside the model (`distances.py`, `losses.py`, `gallery.py`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import ModelError

if TYPE_CHECKING:
    from .config import TrainConfig


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def compact(in_channels: int, embedding_dim: int, input_size: int) -> nn.Module:
    """A small CNN for the CPU: four 3x3 conv blocks with batch norm, three max-pools, global average
    pooling and a linear projection; 0.42 M parameters at 128-d. Works at any input size >= 16."""
    widths = (32, 64, 128, 256)
    return nn.Sequential(
        _conv_block(in_channels, widths[0]), nn.MaxPool2d(2),
        _conv_block(widths[0], widths[1]), nn.MaxPool2d(2),
        _conv_block(widths[1], widths[2]), nn.MaxPool2d(2),
        _conv_block(widths[2], widths[3]),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[3], embedding_dim),
    )


def _flat_size(features: nn.Module, in_channels: int, input_size: int) -> int:
    with torch.no_grad():
        return features(torch.zeros(1, in_channels, input_size, input_size)).numel()


def koch(in_channels: int, embedding_dim: int, input_size: int) -> nn.Module:
    """Koch, Zemel and Salakhutdinov 2015, figure 4: conv 64@10x10, max-pool, 128@7x7, max-pool, 128@4x4,
    max-pool, 256@4x4, then a fully connected layer with a sigmoid (4096 units in the paper; 105x105 input)."""
    if input_size < 88:
        raise ModelError(f"model koch needs input_size of at least 88 pixels (the paper uses 105), "
                         f"not {input_size}")
    features = nn.Sequential(
        nn.Conv2d(in_channels, 64, 10), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 7), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(128, 128, 4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 4), nn.ReLU(inplace=True), nn.Flatten(),
    )
    flat = _flat_size(features, in_channels, input_size)
    return nn.Sequential(features, nn.Linear(flat, embedding_dim), nn.Sigmoid())


def tutorial(in_channels: int, embedding_dim: int, input_size: int) -> nn.Module:
    """The network of the classic PyTorch Siamese tutorial, as people copy it: three 3x3 conv layers of
    4, 8 and 8 channels with reflection padding and batch norm, then fully connected 500-500-D
    (D = 5 in the tutorial; 100x100 grey input)."""
    def layer(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3), nn.ReLU(inplace=True), nn.BatchNorm2d(c_out)]

    return nn.Sequential(
        *layer(in_channels, 4), *layer(4, 8), *layer(8, 8), nn.Flatten(),
        nn.Linear(8 * input_size * input_size, 500), nn.ReLU(inplace=True),
        nn.Linear(500, 500), nn.ReLU(inplace=True), nn.Linear(500, embedding_dim),
    )


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                                  nn.ReLU(inplace=True), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity() if c_in == c_out and stride == 1 else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def _small_resnet(in_channels: int, embedding_dim: int, input_size: int, stem: int, stem_stride: int,
                  widths: tuple[int, ...], first_stride: int) -> nn.Module:
    """A 3x3 stem, one basic block per width (the first with `first_stride`, the others halving the
    resolution), then MobileFaceNet's global depthwise convolution head (Chen et al. 2018: one weight per
    position of the final map, so where a feature is on the face counts, which average pooling throws
    away) and a linear projection with batch norm."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, stem, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(stem),
                               nn.ReLU(inplace=True)]
    c, side = stem, math.ceil(input_size / stem_stride)
    for i, width in enumerate(widths):
        stride = first_stride if i == 0 else 2
        layers.append(_BasicBlock(c, width, stride))
        c, side = width, math.ceil(side / stride)
    head = [nn.Conv2d(c, c, side, groups=c, bias=False), nn.BatchNorm2d(c), nn.Flatten(),
            nn.Linear(c, embedding_dim, bias=False), nn.BatchNorm1d(embedding_dim)]
    return nn.Sequential(*layers, *head)


def face_resnet(in_channels: int, embedding_dim: int, input_size: int) -> nn.Module:
    """A small ResNet for aligned faces: a stem of 32 channels at full resolution, four stages of 32, 64,
    128 and 256 channels each halving it. 1.3 M parameters at 256-d, 0.40 GFLOP a 64 px image (forward,
    backward and update); runs trained before face_resnet_lite use it."""
    return _small_resnet(in_channels, embedding_dim, input_size, 32, 1, (32, 64, 128, 256), 2)


def face_resnet_lite(in_channels: int, embedding_dim: int, input_size: int) -> nn.Module:
    """face_resnet made cheaper where it spent most: the stem halves the resolution at once (a 64 px face
    carries little detail at full resolution that a 3x3 stem at stride 2 loses) and the widths are 24, 48,
    96 and 192, the first stage at the stem's resolution. 0.74 M parameters at 256-d, 0.22 GFLOP a 64 px
    image: half face_resnet's arithmetic but 2.3 times its images a second on an AVX2 CPU (layers at full
    resolution are bound by memory traffic, not arithmetic). In the same minutes it trains twice the
    epochs, which gained more on LFW View 1 and LFW -> ORL than width did (docs/BENCHMARKS.md)."""
    return _small_resnet(in_channels, embedding_dim, input_size, 24, 2, (24, 48, 96, 192), 1)


RESNET18_WEIGHTS_FILE = "resnet18-f37072fd.pth"


def resnet18(in_channels: int, embedding_dim: int, input_size: int, pretrained: bool = False) -> nn.Module:
    """torchvision's ResNet-18 with its first convolution adapted to `in_channels` and its classifier
    replaced by a projection to `embedding_dim`. ImageNet weights are used only from the local torch cache."""
    from torchvision.models import resnet18 as tv_resnet18

    net = tv_resnet18(weights=None)
    if pretrained:
        net.load_state_dict(_cached_resnet18_weights())
    if in_channels != 3:
        old = net.conv1
        net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        if pretrained:
            with torch.no_grad():
                # Grey input: the sum of the RGB filters responds to a grey image as they did to colour.
                net.conv1.weight.copy_(old.weight.sum(dim=1, keepdim=True))
    net.fc = nn.Linear(net.fc.in_features, embedding_dim)
    return net


def _cached_resnet18_weights() -> dict:
    path = Path(torch.hub.get_dir()) / "checkpoints" / RESNET18_WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(
            f"pretrained resnet18 weights are not in the local torch cache ({path}). This tool never downloads "
            "them during training: on a machine with internet run `python -c \"import torchvision; "
            "torchvision.models.resnet18(weights='IMAGENET1K_V1')\"` once, or set pretrained to false."
        )
    return torch.load(path, map_location="cpu", weights_only=True)


ModelBuilder = Callable[[int, int, int], nn.Module]

MODELS: dict[str, ModelBuilder] = {
    "compact": compact,
    "face_resnet": face_resnet,
    "face_resnet_lite": face_resnet_lite,
    "koch": koch,
    "resnet18": resnet18,
    "tutorial": tutorial,
}


class Embedder(nn.Module):
    """A backbone from MODELS, with optional L2 normalisation of its output: forward(x) -> (B, D). With
    `flip_average`, an embedding outside training is the mean of the image's and its mirror image's (a
    face and its mirror are the same person; the mean is steadier than either)."""

    def __init__(self, backbone: nn.Module, normalize: bool, flip_average: bool = False):
        super().__init__()
        self.backbone = backbone
        self.normalize = normalize
        self.flip_average = flip_average

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self._one(x)
        if self.flip_average and not self.training:
            e = (e + self._one(x.flip(3))) / 2
        return F.normalize(e, dim=1) if self.normalize else e

    def _one(self, x: torch.Tensor) -> torch.Tensor:
        e = self.backbone(x)
        return F.normalize(e, dim=1) if self.normalize else e


def build_model(config: TrainConfig) -> Embedder:
    """The embedding network a configuration describes, with freshly initialised (or cached pretrained) weights."""
    if config.model not in MODELS:
        raise ModelError(f"unknown model {config.model!r}; known: {', '.join(MODELS)}")
    if config.model == "resnet18":
        backbone = resnet18(config.in_channels, config.embedding_dim, config.input_size, config.pretrained)
    else:
        backbone = MODELS[config.model](config.in_channels, config.embedding_dim, config.input_size)
    # Channels-last memory suits the convolution kernels of GPUs and of oneDNN on CPUs.
    return Embedder(backbone, config.normalize, config.flip_average).to(memory_format=torch.channels_last)


def early_layers(model: Embedder) -> list[nn.Module]:
    """The layers a fine-tuning may keep frozen: every layer before the backbone's last stage (the last
    layer holding a full convolution; the depthwise head of the face ResNets is not one), so the last
    stage and the embedding layer adapt to new people while the generic features stay. A backbone of a
    single block (Koch's features) is looked into."""
    units = list(model.backbone.children())
    while sum(1 for u in units if any(True for _ in u.parameters())) < 3 and any(
            len(list(u.children())) > 1 for u in units):
        units = [child for u in units for child in (list(u.children()) or [u])]

    def is_stage(unit: nn.Module) -> bool:
        return any(isinstance(m, nn.Conv2d) and m.groups == 1 for m in unit.modules())

    stages = [i for i, unit in enumerate(units) if is_stage(unit)]
    last = stages[-1] if stages else len(units) - 1
    return [unit for unit in units[:last] if any(True for _ in unit.parameters())]


def freeze_layers(layers: list[nn.Module], frozen: bool) -> None:
    """Freeze (or free) `layers`: no gradient for their weights, and their batch-norm statistics held (eval
    mode), so what they learned on the parent's people is kept exactly."""
    for layer in layers:
        layer.train(not frozen)
        for parameter in layer.parameters():
            parameter.requires_grad_(not frozen)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in 0..255 as float in [0, 1], the range augmentation works in; floats pass as they are."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


def to_input(images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """The one input scaling of every network: uint8 images (B, C, H, W) in 0..255, or float images in
    [0, 1] (augmented ones), to the float input the networks expect, in [-1, 1], on `device`."""
    x = to_unit(images.to(device, non_blocking=True)).mul(2.0).sub_(1.0)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


@torch.no_grad()
def embed_images(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu",
                 batch_size: int = 256, bf16: bool = False, on_device: bool = False) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> embeddings (N, D) float32, in evaluation mode: on the CPU, or left on
    `device` (`on_device`) for what is computed there next; with `bf16`, the network computes in bfloat16
    (autocast), as a training in that precision does."""
    was_training = model.training
    model.eval()
    device = torch.device(device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        parts = [model(to_input(images[s:s + batch_size], device)).float()
                 for s in range(0, len(images), batch_size)]
    model.train(was_training)
    embeddings = torch.cat(parts) if parts else torch.empty(0, 0, device=device)
    return embeddings if on_device else embeddings.cpu()
