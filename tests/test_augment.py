"""siamese/augment.py: the batched affine matches torchvision's, and the Augmenter's contract."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from siamese.augment import (
    AUGMENTATIONS,
    ROTATION_DEGREES,
    SCALE_RANGE,
    SIMILARITY,
    TRANSLATE_FRACTION,
    AffineParams,
    Augmenter,
    apply_affine,
)

# (angle degrees, tx px, ty px, scale, shear_x degrees, shear_y degrees)
PARAMETER_SETS = [
    (0.0, 0.0, 0.0, 1.0, 0.0, 0.0),
    (15.0, 3.0, -2.0, 1.1, 5.0, -7.0),
    (-10.0, 0.0, 0.0, 0.8, 17.0, 0.0),
    (30.0, -4.0, 5.0, 1.2, 0.0, 10.0),
    (0.0, 2.0, 1.0, 1.0, 0.0, 0.0),
]
SHAPES = [(32, 32), (24, 40), (40, 24)]


def params(angle, tx, ty, scale, shear_x, shear_y, flip=False) -> AffineParams:
    values = (angle, tx, ty, scale, shear_x, shear_y)
    return AffineParams(*(torch.tensor([float(v)]) for v in values), flip=torch.tensor([flip]))


def image(height: int, width: int, channels: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, channels, height, width, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("values", PARAMETER_SETS)
def test_apply_affine_matches_torchvision(values, shape):
    x = image(*shape)
    angle, tx, ty, scale, shear_x, shear_y = values
    expected = TF.affine(x, angle=angle, translate=[tx, ty], scale=scale, shear=[shear_x, shear_y],
                         interpolation=TF.InterpolationMode.BILINEAR)
    assert (apply_affine(x, params(*values), padding_mode="zeros") - expected).abs().max() < 1e-4


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_flip_is_horizontal_flip_of_the_affine_result(shape):
    x = image(*shape)
    values = PARAMETER_SETS[1]
    flipped = apply_affine(x, params(*values, flip=True), padding_mode="zeros")
    assert (flipped - TF.horizontal_flip(apply_affine(x, params(*values), padding_mode="zeros"))).abs().max() < 1e-5


def test_apply_affine_warps_each_image_by_its_own_parameters():
    x = torch.cat([image(24, 40, seed=1), image(24, 40, seed=2)])
    both = AffineParams(*(torch.tensor([a, b], dtype=torch.float32) for a, b in
                          zip(PARAMETER_SETS[1], PARAMETER_SETS[3])), flip=torch.tensor([False, True]))
    out = apply_affine(x, both)
    torch.testing.assert_close(out[:1], apply_affine(x[:1], params(*PARAMETER_SETS[1])))
    torch.testing.assert_close(out[1:], apply_affine(x[1:], params(*PARAMETER_SETS[3], flip=True)))


def test_strength_zero_is_identity():
    x = torch.rand(4, 1, 16, 16)
    assert torch.equal(Augmenter(strength=0.0)(x), x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_keeps_shape_dtype_and_range(dtype):
    x = torch.rand(6, 3, 20, 28, dtype=dtype)
    out = Augmenter(strength=2.0, seed=1)(x)
    assert out.shape == x.shape and out.dtype == dtype
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)


def test_seeded_reproducibility():
    x = torch.rand(5, 1, 16, 16)
    assert torch.equal(Augmenter(seed=3)(x), Augmenter(seed=3)(x))
    assert not torch.equal(Augmenter(seed=3)(x), Augmenter(seed=4)(x))


def test_resuming_from_a_saved_state_repeats_the_draws():
    x = torch.rand(5, 1, 16, 16)
    augmenter = Augmenter(seed=3)
    state = augmenter.state()
    first = augmenter(x)
    augmenter.set_state(state)
    assert torch.equal(augmenter(x), first)


def test_each_image_of_a_batch_gets_its_own_parameters():
    x = image(20, 20, channels=1).expand(8, -1, -1, -1).contiguous()
    out = Augmenter(seed=0)(x)
    for i in range(8):
        for j in range(i + 1, 8):
            assert (out[i] - out[j]).abs().max() > 1e-3


def test_parameters_stay_within_koch_ranges_scaled_by_strength():
    strength, width, height = 0.5, 40, 20
    p = Augmenter(strength=strength, seed=0).params(2000, height, width)
    assert p.angle.abs().max() <= ROTATION_DEGREES * strength
    assert (p.scale - 1).abs().max() <= SCALE_RANGE * strength + 1e-6
    assert torch.equal(p.tx, p.tx.round()) and p.tx.abs().max() <= round(TRANSLATE_FRACTION * strength * width)
    assert 0.4 < p.flip.float().mean() < 0.6
    assert p.angle.std() > 0.5 * ROTATION_DEGREES * strength / 3 ** 0.5


def test_the_similarity_preset_never_shears():
    params = Augmenter(1.0, seed=0, ranges=SIMILARITY).params(500, 64, 64)
    assert params.shear_x.abs().max() == 0 and params.shear_y.abs().max() == 0
    assert params.angle.abs().max() <= 8 and (params.scale - 1).abs().max() <= 0.1
    assert set(AUGMENTATIONS) == {"koch", "similarity"}


def test_grey_fraction_makes_that_share_of_colour_images_grey_by_their_luminance():
    from siamese.augment import luminance

    x = torch.rand(400, 3, 8, 8)
    out = Augmenter(strength=1.0, seed=0, ranges=SIMILARITY, grey_fraction=0.5)(x)
    grey = (out[:, 0] == out[:, 1]).all(dim=(1, 2)) & (out[:, 1] == out[:, 2]).all(dim=(1, 2))
    assert 0.42 < grey.float().mean() < 0.58
    everything = Augmenter(strength=1.0, seed=0, ranges=SIMILARITY, grey_fraction=1.0)
    colour = Augmenter(strength=1.0, seed=0, ranges=SIMILARITY)
    torch.testing.assert_close(everything(x), luminance(colour(x)).expand_as(x))  # the same draws, then grey


def test_grey_fraction_leaves_grey_input_and_the_colour_stream_alone():
    x = torch.rand(6, 1, 8, 8)
    torch.testing.assert_close(Augmenter(seed=3, grey_fraction=0.9)(x), Augmenter(seed=3)(x))
    rgb = torch.rand(6, 3, 8, 8)
    torch.testing.assert_close(Augmenter(seed=3, grey_fraction=0.0)(rgb), Augmenter(seed=3)(rgb))


def reference_augment(x: torch.Tensor, ranges, grey_fraction: float, seed: int) -> torch.Tensor:
    """The slow, obvious path: image by image, parameters from Python's `random` in the documented ranges,
    torchvision's affine, flip and BT.601 grey, brightness and contrast as the module states them."""
    import random

    from siamese.augment import luminance

    rng, out = random.Random(seed), []
    height, width = x.shape[2], x.shape[3]
    for image in x:
        image = TF.affine(image, angle=rng.uniform(-ranges.rotation, ranges.rotation),
                          translate=[round(rng.uniform(-1, 1) * ranges.translate * width),
                                     round(rng.uniform(-1, 1) * ranges.translate * height)],
                          scale=rng.uniform(1 - ranges.scale, 1 + ranges.scale), shear=[0.0, 0.0],
                          interpolation=TF.InterpolationMode.BILINEAR)
        if rng.random() < 0.5:
            image = TF.horizontal_flip(image)
        image = (image * rng.uniform(1 - ranges.brightness, 1 + ranges.brightness)).clamp(0, 1)
        image = ((image - image.mean()) * rng.uniform(1 - ranges.contrast, 1 + ranges.contrast) + image.mean()).clamp(0, 1)
        if image.shape[0] == 3 and rng.random() < grey_fraction:
            image = luminance(image[None])[0].expand(3, -1, -1)
        out.append(image)
    return torch.stack(out)


