"""siamese/losses.py against slow, obvious references written as loops over the batch."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from siamese.config import TrainConfig
from siamese.errors import ConfigError
from siamese.losses import (
    LOSSES,
    MINERS,
    ArcFaceLoss,
    BCELoss,
    ContrastiveLoss,
    CosFaceLoss,
    TripletLoss,
    arcface_logit,
    build_loss,
    contrastive,
)

LAYOUTS = {
    "p4_k3": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
    "uneven_k": [0, 0, 1, 1, 1, 1, 2, 2, 2],
    "single_image_label": [0, 0, 0, 1, 1, 2, 3, 3],
    "interleaved": [2, 0, 1, 0, 2, 1, 1, 0, 2],
}
DISTANCES = ("euclidean", "cosine", "l1")


def ref_distance(a: list[float], b: list[float], name: str) -> float:
    if name == "euclidean":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    if name == "cosine":
        dot = sum(x * y for x, y in zip(a, b))
        return 1 - dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
    return sum(abs(x - y) for x, y in zip(a, b))


def batch(layout: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[list[float]], list[int]]:
    """Unit-length random embeddings (B, 8) and labels (B,), and the same as Python lists."""
    labels = LAYOUTS[layout]
    g = torch.Generator().manual_seed(seed + len(labels))
    e = F.normalize(torch.randn(len(labels), 8, generator=g), dim=1)
    return e, torch.tensor(labels), e.double().tolist(), labels


def distance_matrix(e: list[list[float]], name: str) -> list[list[float]]:
    return [[ref_distance(a, b, name) for b in e] for a in e]


def median_distance(d: list[list[float]]) -> float:
    values = sorted(d[i][j] for i in range(len(d)) for j in range(i + 1, len(d)))
    return values[len(values) // 2]


def ref_contrastive(d, labels, margin):
    genuine, impostor = [], []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if labels[i] == labels[j]:
                genuine.append(d[i][j] ** 2 / 2)
            else:
                impostor.append(max(0.0, margin - d[i][j]) ** 2 / 2)
    return sum(genuine) / len(genuine) + sum(impostor) / len(impostor)


def ref_batch_all(d, labels, margin):
    active = []
    for a in range(len(labels)):
        for p in range(len(labels)):
            for n in range(len(labels)):
                if p != a and labels[p] == labels[a] and labels[n] != labels[a]:
                    loss = max(0.0, d[a][p] - d[a][n] + margin)
                    if loss > 0:
                        active.append(loss)
    return sum(active) / len(active) if active else 0.0


def ref_batch_hard(d, labels, margin):
    losses = []
    for a in range(len(labels)):
        positives = [d[a][p] for p in range(len(labels)) if p != a and labels[p] == labels[a]]
        negatives = [d[a][n] for n in range(len(labels)) if labels[n] != labels[a]]
        if positives and negatives:
            losses.append(max(0.0, max(positives) - min(negatives) + margin))
    return sum(losses) / len(losses)


def ref_semi_hard(d, labels, margin):
    losses = []
    for a in range(len(labels)):
        negatives = [d[a][n] for n in range(len(labels)) if labels[n] != labels[a]]
        for p in range(len(labels)):
            if p != a and labels[p] == labels[a]:
                farther = [x for x in negatives if x > d[a][p]]
                chosen = min(farther) if farther else max(negatives)
                losses.append(max(0.0, d[a][p] - chosen + margin))
    return sum(losses) / len(losses)


REFERENCE_MINERS = {"batch_all": ref_batch_all, "batch_hard": ref_batch_hard, "semi_hard": ref_semi_hard}


def close(value: torch.Tensor, expected: float) -> bool:
    return math.isclose(value.item(), expected, rel_tol=1e-4, abs_tol=1e-5)


def test_label_convention_same_1_is_genuine():
    margin = 0.7
    d = torch.zeros(2)
    same = torch.tensor([1.0, 0.0])
    assert contrastive(d, same, margin).tolist() == pytest.approx([0.0, margin ** 2 / 2])


def test_contrastive_per_pair_formula():
    d = torch.tensor([0.3, 0.3, 1.2, 0.9])
    same = torch.tensor([1.0, 0.0, 0.0, 1.0])
    expected = [0.3 ** 2 / 2, (1 - 0.3) ** 2 / 2, 0.0, 0.9 ** 2 / 2]
    assert contrastive(d, same, margin=1.0).tolist() == pytest.approx(expected)


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_contrastive_loss_matches_loop(layout, distance):
    e, labels, e_list, label_list = batch(layout)
    d = distance_matrix(e_list, distance)
    margin = median_distance(d)  # so some impostors are inside the margin and some outside
    assert close(ContrastiveLoss(margin, distance)(e, labels), ref_contrastive(d, label_list, margin))


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mining", sorted(MINERS))
def test_triplet_loss_matches_loop(mining, layout, distance):
    e, labels, e_list, label_list = batch(layout)
    d = distance_matrix(e_list, distance)
    margin = 0.5 * median_distance(d)
    expected = REFERENCE_MINERS[mining](d, label_list, margin)
    assert expected > 0
    assert close(TripletLoss(margin, mining, distance)(e, labels), expected)


def test_batch_all_is_zero_when_every_triplet_is_satisfied():
    e = torch.tensor([[0.0, 0.0], [0.0, 0.1], [5.0, 0.0], [5.0, 0.1]])
    assert TripletLoss(0.2, "batch_all")(e, torch.tensor([0, 0, 1, 1])).item() == 0.0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_bce_matches_loop_with_balancing_pos_weight(layout):
    e, labels, e_list, label_list = batch(layout)
    torch.manual_seed(0)
    loss = BCELoss(embedding_dim=8)
    w, b = loss.head.linear.weight[0].tolist(), loss.head.linear.bias.item()
    pairs = [(i, j) for i in range(len(label_list)) for j in range(i + 1, len(label_list))]
    n_genuine = sum(label_list[i] == label_list[j] for i, j in pairs)
    pos_weight = (len(pairs) - n_genuine) / n_genuine  # genuine pairs count as much as impostor pairs
    total = 0.0
    for i, j in pairs:
        logit = b + sum(wk * abs(x - y) for wk, x, y in zip(w, e_list[i], e_list[j]))
        p_same = 1 / (1 + math.exp(-logit))
        same = float(label_list[i] == label_list[j])
        total -= pos_weight * same * math.log(p_same) + (1 - same) * math.log(1 - p_same)
    assert close(loss(e, labels), total / len(pairs))


def test_bce_head_distance_is_one_minus_p_same():
    torch.manual_seed(0)
    head = BCELoss(4).head
    a, b = torch.randn(5, 4), torch.randn(5, 4)
    expected = 1 - torch.sigmoid(head.linear((a - b).abs()).squeeze(1))
    torch.testing.assert_close(head.distance(a, b), expected)
    assert ((head.distance(a, b) >= 0) & (head.distance(a, b) <= 1)).all()


LOSS_MODULES = [("contrastive", lambda d: ContrastiveLoss(1.0, d))] + [
    (m, lambda d, m=m: TripletLoss(0.2, m, d)) for m in sorted(MINERS)]


@pytest.mark.parametrize("distance", DISTANCES)
@pytest.mark.parametrize("name,make", LOSS_MODULES, ids=[n for n, _ in LOSS_MODULES])
def test_gradient_is_finite_where_embeddings_coincide(name, make, distance):
    base = F.normalize(torch.randn(3, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    # A genuine pair at distance 0 (rows 0, 1) and an impostor pair at distance 0 (rows 0, 4).
    e = torch.stack([base[0], base[0], base[1], base[1], base[0], base[2]]).requires_grad_()
    loss = make(distance)(e, torch.tensor([0, 0, 1, 1, 2, 2]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(e.grad).all()
    assert e.grad.abs().sum() > 0


def test_unknown_mining_raises_config_error_listing_the_known():
    with pytest.raises(ConfigError, match="mining") as info:
        TripletLoss(0.2, mining="hardest")
    assert all(name in str(info.value) for name in MINERS)


def test_unknown_loss_raises_config_error_listing_the_known():
    config = TrainConfig()
    config.loss = "sphereface"  # past validation, as a hand-edited run might be
    with pytest.raises(ConfigError, match="loss") as info:
        build_loss(config)
    assert all(name in str(info.value) for name in LOSSES)


@pytest.mark.parametrize("loss,kind", [("contrastive", ContrastiveLoss), ("triplet", TripletLoss),
                                       ("bce", BCELoss)])
def test_build_loss_uses_the_config(loss, kind):
    config = TrainConfig(loss=loss, distance="l1", mining="semi_hard", embedding_dim=16, margin=0.3)
    built = build_loss(config)
    assert isinstance(built, kind)
    if kind is BCELoss:
        assert built.head.linear.in_features == 16
    else:
        assert built.margin == config.margin == 0.3
        assert build_loss(TrainConfig(loss=loss)).margin == kind.default_margin


def cosface_reference(embeddings, labels, centres, margin, scale):
    """Per sample: -log softmax of scale * (cos to each centre, minus margin at the true class)."""
    total = 0.0
    for e, y in zip(embeddings.tolist(), labels.tolist()):
        logits = []
        for c, centre in enumerate(centres.tolist()):
            cos = sum(a * b for a, b in zip(e, centre)) / (math.sqrt(sum(a * a for a in e)) *
                                                            math.sqrt(sum(b * b for b in centre)))
            logits.append(scale * (cos - (margin if c == y else 0.0)))
        top = max(logits)
        log_sum = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_sum - logits[y]
    return total / len(labels)


def test_cosface_matches_a_loop_reference():
    torch.manual_seed(3)
    embeddings, labels = torch.randn(10, 6), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 3, 1])
    loss = CosFaceLoss(4, 6, margin=0.35, scale=30.0)
    with torch.no_grad():
        loss.centres.copy_(torch.randn(4, 6))
    expected = cosface_reference(embeddings, labels, loss.centres.detach(), 0.35, 30.0)
    assert loss(embeddings, labels).item() == pytest.approx(expected, rel=1e-5)


def test_cosface_margin_penalises_the_true_class():
    embeddings, labels = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    no_margin, margin = CosFaceLoss(2, 2, margin=0.0), CosFaceLoss(2, 2, margin=0.5)
    with torch.no_grad():
        for loss in (no_margin, margin):
            loss.centres.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert margin(embeddings, labels) > no_margin(embeddings, labels)


def test_cosface_needs_the_number_of_identities():
    with pytest.raises(ConfigError, match="cosface"):
        build_loss(TrainConfig(loss="cosface"))
    assert isinstance(build_loss(TrainConfig(loss="cosface"), 5), CosFaceLoss)


def arcface_reference(embeddings, labels, centres, margin, scale):
    """Per sample: -log softmax of scale * (cos of each angle, the true class's angle plus the margin, or,
    past pi, cos minus margin * sin(margin))."""
    total = 0.0
    for e, y in zip(embeddings.tolist(), labels.tolist()):
        logits = []
        for c, centre in enumerate(centres.tolist()):
            cos = sum(a * b for a, b in zip(e, centre)) / (math.sqrt(sum(a * a for a in e)) *
                                                            math.sqrt(sum(b * b for b in centre)))
            if c == y:
                theta = math.acos(max(-1.0, min(1.0, cos)))
                cos = math.cos(theta + margin) if theta + margin <= math.pi else cos - math.sin(math.pi - margin) * margin
            logits.append(scale * cos)
        top = max(logits)
        total += top + math.log(sum(math.exp(v - top) for v in logits)) - logits[y]
    return total / len(labels)


def test_arcface_matches_a_loop_reference():
    torch.manual_seed(4)
    embeddings, labels = torch.randn(12, 5), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
    loss = ArcFaceLoss(4, 5, margin=0.5, scale=30.0)
    with torch.no_grad():
        loss.centres.copy_(torch.randn(4, 5))
        loss.centres[3] = -embeddings[3]  # an angle near pi: the fallback branch
    expected = arcface_reference(embeddings, labels, loss.centres.detach(), 0.5, 30.0)
    assert loss(embeddings, labels).item() == pytest.approx(expected, rel=1e-4)


def test_arcface_logit_falls_with_the_angle_everywhere():
    cosine = torch.linspace(-1 + 1e-6, 1 - 1e-6, 2001)
    logit = arcface_logit(cosine, 0.5)
    assert (logit.diff() > 0).all()  # a smaller angle (larger cosine) always scores higher
    assert (logit < cosine).all()    # and the margin always penalises the true class
