"""Face detection and cropping: one real face is found and cropped with its eyes level; none or several
faces raise a clear error unless the largest is allowed."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from siamese.errors import ImageError
from siamese.faces import (
    Face,
    FaceError,
    crop_face,
    detect_faces,
    face_tensor,
    prepare_face,
)

ORL_FACE = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "orl_faces" / "s1" / "1.pgm"


@pytest.fixture(scope="module")
def face() -> Image.Image:
    if not ORL_FACE.exists():
        pytest.skip(f"{ORL_FACE} is absent: face-detection tests need a real face")
    return Image.open(ORL_FACE).convert("RGB").resize((276, 336))


def scene(face: Image.Image, offsets=((180, 70),), size=(640, 480)) -> Image.Image:
    photo = Image.new("RGB", size, (120, 140, 160))
    for offset in offsets:
        photo.paste(face, offset)
    return photo


def test_detects_the_one_face_where_it_was_pasted(face):
    faces = detect_faces(scene(face))
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 180 <= x + w / 2 <= 180 + 276 and 70 <= y + h / 2 <= 70 + 336
    assert {"left_eye", "right_eye", "nose"} <= set(faces[0].landmarks)


def test_no_face_raises_a_clear_error():
    with pytest.raises(FaceError, match="no face was found"):
        prepare_face(Image.new("RGB", (320, 240), (90, 90, 90)))


def test_several_faces_need_consent_to_use_the_largest(face):
    small = face.resize((138, 168))
    photo = Image.new("RGB", (900, 480), (120, 140, 160))
    photo.paste(face, (40, 60))
    photo.paste(small, (600, 150))
    with pytest.raises(FaceError, match="2 faces"):
        prepare_face(photo)
    result = prepare_face(photo, allow_largest=True)
    assert result.faces_found == 2 and result.face.box[0] < 400


def test_without_detection_the_whole_image_is_the_crop():
    image = Image.new("RGB", (50, 60), (10, 20, 30))
    result = prepare_face(image, detect=False)
    assert result.face is None and result.crop.size == (50, 60)


def test_crop_is_square_with_margin_and_levels_the_eyes():
    image = Image.new("RGB", (200, 200), (0, 0, 0))
    level = Face((50, 50, 100, 100), 1.0, {"left_eye": (80, 90), "right_eye": (120, 90)})
    crop = crop_face(image, level, margin=0.2)
    assert crop.size == (140, 140)


def test_face_tensor_matches_the_model_input_shape():
    tensor = face_tensor(Image.new("RGB", (300, 300), (200, 100, 50)), 32, "grey")
    assert tuple(tensor.shape) == (1, 1, 32, 32) and str(tensor.dtype) == "torch.uint8"


@pytest.mark.parametrize("data, reason", [
    (b"dear diary", "not a format this tool reads"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a format this tool reads"),
])
def test_a_photo_that_is_not_an_image_says_so_without_internals(data, reason):
    with pytest.raises(ImageError) as caught:
        prepare_face(data)
    message = str(caught.value)
    assert message.startswith("the photo is not a readable image") and reason in message
    assert "BytesIO" not in message and "upload a JPEG or PNG" in message


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side, message", [(8_000, "8000x8000 pixels, too large"),
                                           (90_000, "too large to decode safely")])
def test_a_photo_whose_header_claims_enormous_dimensions_is_refused(side, message):
    with pytest.raises(ImageError, match=message):
        prepare_face(png_header(side, side))
