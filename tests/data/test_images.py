"""siamese/data/images.py: any image a phone or scanner makes decodes to the asked shape; anything else
is refused with the reason."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import warnings

import pytest
import torch
from PIL import Image, ImageFile

from siamese.data.images import load_image
from siamese.errors import ImageError


def encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def halves(left, right, mode: str, size=(16, 16)) -> Image.Image:
    """An image whose left half is colour `left` and right half `right`."""
    img = Image.new(mode, size, right)
    img.paste(Image.new(mode, (size[0] // 2, size[1]), left), (0, 0))
    return img


def palette_with_transparency() -> Image.Image:
    img = Image.new("P", (16, 16), 0)
    img.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 red, index 1 black
    img.paste(1, (0, 0, 8, 16))
    img.info["transparency"] = 1
    return img


def sixteen_bit() -> Image.Image:
    # Columns 0, 4369, ..., 65535: a full-range 16-bit ramp.
    return Image.fromarray(np.tile(np.arange(16, dtype=np.uint16) * 4369, (16, 1)))


MODES = {
    "L": lambda: encode(Image.new("L", (20, 12), 100)),
    "RGB": lambda: encode(Image.new("RGB", (20, 12), (200, 50, 10))),
    "RGBA": lambda: encode(halves((0, 0, 0, 0), (0, 0, 0, 255), "RGBA")),
    "P": lambda: encode(palette_with_transparency(), transparency=1),
    "CMYK": lambda: encode(halves((0, 0, 0, 255), (0, 0, 0, 0), "CMYK"), "JPEG", quality=95),
    "I;16": lambda: encode(sixteen_bit()),
}


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only a signature, an IHDR claiming width x height 8-bit grey, and IEND: no pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("colour,channels", [("grey", 1), ("rgb", 3)])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_decodes_to_uint8_of_the_asked_shape(mode, colour, channels):
    out = load_image(MODES[mode](), size=24, colour=colour)
    assert out.shape == (channels, 24, 24) and out.dtype == torch.uint8


def test_rgb_to_grey_uses_luminance():
    out = load_image(MODES["RGB"](), size=8, colour="grey")
    assert abs(int(out[0, 0, 0]) - round(0.299 * 200 + 0.587 * 50 + 0.114 * 10)) <= 1
    assert load_image(MODES["L"](), size=8, colour="rgb").unique().tolist() == [100]


def test_transparency_is_flattened_on_white():
    rgba = load_image(MODES["RGBA"](), size=16, colour="grey")
    assert (rgba[0, :, :8] == 255).all() and (rgba[0, :, 8:] == 0).all()
    palette = load_image(MODES["P"](), size=16, colour="rgb")
    assert (palette[:, :, :8] == 255).all()
    assert palette[:, 0, 12].tolist() == [255, 0, 0]


def test_cmyk_keeps_black_and_white():
    out = load_image(MODES["CMYK"](), size=16, colour="grey").float()
    assert out[0, :, :8].mean() < 40 and out[0, :, 8:].mean() > 215


def test_sixteen_bit_is_scaled_to_the_full_8_bit_range():
    out = load_image(MODES["I;16"](), size=16, colour="grey")[0].int()
    assert (out - torch.arange(16) * 17).abs().max() <= 1


def test_exif_orientation_is_applied():
    wide = Image.new("L", (64, 32), 255)
    wide.paste(0, (0, 0, 64, 16))  # dark top half
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise to display
    plain = load_image(encode(wide, "JPEG"), size=16).float()[0]
    turned = load_image(encode(wide, "JPEG", exif=exif.tobytes()), size=16).float()[0]
    assert plain[:8].mean() < 30 and plain[8:].mean() > 225
    assert turned[:, 8:].mean() < 30 and turned[:, :8].mean() > 225


@pytest.mark.parametrize("data", [
    b"",
    b"this is a text file, not a picture",
    encode(Image.new("RGB", (64, 64), (9, 9, 9)))[:60],
    encode(Image.effect_noise((64, 64), 50), "JPEG")[:400],
], ids=["empty", "text", "truncated-png", "truncated-jpeg"])
def test_unreadable_bytes_raise_image_error(data):
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(data, size=16)


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (7_000, 7_000)])
def test_a_header_claiming_enormous_size_is_refused_without_decoding(width, height, monkeypatch):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(ImageError):
        load_image(png_header(width, height), size=16)
    assert decoded == []


def test_library_pixel_limit_names_the_size():
    with pytest.raises(ImageError, match="7000x7000 pixels is too large"):
        load_image(png_header(7_000, 7_000), size=16)


def test_an_image_header_far_over_the_limit_names_the_reason():
    with pytest.raises(ImageError, match="too large to decode safely; resize it first"):
        load_image(png_header(100_000, 100_000), size=16)


def test_a_photo_of_12000_pixels_a_side_is_refused_without_pillows_warning_first():
    """Pillow warns of a decompression bomb when it opens a header over its own limit (89 megapixels); the
    refusal must be the project's words alone, from the library and from the photo path alike."""
    from siamese.faces.prepare import open_photo

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match="too large to decode safely"):
            load_image(png_header(12_000, 12_000), size=16)
        with pytest.raises(ImageError, match="too large to decode safely"):
            open_photo(png_header(12_000, 12_000))
    assert [str(w.message) for w in caught] == []


def test_unidentified_bytes_name_the_formats_not_a_memory_address():
    with pytest.raises(ImageError) as caught:
        load_image(b"this is a text file, not a picture", size=16)
    assert "BytesIO" not in str(caught.value) and "jpg, pgm, png" in str(caught.value)
