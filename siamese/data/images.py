"""One image file decoded safely into the uint8 tensor the rest of the pipeline uses.

Every PIL mode a phone or scanner produces is read (CMYK, 16-bit, palette, alpha, EXIF rotation); anything
that is not a readable image, or claims to be too large to decode safely, raises `ImageError` with the
reason in words.
"""

from __future__ import annotations

import io
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".webp"}
COLOURS = ("grey", "rgb")
# Largest image we agree to decode: 40 megapixels is a large phone photo; a header that claims more is
# treated as a decompression bomb and refused before any pixel is decoded.
MAX_IMAGE_PIXELS = 40_000_000
TOO_LARGE = (f"its header claims far more than {MAX_IMAGE_PIXELS:,} pixels, too large to decode safely; "
             "resize it first")


@contextmanager
def opened(source) -> Iterator[Image.Image]:
    """`Image.open` with Pillow's decompression-bomb warning raised as an error (caught by the callers and
    refused in their own words), so a huge image is refused without Pillow printing its warning first."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source) as img:
            yield img


def load_image(source: str | Path | bytes, size: int, colour: str = "grey") -> torch.Tensor:
    """Decode one image file (or its bytes) into a (C, size, size) uint8 tensor; C = 1 for grey, 3 for rgb.

    Raises ImageError for anything that is not a readable image, or is too large to decode safely.
    """
    name = "uploaded image" if isinstance(source, bytes) else str(source)
    try:
        with opened(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageError(f"{name}: {width}x{height} pixels is too large to decode safely "
                                 f"(limit {MAX_IMAGE_PIXELS:,} pixels); resize it first")
            img.load()
            img = ImageOps.exif_transpose(img)
            img = to_mode(img, "L" if colour == "grey" else "RGB")
            img = img.resize((size, size), Image.Resampling.BILINEAR)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: {TOO_LARGE}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: not a readable image ({unreadable_reason(exc)})") from None
    array = np.asarray(img, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def unreadable_reason(exc: Exception) -> str:
    """PIL's reason an image cannot be read, for people: without the repr of an in-memory file it names."""
    if isinstance(exc, UnidentifiedImageError):
        return "not a format this tool reads: " + ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
    return re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc)) or type(exc).__name__


def to_mode(img: Image.Image, mode: str) -> Image.Image:
    """Convert any PIL image to 'L' or 'RGB', scaling 16-bit and float images and flattening alpha on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(img, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
        img = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert(mode)


def to_pil(image: torch.Tensor) -> Image.Image:
    """A (C, H, W) uint8 tensor as a PIL image ('L' for one channel, 'RGB' for three)."""
    array = image.detach().cpu().numpy()
    return Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))
