"""Where the dashboard keeps runs, datasets and the gallery: beside app.py, or where the SIAMESE_RUNS_DIR,
SIAMESE_DATA_DIR and SIAMESE_GALLERY_DIR environment variables say."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS_DIR = Path(os.environ.get("SIAMESE_RUNS_DIR", ROOT / "runs"))
DATA_DIR = Path(os.environ.get("SIAMESE_DATA_DIR", ROOT / "data"))
GALLERY_DIR = Path(os.environ.get("SIAMESE_GALLERY_DIR", ROOT / "gallery"))
