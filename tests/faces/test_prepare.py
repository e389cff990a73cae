"""siamese/faces/prepare.py: a photo's face cut as the run's were; none or several faces raise a clear
error unless the largest is allowed; broken photos are refused with the reason."""

from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from siamese.errors import ImageError
from siamese.faces.detect import FaceError
from siamese.faces.prepare import face_tensor, photo_cut, prepare_face


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


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
    result = prepare_face(image, "whole")
    assert result.face is None and result.crop.size == (50, 60)


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


@pytest.mark.parametrize("side, message", [(8_000, "8000x8000 pixels, too large"),
                                           (90_000, "too large to decode safely")])
def test_a_photo_whose_header_claims_enormous_dimensions_is_refused(side, message):
    with pytest.raises(ImageError, match=message):
        prepare_face(png_header(side, side))


@pytest.mark.parametrize("cut, shape", [("align", (112, 112)), ("box", "square"), ("whole", (640, 480))])
def test_each_cut_gives_its_crop(face, scene, cut, shape):
    result = prepare_face(scene(face), cut)
    if shape == "square":
        assert result.crop.width == result.crop.height > 112 and result.face is not None
    else:
        assert result.crop.size == shape
    assert (result.face is None) == (cut == "whole")


def test_a_photo_is_cut_like_the_runs_faces():
    assert [photo_cut("align"), photo_cut("whole"), photo_cut("align", detect=False)] == ["align", "box", "whole"]
