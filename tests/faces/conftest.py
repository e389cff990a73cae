"""What the face tests share: a real face (ORL s1/1, enlarged), and photos made of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

ORL_FACE = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "orl_faces" / "s1" / "1.pgm"


@pytest.fixture(scope="session")
def face() -> Image.Image:
    if not ORL_FACE.exists():
        pytest.skip(f"{ORL_FACE} is absent: face-detection tests need a real face")
    return Image.open(ORL_FACE).convert("RGB").resize((276, 336))


@pytest.fixture(scope="session")
def scene():
    """Factory: `scene(face, offsets=((180, 70),), size=(640, 480))`, the face pasted at each offset on a
    plain background."""
    def make(face: Image.Image, offsets=((180, 70),), size=(640, 480)) -> Image.Image:
        photo = Image.new("RGB", size, (120, 140, 160))
        for offset in offsets:
            photo.paste(face, offset)
        return photo
    return make
