"""One photo made ready for the model, the same for enrolment and for verification: opened safely, the
face found, cut the way the run's faces were cut, and stored and decoded as the gallery does."""

from __future__ import annotations

import io
from dataclasses import dataclass

import torch
from PIL import Image, ImageDraw, ImageOps

from ..data.images import (
    MAX_IMAGE_PIXELS,
    TOO_LARGE,
    load_image,
    opened,
    to_mode,
    unreadable_reason,
)
from ..errors import ImageError, SiameseError
from .align import align_face, crop_face
from .detect import Face, FaceError, detect_faces

STORED_FACE_SIZE = 256  # pixels, longest side: enough to re-embed at any input size the models use
# How a photo's face is cut: aligned on its landmarks (runs whose faces are aligned), a box around the
# detected face (runs trained on whole face crops), or the whole image (it is a face crop already).
CUTS = ("align", "box", "whole")


@dataclass
class FaceCrop:
    crop: Image.Image        # RGB: what the model is given
    face: Face | None        # None when detection was skipped
    annotated: Image.Image   # the input with the box and landmarks drawn
    faces_found: int


def photo_cut(faces: str, detect: bool = True) -> str:
    """The cut a photo gets for a run whose dataset faces were cut `faces` ('align' or 'whole'): aligned
    like its training faces, or, for a run trained on whole face crops, a box around the detected face;
    the whole image when detection is turned off (the photo is a face crop already)."""
    if not detect:
        return "whole"
    return "align" if faces == "align" else "box"


def open_photo(source: bytes | Image.Image) -> Image.Image:
    """An RGB PIL image from bytes (JPEG, PNG, ...) or a PIL image, EXIF rotation applied."""
    if isinstance(source, Image.Image):
        return to_mode(source, "RGB")
    try:
        with opened(io.BytesIO(source)) as img:
            if img.size[0] * img.size[1] > MAX_IMAGE_PIXELS:
                raise ImageError(f"the photo is {img.size[0]}x{img.size[1]} pixels, too large; resize it first")
            img.load()
            return to_mode(ImageOps.exif_transpose(img), "RGB")
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"the photo: {TOO_LARGE}") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for broken files
        raise ImageError(f"the photo is not a readable image ({unreadable_reason(exc)}); take another "
                         "photo, or upload a JPEG or PNG") from None


def annotate(image: Image.Image, faces: list[Face]) -> Image.Image:
    """A copy of the image with each face's box (the first in green, others in red) and landmarks."""
    out = to_mode(image, "RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(2, out.width // 200)
    for i, face in enumerate(faces):
        x, y, w, h = face.box
        draw.rectangle([x, y, x + w, y + h], outline=(0, 200, 0) if i == 0 else (220, 0, 0), width=width)
        for px, py in face.landmarks.values():
            draw.ellipse([px - width, py - width, px + width, py + width], fill=(255, 200, 0))
    return out


def prepare_face(source: bytes | Image.Image, cut: str = "align", allow_largest: bool = False) -> FaceCrop:
    """The face crop used for both enrolment and verification, cut as `cut` says (see CUTS). When a face
    is detected, exactly one must be found (or, with `allow_largest`, the largest of several is used)."""
    if cut not in CUTS:
        raise ValueError(f"unknown cut {cut!r}; known: {', '.join(CUTS)}")
    image = open_photo(source)
    if cut == "whole":
        return FaceCrop(image, None, image, 0)
    faces = detect_faces(image)
    if not faces:
        raise FaceError("no face was found in the photo: face the camera in good light, closer, "
                        "or untick 'detect the face' if the image is already a face crop")
    if len(faces) > 1 and not allow_largest:
        raise FaceError(f"{len(faces)} faces were found in the photo; keep one person in view, or tick "
                        "'use the largest face'")
    crop = align_face(image, faces[0]) if cut == "align" else crop_face(image, faces[0])
    return FaceCrop(crop, faces[0], annotate(image, faces), len(faces))


def stored_face(crop: Image.Image) -> Image.Image:
    """A face crop as the gallery stores it: RGB, at most STORED_FACE_SIZE pixels on a side."""
    stored = to_mode(crop, "RGB").copy()
    stored.thumbnail((STORED_FACE_SIZE, STORED_FACE_SIZE))
    return stored


def face_tensor(crop: Image.Image, size: int, colour: str = "grey") -> torch.Tensor:
    """A face crop as the model's input (1, C, size, size) uint8, prepared exactly as the gallery prepares
    an enrolled image (stored as PNG by `stored_face`, then decoded and resized)."""
    buffer = io.BytesIO()
    stored_face(crop).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), size, colour)[None]


def faces_of(photos: list, cut: str, allow_largest: bool = False) -> tuple[list[FaceCrop | None], dict]:
    """The face of each photo (bytes or a PIL image; None for one not given), cut as `cut` says, and,
    by position, why each photo that was given has none: the one loop that enrolment, a comparison, a
    burst and a trained model's probes share, so they find faces and refuse photos alike."""
    faces, problems = [], {}
    for position, photo in enumerate(photos):
        face = None
        if photo is not None:
            try:
                face = prepare_face(photo, cut, allow_largest)
            except SiameseError as exc:
                problems[position] = str(exc)
        faces.append(face)
    return faces, problems
