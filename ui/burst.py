"""A webcam that takes a burst of snapshots in a row, as the data-collection app of the seed tutorial does.
Streamlit's camera_input takes one photo a click, so this is a small bidirectional component (components
v2: inline HTML, CSS and JavaScript, no build step; the script is ui/burst.js). The browser shows the live
camera; one click captures `count` frames `interval` seconds apart and sends them back together."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from streamlit.components.v2 import component

HTML = """<div class="burst">
  <video autoplay muted playsinline></video>
  <div class="controls"><button type="button" disabled></button><span class="status">Starting the camera…</span></div>
  <div class="strip"></div>
</div>"""
CSS = """
.burst { font-family: var(--st-font, sans-serif); color: var(--st-text-color, #31333f); }
.burst video { width: 100%; max-width: 480px; aspect-ratio: 4 / 3; background: #0e1117; border-radius: 0.5rem;
  display: block; object-fit: cover; }
.controls { display: flex; align-items: center; gap: 0.75rem; margin: 0.5rem 0; flex-wrap: wrap; }
.controls button { font: inherit; padding: 0.3rem 0.9rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid rgba(49, 51, 63, 0.25); background: var(--st-background-color, #fff); color: inherit; }
.controls button:hover:enabled { border-color: var(--st-primary-color, #ff4b4b);
  color: var(--st-primary-color, #ff4b4b); }
.controls button:disabled { opacity: 0.5; cursor: default; }
.status { font-size: 0.875rem; opacity: 0.75; }
.strip { display: flex; gap: 0.25rem; flex-wrap: wrap; }
.strip img { width: 88px; border-radius: 0.25rem; }
"""
JS = Path(__file__).with_name("burst.js").read_text()

# A burst is a few frames of about 50 kB each; anything far beyond is not what burst.js sends.
MAX_FRAMES = 20
MAX_FRAME_CHARACTERS = 10_000_000
IMAGE_PREFIXES = ("data:image/jpeg;base64,", "data:image/png;base64,")

_burst = component("siamese_burst", html=HTML, css=CSS, js=JS)


def burst_camera(count: int = 5, interval: float = 0.5, key: str = "burst") -> list[bytes] | None:
    """Draw the live camera with a 'Take COUNT snapshots' button. Returns the frames of a burst taken
    since the last run (image bytes each, in order), or None when there is none."""
    result = _burst(key=key, data={"count": count, "interval_ms": round(interval * 1000),
                                   "label": f"Take {count} snapshots"},
                    on_frames_change=lambda: None)  # a callback makes `frames` a trigger Python receives
    return None if result.frames is None else decode_frames(result.frames)


def decode_frames(frames) -> list[bytes]:
    """The image bytes of each frame the browser sent (data URLs). A frame that is not a base64 JPEG or PNG
    data URL becomes b'', which is then refused as 'not a readable image' like any unreadable photo, so it
    is counted with the others; more than MAX_FRAMES frames are cut to that many."""
    if not isinstance(frames, list):
        return []
    decoded = []
    for frame in frames[:MAX_FRAMES]:
        data = b""
        if isinstance(frame, str) and len(frame) <= MAX_FRAME_CHARACTERS and frame.startswith(IMAGE_PREFIXES):
            try:
                data = base64.b64decode(frame.split(",", 1)[1], validate=True)
            except (binascii.Error, ValueError):
                pass
        decoded.append(data)
    return decoded
