"""Cutting a face out of a photo: aligned on its five landmarks onto a fixed template (the same for every
photo, so the eyes, nose and mouth land on the same pixels), or, for runs trained on whole face crops, a
square box around the detected face with its eyes levelled."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from .detect import LANDMARKS, Face

ALIGNED_SIZE = 112  # pixels: the template's frame
# Where the five landmarks land in a 112 x 112 crop: the template of ArcFace (Deng et al. 2019) and of
# most face recognisers since, which leaves the forehead and chin in the frame.
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
CROP_MARGIN = 0.2   # fraction of the box size added on each side of a box crop


def align_face(image: Image.Image, face: Face) -> Image.Image:
    """The face warped by the similarity (rotation, uniform scale, shift) that best maps its landmarks onto
    TEMPLATE: an RGB ALIGNED_SIZE x ALIGNED_SIZE crop. Pixels from outside the photo (a photo that is
    already a tight face crop) take the photo's mean colour: repeating its border pixels smeared them into
    streaks across the crop's sides, and an LFW-trained model separated ORL's people less well on such
    crops (AUC 0.980 against 0.982 with the mean colour; mirroring the border, 0.980)."""
    points = np.array([face.landmarks[name] for name in LANDMARKS], np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(points, TEMPLATE, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks (all on a line): fall back to the eyes alone
        matrix, _ = cv2.estimateAffinePartial2D(points[:2], TEMPLATE[:2])
    rgb = np.asarray(image.convert("RGB"))
    fill = tuple(float(v) for v in rgb.reshape(-1, 3).mean(axis=0))
    warped = cv2.warpAffine(rgb, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    return Image.fromarray(warped)


def crop_face(image: Image.Image, face: Face, margin: float = CROP_MARGIN) -> Image.Image:
    """A square RGB crop around `face`, `margin` of the box added on each side, rotated about the box
    centre so the eyes are level (when landmarks are known)."""
    image = image.convert("RGB")
    x, y, w, h = face.box
    cx, cy = x + w / 2, y + h / 2
    # Outside the photo is filled with the mean colour rather than black, which the network never saw:
    # the corners a rotation brings in as well as the margin beyond the photo's edge.
    fill = tuple(int(v) for v in np.asarray(image).reshape(-1, 3).mean(axis=0))
    if "left_eye" in face.landmarks and "right_eye" in face.landmarks:
        (lx, ly), (rx, ry) = face.landmarks["left_eye"], face.landmarks["right_eye"]
        angle = math.degrees(math.atan2(ry - ly, rx - lx))
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, center=(cx, cy), fillcolor=fill)
    half = max(w, h) * (1 + 2 * margin) / 2
    canvas = Image.new("RGB", (int(2 * half), int(2 * half)), fill)
    canvas.paste(image, (int(half - cx), int(half - cy)))
    return canvas
