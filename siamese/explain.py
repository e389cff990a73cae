"""Why a pair was decided as it was: where two faces agree and where they differ.

Two methods, both on the faces exactly as the run's model receives them (its face pipeline and its input
scaling):

- decomposition (Stylianou, Souvenir and Pless, "Visualizing Deep Similarity Networks", WACV 2019), for
  networks whose embedding is an affine function of their last feature map (global average or depthwise
  pooling, then linear layers and batch norm, as `face_resnet` and `compact`) and whose decision is a
  function of the cosine of the two embeddings (unit-length embeddings and the euclidean distance, or the
  cosine distance). The embedding is then a sum of one vector per location of the map (the bias shared
  out equally), so the similarity of two faces is a sum over pairs of locations: cell (p, q) is how much
  location p of the first face and location q of the second agree. The cells add up to the similarity the
  decision used; each face's map is its locations' sums, and so adds up to it too. With `flip_average`,
  the mirror image's locations are added at their mirrored places.
- occlusion, for any network (Koch's, the tutorial's): each patch of a face covered with grey in turn, and
  the change in distance it makes, in distance units; a patch whose cover moves the pair across the
  threshold is marked.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from .decisions import Rule
from .models import to_input
from .runs.trained import TrainedModel

METHODS = ("auto", "decomposition", "occlusion")
OCCLUSION_GRID = 8  # patches a side


@dataclass
class Explanation:
    """Where two faces (A, B) agree and differ: `map_a` and `map_b` (h, w) over each face, in `units`."""

    method: str                  # 'decomposition' or 'occlusion'
    distance: float              # the pair's distance, as the decision used it
    similarity: float | None     # the cosine of the embeddings (decomposition), which the maps add up to
    map_a: np.ndarray            # decomposition: each location's share of the similarity (signed);
    map_b: np.ndarray            # occlusion: the change in distance when the patch is covered
    units: str                   # what the maps are in, for people
    matches: list[tuple[tuple[int, int], tuple[int, int], float]] = field(default_factory=list)
    crosses_a: np.ndarray | None = None  # occlusion: patches whose cover moves the pair across the threshold
    crosses_b: np.ndarray | None = None
    note: str = ""               # why the method is not the one asked for, or what to know

    @property
    def map_sum(self) -> float | None:
        """What each face's map adds up to: the similarity (decomposition); None for occlusion."""
        return float(self.map_a.sum()) if self.method == "decomposition" else None

    def summary(self, rule: Rule | None = None) -> dict:
        """Plain data for JSON: the figures, the strongest matches and the sums, and the decision by `rule`."""
        out = {"method": self.method, "distance": self.distance, "similarity": self.similarity,
               "map_sum_a": self.map_sum, "map_sum_b": float(self.map_b.sum()) if self.map_sum is not None else None,
               "map_shape": list(self.map_a.shape), "units": self.units, "note": self.note,
               "matches": [{"a": list(a), "b": list(b), "share": v} for a, b, v in self.matches]}
        if rule is not None:
            out.update(threshold=rule.threshold, same=rule.accepts(self.distance))
        if self.crosses_a is not None:
            out["patches_that_cross"] = {"a": int(self.crosses_a.sum()), "b": int(self.crosses_b.sum())}
        return out


def explain_pair(trained: TrainedModel, a: torch.Tensor, b: torch.Tensor, rule: Rule | None = None,
                 method: str = "auto", embeddings: tuple[torch.Tensor, torch.Tensor] | None = None) -> Explanation:
    """Explain the distance between two faces, (1, C, H, W) uint8 each at the run's input size and colour,
    as decided by `rule`; `embeddings`, (1, D) each, are the decision's own (embedded here when not given).
    'auto' decomposes when the network allows it, else covers patches; asking for the decomposition of a
    network that does not allow it gives occlusion, with a note saying why."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    embeddings = embeddings or (trained.embed(a), trained.embed(b))
    why_not = decomposition_problem(trained)
    if method == "occlusion" or why_not:
        note = f"{why_not}: shown by occlusion instead" if why_not and method == "decomposition" else ""
        return occlusion(trained, a, b, rule, note=note if why_not else "", embeddings=embeddings)
    return decomposition(trained, a, b, embeddings=embeddings)


def decomposition_problem(trained: TrainedModel) -> str | None:
    """Why the similarity of this run's model cannot be decomposed over its feature maps, or None."""
    config = trained.config
    if config.loss == "bce":
        return "the run decides with a learned head (BCE over weighted L1), not the cosine of its embeddings"
    if not (config.distance == "cosine" or (config.distance == "euclidean" and config.normalize)):
        return f"the run's {config.distance} distance on embeddings that are not unit length is not a function " \
               "of their cosine"
    split = _split(trained.model.backbone, config)
    if split is None:
        return f"the {config.model} network's embedding is not an affine function of its last feature map"
    return None


