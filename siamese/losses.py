"""Training losses over a batch of embeddings and identity labels.

Label convention, the one used everywhere in this project: ``same = 1`` marks a genuine pair (two images
of the same identity), ``same = 0`` an impostor pair. Distances grow with dissimilarity.

Every loss is an `nn.Module` called as ``loss(embeddings (B, D), labels (B,)) -> scalar`` and forms its
pairs or triplets inside the batch (see `sampling.py`); the per-pair formulas are plain functions so
that tests can check them against explicit loops. Each loss owns its default margin (`default_margin`,
None for a loss without one): a configuration's margin of None means "the loss's default".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

from .distances import get_distance
from .errors import ConfigError
from .sampling import all_pairs, pair_masks

if TYPE_CHECKING:
    from .config import TrainConfig


def contrastive(distance: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell, Chopra and LeCun 2006, per pair: d^2 / 2 for genuine pairs, max(0, margin - d)^2 / 2 for
    impostors. distance, same: (N,); returns (N,)."""
    return 0.5 * (same * distance.pow(2) + (1 - same) * F.relu(margin - distance).pow(2))


class ContrastiveLoss(nn.Module):
    """Contrastive loss over every pair of the batch. Genuine and impostor pairs are averaged separately
    and added, because a P x K batch holds about P times more impostor pairs than genuine ones."""

    # L2-normalised embeddings lie on the unit sphere, where Euclidean distances are at most 2.
    default_margin = 1.0

    def __init__(self, margin: float | None = None, distance: str = "euclidean"):
        super().__init__()
        self.margin = self.default_margin if margin is None else margin
        self.pairwise = get_distance(distance)[1]

    @classmethod
    def from_config(cls, config: TrainConfig, n_classes: int) -> "ContrastiveLoss":
        return cls(config.margin, config.distance)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        i, j, same = all_pairs(labels)
        d = self.pairwise(embeddings, embeddings)[i, j]
        per_pair = contrastive(d, same, self.margin)
        genuine, impostor = same.bool(), ~same.bool()
        return per_pair[genuine].mean() + per_pair[impostor].mean()


