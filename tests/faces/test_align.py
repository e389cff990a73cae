"""siamese/faces/align.py: faces land on the template; box crops are square with their eyes level."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from siamese.faces.align import ALIGNED_SIZE, TEMPLATE, align_face, crop_face
from siamese.faces.detect import LANDMARKS, Face


def marked_photo(points: np.ndarray, size=(400, 300)) -> Image.Image:
    """A grey photo with a white dot at each landmark."""
    photo = Image.new("RGB", size, (60, 60, 60))
    draw = ImageDraw.Draw(photo)
    for x, y in points:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(255, 255, 255))
    return photo


def test_the_landmarks_land_on_the_template_whatever_the_pose():
    angle = np.deg2rad(25)  # a tilted head, twice the template's size, somewhere in the photo
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (TEMPLATE - 56) @ rotation.T * 2 + [200, 150]
    face = Face((100, 50, 200, 200), 1.0, {name: tuple(p) for name, p in zip(LANDMARKS, points)})
    crop = np.asarray(align_face(marked_photo(points), face).convert("L"), dtype=float)
    assert crop.shape == (ALIGNED_SIZE, ALIGNED_SIZE)
    for x, y in TEMPLATE:
        assert crop[int(round(y)), int(round(x))] > 200, (x, y)
    assert crop[20, 56] < 100  # the forehead is not a dot


def test_crop_is_square_with_margin_and_levels_the_eyes():
    image = Image.new("RGB", (200, 200), (0, 0, 0))
    level = Face((50, 50, 100, 100), 1.0, {"left_eye": (80, 90), "right_eye": (120, 90)})
    crop = crop_face(image, level, margin=0.2)
    assert crop.size == (140, 140)


def test_a_tight_crop_is_framed_by_its_mean_colour_not_by_streaks_of_its_border():
    points = (TEMPLATE - 56) * 1.0 + [40, 40]  # the face fills a 80 x 80 photo: the template reaches outside it
    photo = np.zeros((80, 80, 3), np.uint8)
    photo[:, :, 0] = np.arange(80, dtype=np.uint8)[None, :] * 3  # red rises left to right, so a smear shows
    face = Face((0, 0, 80, 80), 1.0, {name: tuple(p) for name, p in zip(LANDMARKS, points)})
    crop = np.asarray(align_face(Image.fromarray(photo), face), dtype=float)
    mean = photo.reshape(-1, 3).mean(axis=0)
    outside = np.r_[crop[:, :10].reshape(-1, 3), crop[:, -10:].reshape(-1, 3)]  # 16 px beyond each side
    assert np.abs(outside - mean).max() < 1.0  # one flat colour, not the border's columns repeated


def test_a_box_crop_of_a_tilted_face_has_no_black_corners():
    photo = Image.new("RGB", (92, 112), (150, 150, 150))  # a tight grey crop (ORL's size), the head tilted
    tilted = Face((10, 20, 72, 72), 1.0, {"left_eye": (30, 50), "right_eye": (62, 40)})
    crop = np.asarray(crop_face(photo, tilted, margin=0.2).convert("L"))
    assert crop.min() >= 149  # the rotation's corners and the margin take the photo's colour, never black