# Whether a loaded network decomposes depends on its layers alone: found once per network.
_SPLITS: "weakref.WeakKeyDictionary[nn.Module, int | None]" = weakref.WeakKeyDictionary()


def _split(backbone: nn.Module, config) -> int | None:
    """The index after which `backbone` (a Sequential) is an affine head over its last feature map with
    more than one location, or None when it has no such head."""
    if backbone not in _SPLITS:
        _SPLITS[backbone] = _find_split(backbone, config)
    return _SPLITS[backbone]


def _find_split(backbone: nn.Module, config) -> int | None:
    if not isinstance(backbone, nn.Sequential):
        return None
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(1, config.in_channels, config.input_size, config.input_size)
            last = None
            for k, module in enumerate(backbone):
                x = module(x)
                if x.dim() == 4 and x.shape[2] * x.shape[3] > 1:
                    last = k
            if last is None or last == len(backbone) - 1:
                return None
            head = backbone[last + 1:]
            shape = backbone[:last + 1](torch.zeros(1, config.in_channels, config.input_size, config.input_size)).shape
            generator = torch.Generator().manual_seed(0)
            f1, f2 = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
            zero = head(torch.zeros(shape))
            gap = head(f1 + f2) - head(f1) - head(f2) + zero  # zero for an affine head
            return last if float(gap.abs().max()) <= 1e-4 * (1 + float(head(f1).abs().max())) else None
    finally:
        backbone.train(was_training)