def blob_geometry(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per image of a bright elongated blob on black: its orientation (degrees, from the second moments),
    its size (the root of the moments' trace, pixels) and its centre's horizontal offset (pixels)."""
    w = x[:, 0]
    ys, xs = torch.meshgrid(torch.arange(w.shape[1], dtype=w.dtype), torch.arange(w.shape[2], dtype=w.dtype),
                            indexing="ij")
    mass = w.sum(dim=(1, 2))
    cx, cy = (w * xs).sum(dim=(1, 2)) / mass, (w * ys).sum(dim=(1, 2)) / mass
    dx, dy = xs - cx[:, None, None], ys - cy[:, None, None]
    m20, m02, m11 = ((w * dx * dx).sum(dim=(1, 2)) / mass, (w * dy * dy).sum(dim=(1, 2)) / mass,
                     (w * dx * dy).sum(dim=(1, 2)) / mass)
    angle = torch.rad2deg(0.5 * torch.atan2(2 * m11, m20 - m02))
    return angle, (m20 + m02).sqrt(), cx - (w.shape[2] - 1) / 2


def test_the_batched_geometry_agrees_in_distribution_with_torchvision_image_by_image():
    """Rotation, scale and shift of the batched path (the one a GPU runs, here on the CPU tensors) against
    the reference path, read back from the images themselves: a horizontal Gaussian blob's orientation,
    size and centre."""
    from siamese.augment import Ranges

    ranges = Ranges(rotation=8.0, shear=0.0, scale=0.1, translate=0.05, brightness=0.0, contrast=0.0)
    ys, xs = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    blob = torch.exp(-((xs - 23.5) / 9) ** 2 - ((ys - 23.5) / 3) ** 2)[None, None].expand(800, 1, -1, -1)
    ours = blob_geometry(Augmenter(1.0, seed=0, ranges=ranges, device="cpu")(blob.contiguous()))
    reference = blob_geometry(reference_augment(blob, ranges, 0.0, seed=0))
    for name, a, b, half_width in zip(("angle", "size", "shift"), ours, reference, (8.0, None, 0.05 * 48)):
        assert abs(a.std() - b.std()) < 0.1 * b.std(), (name, a.std(), b.std())
        assert abs(a.mean() - b.mean()) < 0.1 * b.std() + 1e-3, (name, a.mean(), b.mean())
        if half_width:
            assert a.abs().max() <= half_width + 0.5 and b.abs().max() <= half_width + 0.5
    size = blob_geometry(blob[:1])[1]
    assert 0.88 < ours[1].min() / size < 0.92 and 1.08 < ours[1].max() / size < 1.12  # scale 0.9-1.1


def test_the_batched_photometry_flips_and_grey_agree_in_distribution_with_the_reference():
    """Brightness, contrast, flips and the grey fraction, with no geometry: per-image means and spreads,
    the share of mirrored images and of grey ones."""
    from siamese.augment import Ranges

    ranges = Ranges(rotation=0.0, shear=0.0, scale=0.0, translate=0.0, brightness=0.2, contrast=0.2)
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 16, 16, generator=g) * 0.5 + 0.2
    image[:, :, :, :8] *= 0.5  # the left half darker: a mirrored image is brighter on the left
    x = image.expand(1000, -1, -1, -1).contiguous()
    ours = Augmenter(1.0, seed=1, ranges=ranges, grey_fraction=0.3, device="cpu")(x)
    reference = reference_augment(x, ranges, 0.3, seed=1)

    def summary(out: torch.Tensor) -> dict:
        grey = (out[:, 0] == out[:, 1]).all(dim=(1, 2)) & (out[:, 1] == out[:, 2]).all(dim=(1, 2))
        mirrored = out[..., :8].mean(dim=(1, 2, 3)) > out[..., 8:].mean(dim=(1, 2, 3))
        means, spreads = out.mean(dim=(1, 2, 3)), out.std(dim=(1, 2, 3))
        return {"grey": grey.float().mean(), "mirrored": mirrored.float().mean(), "mean": means.mean(),
                "mean_spread": means.std(), "contrast": spreads.mean(), "contrast_spread": spreads.std()}

    a, b = summary(ours), summary(reference)
    assert abs(a["grey"] - 0.3) < 0.05 and abs(b["grey"] - 0.3) < 0.05
    assert abs(a["mirrored"] - 0.5) < 0.05 and abs(b["mirrored"] - 0.5) < 0.05
    for key in ("mean", "mean_spread", "contrast", "contrast_spread"):
        assert abs(a[key] - b[key]) < 0.08 * b[key], (key, a[key], b[key])
