"""siamese/data.py: decoding any image safely, identity folders, the split, built-ins."""

from __future__ import annotations

import io
import logging
import struct
import urllib.error
import zlib

import numpy as np
import pytest
import sklearn.datasets
import torch
from PIL import Image, ImageFile

from siamese.data import ImageFiles, load_dataset, load_folder, load_image, split_identities
from siamese.errors import DatasetError, ImageError


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


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only a signature, an IHDR claiming width x height 8-bit grey, and IEND: no pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


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


def test_load_folder_reads_mixed_formats(make_identity_folders):
    root = make_identity_folders(n_identities=3, n_images=3, size=24, fmt=["png", "pgm", "jpeg"])
    for colour, channels in (("grey", 1), ("rgb", 3)):
        data = load_folder(root, size=16, colour=colour)
        assert data.images.shape == (9, channels, 16, 16) and data.images.dtype == torch.uint8
        assert data.identities == ["person_00", "person_01", "person_02"]
        assert data.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        assert data.problems == []


def test_load_folder_skips_and_reports_what_it_cannot_read(make_identity_folders):
    root = make_identity_folders(n_identities=3, n_images=3)
    (root / "person_00" / "notes.txt").write_text("who is who")
    (root / "person_01" / "broken.png").write_bytes(b"not a png")
    data = load_folder(root, size=16)
    assert data.counts() == {"person_00": 3, "person_01": 3, "person_02": 3}
    assert any("1 file(s) that are not images" in p for p in data.problems)
    assert any("broken.png" in p and "not a readable image" in p for p in data.problems)


def test_identity_with_one_image_is_dropped_with_a_message(make_identity_folders):
    root = make_identity_folders(n_images=[3, 1, 2], names=["alice", "bob", "carol"])
    data = load_folder(root, size=16)
    assert data.identities == ["alice", "carol"]
    assert any("'bob' has 1 readable image(s)" in p for p in data.problems)


@pytest.mark.parametrize("counts", [[3, 1], [4], [1, 1, 1]])
def test_fewer_than_two_usable_identities_raises(make_identity_folders, counts):
    root = make_identity_folders(n_images=counts, names=[f"p{i}" for i in range(len(counts))])
    with pytest.raises(DatasetError, match="at least 2 identities"):
        load_folder(root, size=16)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_folder(tmp_path / "nowhere", size=16)


def test_unicode_and_spaces_in_identity_names(make_identity_folders):
    names = ["José Ñúñez", "李 小龙", "Zoë O'Brien"]
    data = load_folder(make_identity_folders(names=names, n_images=2, fmt="jpeg"), size=16)
    assert data.identities == sorted(names)
    assert len(data) == 6


IDENTITIES = [f"id{i}" for i in range(10)]


def test_split_is_disjoint_covers_all_and_is_seeded():
    train, val = split_identities(IDENTITIES, 0.3, seed=1)
    assert not set(train) & set(val) and sorted(train + val) == IDENTITIES
    assert len(val) == 3
    assert split_identities(IDENTITIES, 0.3, seed=1) == (train, val)
    assert any(split_identities(IDENTITIES, 0.3, seed=s)[1] != val for s in range(2, 6))


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_split_keeps_at_least_two_on_each_side(fraction):
    for n in (4, 5, 9):
        train, val = split_identities(IDENTITIES[:n], fraction, seed=0)
        assert len(train) >= 2 and len(val) >= 2 and len(train) + len(val) == n


def test_split_needs_four_identities():
    with pytest.raises(DatasetError, match="at least 4"):
        split_identities(IDENTITIES[:3], 0.25, seed=0)


def test_an_image_header_far_over_the_limit_names_the_reason():
    with pytest.raises(ImageError, match="too large to decode safely; resize it first"):
        load_image(png_header(100_000, 100_000), size=16)


def test_unidentified_bytes_name_the_formats_not_a_memory_address():
    with pytest.raises(ImageError) as caught:
        load_image(b"this is a text file, not a picture", size=16)
    assert "BytesIO" not in str(caught.value) and "jpg, pgm, png" in str(caught.value)


def test_digits_load_offline_with_ten_identities(tmp_path, no_network):
    data = load_dataset("digits", size=16, data_dir=tmp_path)
    assert data.identities == [f"digit-{d}" for d in range(10)]
    assert data.images.shape == (1797, 1, 16, 16) and data.images.dtype == torch.uint8
    assert sorted(data.counts().values())[0] >= 170
    assert load_dataset("digits", size=16, colour="rgb", data_dir=tmp_path).images.shape[1] == 3


@pytest.mark.parametrize("name,fetcher", [("olivetti", "fetch_olivetti_faces"), ("lfw", "fetch_lfw_people")])
def test_builtin_download_offline_says_what_to_do(tmp_path, monkeypatch, no_network, name, fetcher):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, fetcher, offline)
    with pytest.raises(DatasetError, match=f"could not download the '{name}'") as info:
        load_dataset(name, size=16, data_dir=tmp_path)
    message = str(info.value)
    assert "internet" in message and "folder of identity folders" in message and "digits" in message


def test_unknown_dataset_lists_the_known(tmp_path, make_identity_folders):
    make_identity_folders(tmp_path / "data" / "staff", n_identities=2, n_images=2)
    with pytest.raises(DatasetError, match="digits, olivetti, lfw, staff"):
        load_dataset("nobody", size=16, data_dir=tmp_path / "data")
    assert len(load_dataset("staff", size=16, data_dir=tmp_path / "data")) == 4


def test_streamed_images_match_decoding_and_an_unreadable_one_is_replaced_and_logged(make_identity_folders,
                                                                                       caplog):
    root = make_identity_folders(n_identities=2, n_images=3)
    broken = root / "person_01" / "001.png"
    broken.write_bytes(b"not a png at all")
    files = ImageFiles({p.name: sorted(p.iterdir()) for p in sorted(root.iterdir())}, size=16, colour="grey")
    assert len(files) == 6 and files.labels.tolist() == [0, 0, 0, 1, 1, 1]
    image, label = files[1]
    assert label == 0 and torch.equal(image, load_image(root / "person_00" / "001.png", 16))
    with caplog.at_level(logging.WARNING):
        image, label = files[4]
    assert label == 1 and torch.equal(image, load_image(root / "person_01" / "002.png", 16))
    assert "001.png" in caplog.text and "person_01" in caplog.text