@torch.no_grad()
def _location_vectors(trained: TrainedModel, image: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """The unit-length embedding of a face as one vector per location of the last feature map, (P, D),
    the shared bias spread equally over them, adding up exactly to the embedding the decisions use; and
    the map's (h, w)."""
    model, config = trained.model, trained.config
    backbone = model.backbone
    last = _split(backbone, config)
    body, head = backbone[:last + 1], backbone[last + 1:]
    model.eval()

    def parts(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(one vector per location (P, D), the head's bias head(0) (D,), their sum: the embedding)."""
        features = body(to_input(x, trained.device))                       # (1, C, h, w)
        _, c, h, w = features.shape
        masks = torch.eye(h * w, device=features.device).view(h * w, 1, h, w)
        zero = head(torch.zeros_like(features))                            # the bias: head(0)
        vectors = head(features * masks) - zero                            # (P, D): one location each
        return vectors.float().cpu(), zero[0].float().cpu(), (vectors.sum(0) + zero[0]).float().cpu()

    vectors, bias, whole = parts(image)
    h = w = int(math.isqrt(len(vectors)))
    # Each pass of the embedding is scaled to unit length when the model normalises its outputs.
    scale = whole.norm() if config.normalize else torch.tensor(1.0)
    total, shared = vectors / scale, bias / scale
    if config.flip_average:
        flipped, flipped_bias, flipped_whole = parts(image.flip(3))
        flipped_scale = flipped_whole.norm() if config.normalize else torch.tensor(1.0)
        mirror = torch.arange(h * w).view(h, w).flip(1).reshape(-1)  # location (i, j) of the mirror is (i, w-1-j)
        total = total + (flipped / flipped_scale)[mirror]
        shared = shared + flipped_bias / flipped_scale
    total = total + shared / len(total)
    return total / total.sum(0).norm(), (h, w)  # the cosine is of unit-length embeddings, as the decision's


def decomposition(trained: TrainedModel, a: torch.Tensor, b: torch.Tensor, top: int = 5,
                  embeddings: tuple[torch.Tensor, torch.Tensor] | None = None) -> Explanation:
    """The similarity of two faces decomposed over pairs of locations (see the module); the distance is
    that of `embeddings` (the decision's), embedded here when not given."""
    va, shape = _location_vectors(trained, a)
    vb, _ = _location_vectors(trained, b)
    cells = (va @ vb.T).double().numpy()                                  # (P, P), adds up to the cosine
    similarity = float(cells.sum())
    distance = float(trained.distance(*(embeddings or (trained.embed(a), trained.embed(b))))[0])
    order = np.argsort(cells, axis=None)[::-1][:top]
    w = shape[1]
    matches = [((int(i // cells.shape[1]) // w, int(i // cells.shape[1]) % w),
                (int(i % cells.shape[1]) // w, int(i % cells.shape[1]) % w), float(cells.flat[i])) for i in order]
    return Explanation("decomposition", distance, similarity, cells.sum(1).reshape(shape), cells.sum(0).reshape(shape),
                       "share of the similarity", matches)


@torch.no_grad()
def occlusion(trained: TrainedModel, a: torch.Tensor, b: torch.Tensor, rule: Rule | None = None,
              grid: int = OCCLUSION_GRID, note: str = "",
              embeddings: tuple[torch.Tensor, torch.Tensor] | None = None) -> Explanation:
    """The change in distance when each of grid x grid patches of one face is covered with grey, the other
    face as it is (as `embeddings`, the decision's, or embedded here); patches whose cover moves the pair
    across `rule`'s threshold are marked."""
    base_a, base_b = embeddings or (trained.embed(a), trained.embed(b))
    distance = float(trained.distance(base_a, base_b)[0])

    def deltas(face: torch.Tensor, other: torch.Tensor) -> np.ndarray:
        covered = face.repeat(grid * grid, 1, 1, 1)
        side = face.shape[-1] / grid
        for k in range(grid * grid):
            i, j = divmod(k, grid)
            covered[k, :, round(i * side):round((i + 1) * side), round(j * side):round((j + 1) * side)] = 128
        moved = trained.distance(trained.embed(covered), other.expand(grid * grid, -1))
        return (moved.double().numpy() - distance).reshape(grid, grid)

    map_a, map_b = deltas(a, base_b), deltas(b, base_a)
    crosses = (lambda m: rule.accepts(distance) != rule.accepts(distance + m)) if rule else None
    return Explanation("occlusion", distance, None, map_a, map_b, "change in distance when covered", [],
                       crosses(map_a) if crosses else None, crosses(map_b) if crosses else None, note)


def overlay(face: np.ndarray, values: np.ndarray, limit: float) -> np.ndarray:
    """A face (H, W, 3) uint8 with `values` (h, w) over it: red where they are positive, blue where
    negative, as strong as |value| / limit. Returns (H, W, 3) uint8."""
    height, width = face.shape[:2]
    grid = torch.from_numpy(np.asarray(values, dtype=np.float32))[None, None]
    up = F.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()
    # The square root lifts middling values into view; the strongest cover the face by three quarters.
    strength = np.sqrt(np.clip(np.abs(up) / max(limit, 1e-12), 0, 1))[..., None] * 0.75
    colour = np.where(up[..., None] >= 0, np.array([220, 40, 40]), np.array([40, 90, 220]))
    return (face * (1 - strength) + colour * strength).astype(np.uint8)


def picture(explanation: Explanation, a: torch.Tensor, b: torch.Tensor, rule: Rule | None = None,
            side: int = 256) -> Image.Image:
    """The two faces side by side with their maps over them (red: where they agree, or where covering the
    face moves the pair apart; blue: the opposite), the strongest matches joined by lines, patches whose
    cover crosses the threshold outlined, and the figures below: an RGB PIL image."""
    from PIL import ImageDraw

    limit = max(np.abs(explanation.map_a).max(), np.abs(explanation.map_b).max(), 1e-12)
    faces = []
    for image, values in ((a, explanation.map_a), (b, explanation.map_b)):
        pixels = image[0].permute(1, 2, 0).numpy()
        pixels = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels
        big = np.asarray(Image.fromarray(pixels).resize((side, side), Image.Resampling.BILINEAR))
        faces.append(Image.fromarray(overlay(big, values, limit)))
    gap, text_height = 48, 64
    canvas = Image.new("RGB", (2 * side + gap, side + text_height), (255, 255, 255))
    canvas.paste(faces[0], (0, 0))
    canvas.paste(faces[1], (side + gap, 0))
    draw = ImageDraw.Draw(canvas)
    h, w = explanation.map_a.shape
    cell = side / w

    def centre(location, offset):
        return offset + (location[1] + 0.5) * cell, (location[0] + 0.5) * cell

    strongest = max((v for _, _, v in explanation.matches), default=1.0) or 1.0
    for left, right, value in explanation.matches:
        draw.line([centre(left, 0), centre(right, side + gap)], fill=(250, 200, 0),
                  width=max(1, round(4 * max(value, 0) / strongest)))
    for crosses, offset in ((explanation.crosses_a, 0), (explanation.crosses_b, side + gap)):
        for i, j in zip(*np.nonzero(crosses)) if crosses is not None else ():
            draw.rectangle([offset + j * cell, i * cell, offset + (j + 1) * cell - 1, (i + 1) * cell - 1],
                           outline=(250, 200, 0), width=2)
    verdict = "" if rule is None else (f" <= {rule.threshold:.4f}: same person" if rule.accepts(explanation.distance)
                                       else f" > {rule.threshold:.4f}: different people")
    lines = [f"distance {explanation.distance:.4f}{verdict}",
             (f"{explanation.method}: the maps add up to the similarity {explanation.similarity:.4f} (red: agree, "
              "blue: differ)") if explanation.method == "decomposition" else
             "occlusion: red, covering the patch moves the pair apart; outlined, it crosses the threshold"]
    for k, line in enumerate(lines):
        draw.text((4, side + 8 + 24 * k), line, fill=(20, 20, 20))
    return canvas
