"""Shared fixtures: synthetic identity folders made in tmp_path, and a guard that keeps a test offline."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# The dashboard fetches Olivetti's faces on a first start; the tests work offline on data they make, and
# the one test of that fetch turns it back on (tests/app/test_first_start.py).
os.environ["SIAMESE_FETCH_FACES"] = "0"

# The suite trains small models: one thread each. Two OpenMP threads, when another process is busy on one of
# two cores, wait on each other and run several times slower than one; the processes the tests start (the
# dashboard's trainings, the command line) get one thread too.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

EXTENSIONS = {"png": ".png", "pgm": ".pgm", "jpeg": ".jpg", "bmp": ".bmp"}
GOLDEN = 0.6180339887


def identity_image(identity: int, index: int, size: int = 32, mode: str = "L", seed: int = 0) -> Image.Image:
    """Picture `index` of synthetic person `identity`, size x size pixels, mode 'L' or 'RGB'.

    A person is stripes of a fixed angle and frequency plus a bright blob at a fixed place (and a tint in
    RGB); each picture shifts the stripes and the blob a little and adds noise, so a small network can
    learn who is who while no two pictures are equal.
    """
    rng = np.random.default_rng([seed, identity, index])
    y, x = np.mgrid[0:size, 0:size] / size
    angle = identity * 2.39996  # the golden angle keeps the stripes of successive people far apart
    freq = 3 + identity % 4
    phase = rng.uniform(-0.5, 0.5)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (x * np.cos(angle) + y * np.sin(angle)) + phase)
    cx = 0.25 + 0.5 * ((identity * GOLDEN) % 1) + rng.uniform(-0.04, 0.04)
    cy = 0.25 + 0.5 * ((identity * GOLDEN ** 2) % 1) + rng.uniform(-0.04, 0.04)
    blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.01)
    grey = np.clip(0.45 * stripes + 0.55 * blob + rng.normal(0, 0.04, (size, size)), 0, 1)
    if mode == "L":
        return Image.fromarray((grey * 255).astype(np.uint8), mode="L")
    tint = 0.5 + 0.5 * ((identity * np.array([0.31, 0.53, 0.71]) + 0.2) % 1)
    return Image.fromarray((grey[:, :, None] * tint * 255).astype(np.uint8), mode="RGB")


@pytest.fixture
def make_identity_folders(tmp_path):
    """Factory: `make_identity_folders(root=None, n_identities=4, n_images=3, size=32, fmt="png", mode="L",
    names=None, seed=0) -> root`, writing `root/<identity>/<nnn>.<ext>`.

    `n_images` is one count for all or a list per identity; `fmt` is 'png', 'pgm', 'jpeg', 'bmp' or a list
    cycled over the images of each identity; `names` replaces the default `person_00`, `person_01`, ...
    `root` defaults to `tmp_path / "faces"`.
    """

    def make(root: str | Path | None = None, n_identities: int = 4, n_images: int | list[int] = 3,
             size: int = 32, fmt: str | list[str] = "png", mode: str = "L", names: list[str] | None = None,
             seed: int = 0) -> Path:
        root = Path(root) if root is not None else tmp_path / "faces"
        names = list(names) if names is not None else [f"person_{i:02d}" for i in range(n_identities)]
        counts = list(n_images) if isinstance(n_images, (list, tuple)) else [n_images] * len(names)
        formats = [fmt] if isinstance(fmt, str) else list(fmt)
        for identity, (name, count) in enumerate(zip(names, counts)):
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                kind = formats[index % len(formats)]
                image = identity_image(identity, index, size, mode, seed)
                # PGM holds grey only.
                (image.convert("L") if kind == "pgm" else image).save(folder / f"{index:03d}{EXTENSIONS[kind]}")
        return root

    return make


def make_loss_nan(patch: pytest.MonkeyPatch) -> None:
    """From now on, every loss that training builds returns NaN: for the diverged-run cases."""
    from siamese.train import loop as train_module

    real_build_loss = train_module.build_loss

    def build(config, n_classes=0):
        loss_fn = real_build_loss(config, n_classes)
        real_forward = loss_fn.forward
        loss_fn.forward = lambda embeddings, labels: real_forward(embeddings, labels) * float("nan")
        return loss_fn

    patch.setattr(train_module, "build_loss", build)


@pytest.fixture
def loss_turns_nan(monkeypatch):
    """Call it to make every loss training builds from then on return NaN (`make_loss_nan`)."""
    return lambda: make_loss_nan(monkeypatch)


@pytest.fixture
def noisy_faces(make_identity_folders):
    """12 identities x 6 images with heavy pixel noise, so that an untrained network does not already
    separate them (its validation AUC is about 0.75) and training has something to learn."""
    root = make_identity_folders(n_identities=12, n_images=6)
    rng = np.random.default_rng(0)
    for path in sorted(root.rglob("*.png")):
        pixels = np.asarray(Image.open(path), dtype=np.float64)
        noisy = np.clip(pixels + rng.normal(0, 0.3 * 255, pixels.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy, mode="L").save(path)
    return root


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test loudly instead of reaching the internet."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A run trained for 2 epochs on 8 synthetic identities (4 images each), under `<root>/runs/r1`, its
    data folder `<root>/data`."""
    from siamese.config import TrainConfig
    from siamese.runs.folder import new_run_dir
    from siamese.train.loop import train

    root = tmp_path_factory.mktemp("small_run")
    for identity in range(8):
        (root / "faces" / f"p{identity}").mkdir(parents=True)
        for index in range(4):
            identity_image(identity, index, 32).save(root / "faces" / f"p{identity}" / f"{index}.png")
    config = TrainConfig(data=str(root / "faces"), input_size=32, embedding_dim=8, p=4, k=2, epochs=2,
                         augment=False, val_fraction=0.5, device="cpu")
    run = new_run_dir(root / "runs", "r1")
    train(config, run, data_dir=root / "data")
    return run


@pytest.fixture(scope="session", autouse=True)
def the_projects_data_folder_is_left_alone():
    """No test writes into the project's own data/ folder (a face cache, an extracted zip): tests make
    their data in tmp_path."""
    data = Path(__file__).resolve().parents[1] / "data"

    def listing() -> set[str]:
        return {str(p.relative_to(data)) for folder in (data, data / ".faces") if folder.is_dir()
                for p in folder.iterdir()}

    before = listing()
    yield
    assert listing() <= before, f"tests wrote into {data}: {sorted(listing() - before)[:5]}"
