"""Random and mutated bytes given to the image loader and the zip importer: they return a result or raise
the project's own error, never anything else."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from siamese.data.images import load_image
from siamese.data.zips import extract_zip
from siamese.errors import SiameseError


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(64 * 48, dtype=np.uint8).reshape(48, 64) % 251).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for person in ("ann", "bob"):
            for i in range(2):
                archive.writestr(f"faces/{person}/{i}.png", _png())
    return buffer.getvalue()


PNG, ZIP = _png(), _zip()


def mutated(original: bytes):
    """The original with a few bytes overwritten, and possibly cut short."""
    edits = st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=8)
    return st.tuples(edits, st.integers(1, len(original))).map(
        lambda e: bytes(_apply(original, e[0]))[: e[1]])


def _apply(original: bytes, edits) -> bytearray:
    data = bytearray(original)
    for position, value in edits:
        data[position] = value
    return data


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=2048), mutated(PNG)))
def test_image_loader_returns_an_image_or_raises_its_own_error(data):
    try:
        image = load_image(data, 32, "grey")
    except SiameseError:
        return
    assert image.shape == (1, 32, 32)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=2048), mutated(ZIP)))
def test_zip_importer_extracts_or_raises_its_own_error(tmp_path, data):
    target = tmp_path / "out"
    try:
        root = extract_zip(data, target)
    except SiameseError:
        return
    assert root.resolve().is_relative_to(target.resolve())


def _with_central_directory(edit) -> bytes:
    data, i = bytearray(ZIP), 0
    while (i := data.find(b"PK\x01\x02", i)) != -1:
        edit(data, i)
        i += 4
    return bytes(data)


def test_an_encrypted_zip_is_refused_with_a_message(tmp_path):
    encrypted = _with_central_directory(lambda d, i: d.__setitem__(i + 8, d[i + 8] | 1))  # flag bit 0
    with pytest.raises(SiameseError, match="password"):
        extract_zip(encrypted, tmp_path / "out")


def test_an_unknown_compression_method_is_refused_with_a_message(tmp_path):
    unknown = _with_central_directory(lambda d, i: d.__setitem__(i + 10, 99))
    with pytest.raises(SiameseError, match="compression"):
        extract_zip(unknown, tmp_path / "out")