def batch_all_triplet(dist: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean of max(0, d(a,p) - d(a,n) + margin) over the triplets where it is positive (Hermans et al. 2017),
    over every valid triplet of the batch. dist: (B, B) distances; labels: (B,)."""
    genuine, impostor = pair_masks(labels)
    losses = F.relu(dist[:, :, None] - dist[:, None, :] + margin)
    losses = losses * (genuine[:, :, None] & impostor[:, None, :])
    active = (losses > 1e-16).sum()
    return losses.sum() / active.clamp_min(1)


def batch_hard_triplet(dist: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """For each anchor, its farthest positive and nearest negative (Hermans et al. 2017); mean over anchors."""
    genuine, impostor = pair_masks(labels)
    hardest_pos = torch.where(genuine, dist, torch.zeros_like(dist)).max(dim=1).values
    hardest_neg = torch.where(impostor, dist, torch.full_like(dist, float("inf"))).min(dim=1).values
    has_both = genuine.any(1) & impostor.any(1)
    return F.relu(hardest_pos - hardest_neg + margin)[has_both].mean()


def semi_hard_triplet(dist: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """FaceNet (Schroff et al. 2015): for each (anchor, positive), the nearest negative farther than the
    positive; when none is, the farthest negative. Mean of max(0, d(a,p) - d(a,n) + margin) over pairs."""
    genuine, impostor = pair_masks(labels)
    inf = torch.full_like(dist, float("inf"))
    d_an = torch.where(impostor, dist, inf)[:, None, :]            # (B, 1, B): anchor to each negative
    d_ap = dist[:, :, None]                                        # (B, B, 1): anchor to each positive
    farther = torch.where(d_an > d_ap, d_an, inf).min(dim=2).values
    farthest = torch.where(impostor, dist, -inf).max(dim=1).values[:, None].expand_as(farther)
    chosen = torch.where(torch.isfinite(farther), farther, farthest)
    return F.relu(dist - chosen + margin)[genuine].mean()


MINERS = {"batch_all": batch_all_triplet, "batch_hard": batch_hard_triplet, "semi_hard": semi_hard_triplet}


class TripletLoss(nn.Module):
    """Triplet loss with online mining inside the batch: batch_all, batch_hard or semi_hard."""

    default_margin = 0.2  # FaceNet's, on L2-normalised embeddings

    def __init__(self, margin: float | None = None, mining: str = "batch_hard", distance: str = "euclidean"):
        super().__init__()
        if mining not in MINERS:
            raise ConfigError(f"mining: unknown {mining!r}; known: {', '.join(MINERS)}")
        self.margin = self.default_margin if margin is None else margin
        self.mine = MINERS[mining]
        self.pairwise = get_distance(distance)[1]

    @classmethod
    def from_config(cls, config: TrainConfig, n_classes: int) -> "TripletLoss":
        return cls(config.margin, config.mining, config.distance)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.mine(self.pairwise(embeddings, embeddings), labels, self.margin)


class WeightedL1Head(nn.Module):
    """Koch et al.'s similarity head: p(same) = sigmoid(w . |e1 - e2| + b), one weight per component."""

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.linear = nn.Linear(embedding_dim, 1)

    def logits(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: (N, D) -> (N,) logits of p(same)."""
        return self.linear((a - b).abs()).squeeze(1)

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """1 - p(same), in [0, 1]: the learned dissimilarity used for evaluation and verification."""
        return 1 - torch.sigmoid(self.logits(a, b))


class BCELoss(nn.Module):
    """Binary cross-entropy of the weighted-L1 head over every pair of the batch, target `same`, with
    genuine pairs weighted up so both classes count equally."""

    default_margin = None  # no margin: the head learns where to put the decision

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.head = WeightedL1Head(embedding_dim)

    @classmethod
    def from_config(cls, config: TrainConfig, n_classes: int) -> "BCELoss":
        return cls(config.embedding_dim)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        i, j, same = all_pairs(labels)
        logits = self.head.logits(embeddings[i], embeddings[j])
        n_genuine = same.sum().clamp_min(1)
        pos_weight = (len(same) - n_genuine) / n_genuine
        return F.binary_cross_entropy_with_logits(logits, same, pos_weight=pos_weight)


class CosFaceLoss(nn.Module):
    """CosFace (Wang et al. 2018): softmax over the training identities on cosine similarities to one
    learned centre per identity, with the genuine class's cosine lowered by `margin` and all scaled by
    `scale`. Not a pair loss, but it trains the same embedding, and on 30 ORL identities it generalises to
    unseen people better than the pair and triplet losses (docs/BENCHMARKS.md). The centres are only
    used in training; verification compares embeddings as with every other loss."""

    name = "cosface"
    default_margin = 0.35  # Wang et al.'s

    def __init__(self, n_classes: int, embedding_dim: int, margin: float | None = None, scale: float = 30.0):
        super().__init__()
        if n_classes < 2:
            raise ConfigError(f"loss: {self.name} needs the number of training identities (at least 2)")
        self.centres = nn.Parameter(torch.randn(n_classes, embedding_dim) * 0.01)
        self.margin = self.default_margin if margin is None else margin
        self.scale = scale

    @classmethod
    def from_config(cls, config: TrainConfig, n_classes: int) -> "CosFaceLoss":
        return cls(n_classes, config.embedding_dim, config.margin)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosine = F.normalize(embeddings.float(), dim=1) @ F.normalize(self.centres, dim=1).T
        return F.cross_entropy(self.scale * self.with_margin(cosine, labels), labels)

    def with_margin(self, cosine: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The cosines to every centre with the genuine class's penalised: cos(theta) - margin."""
        return cosine - self.margin * F.one_hot(labels, cosine.shape[1])


class ArcFaceLoss(CosFaceLoss):
    """ArcFace (Deng et al. 2019): as CosFace, but the margin is an angle added to the genuine class's,
    cos(theta + margin), the same for every identity on the sphere. Where theta + margin would pass pi the
    penalty falls back to CosFace's form, so the logit keeps falling with the angle."""

    name = "arcface"
    default_margin = 0.5  # Deng et al.'s, in radians

    def with_margin(self, cosine: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The cosines with the genuine class's angle widened: cos(theta + margin)."""
        cosine = cosine.clamp(-1 + 1e-7, 1 - 1e-7)  # acos' gradient is infinite at +-1
        shifted = arcface_logit(cosine.gather(1, labels[:, None]), self.margin)
        return cosine.scatter(1, labels[:, None], shifted)


def arcface_logit(cosine: torch.Tensor, margin: float) -> torch.Tensor:
    """cos(theta + margin) for theta = acos(cosine) while theta + margin <= pi; past it, cosine minus
    margin * sin(margin), which meets it there and keeps decreasing (Deng et al.'s 'easy margin' off)."""
    threshold = math.cos(math.pi - margin)
    shifted = cosine * math.cos(margin) - torch.sqrt(1 - cosine * cosine) * math.sin(margin)
    return torch.where(cosine > threshold, shifted, cosine - math.sin(math.pi - margin) * margin)


LOSSES: dict[str, type[nn.Module]] = {
    "cosface": CosFaceLoss,
    "arcface": ArcFaceLoss,
    "triplet": TripletLoss,
    "contrastive": ContrastiveLoss,
    "bce": BCELoss,
}


def default_margin(loss: str) -> float | None:
    """The margin a loss uses when the configuration leaves it unset; None for a loss without one."""
    if loss not in LOSSES:
        raise ConfigError(f"loss: unknown {loss!r}; known: {', '.join(LOSSES)}")
    return LOSSES[loss].default_margin


def build_loss(config: TrainConfig, n_classes: int = 0) -> nn.Module:
    """The loss a configuration names; `n_classes` (training identities) is needed by cosface and arcface.
    Its parameters (the BCE head, the class centres) are saved with the model."""
    if config.loss not in LOSSES:
        raise ConfigError(f"loss: unknown {config.loss!r}; known: {', '.join(LOSSES)}")
    return LOSSES[config.loss].from_config(config, n_classes)


def pair_distance_fn(config: TrainConfig, loss: nn.Module):
    """The paired distance (N, D) x (N, D) -> (N,) that scores a trained run: the configured distance,
    or for BCE the learned head's 1 - p(same)."""
    if isinstance(loss, BCELoss):
        return loss.head.distance
    return get_distance(config.distance)[0]
