"""A small synthetic world for the page tests: identity folders, one tiny trained run, and a face photo.
Everything lives in one session-scoped folder; the app finds it through SIAMESE_* environment variables."""

from __future__ import annotations

import importlib.util
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from siamese.config import TrainConfig
from siamese.runs.folder import new_run_dir
from siamese.train.loop import train
from ui.page import page_file

ROOT = Path(__file__).resolve().parents[2]
ORL_FACE = ROOT.parent / "shared" / "datasets" / "orl_faces" / "s1" / "1.pgm"

_spec = importlib.util.spec_from_file_location("shared_conftest", ROOT / "tests" / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)


def write_identity_folders(root: Path, n_identities: int = 12, n_images: int = 6, size: int = 32) -> Path:
    for identity in range(n_identities):
        folder = root / f"person_{identity:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(n_images):
            _shared.identity_image(identity, index, size).save(folder / f"{index:03d}.png")
    return root


def tiny_config(data: Path, **overrides) -> TrainConfig:
    values = dict(data=str(data), input_size=32, embedding_dim=16, p=4, k=2, epochs=2, augment=False, lr_schedule="constant",
                  val_fraction=0.34, lr=3e-3, device="cpu", seed=0)
    return TrainConfig(**{**values, **overrides})


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """{'root', 'runs', 'data', 'gallery', 'faces', 'run'}: a tiny trained run on synthetic identities."""
    root = tmp_path_factory.mktemp("world")
    faces = write_identity_folders(root / "data" / "synthetic")
    runs = root / "runs"
    run_dir = new_run_dir(runs, "tiny")
    train(tiny_config(faces), run_dir, data_dir=root / "data")
    return {"root": root, "runs": runs, "data": root / "data", "gallery": root / "gallery", "faces": faces,
            "run": run_dir}


def point_app_at(monkeypatch, runs: Path, data: Path, gallery: Path) -> None:
    """Make the app use these folders: through the SIAMESE_* variables for a first import of
    ui.workspace, and on the module itself when an earlier test imported it already."""
    import ui.workspace as shared

    for name, path in (("RUNS", runs), ("DATA", data), ("GALLERY", gallery)):
        monkeypatch.setenv(f"SIAMESE_{name}_DIR", str(path))
        monkeypatch.setattr(shared, f"{name}_DIR", Path(path))


def open_app(page: str | None = None, timeout: float = 60) -> AppTest:
    """An AppTest of app.py opened on `page` (a page's label: 'Train'), already run once."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(page_file(page))
        at.run()
    return at


@pytest.fixture(scope="session")
def diverged_run(world, tmp_path_factory):
    """A copy of the tiny run resumed for one more epoch with a loss that turns NaN: status 'diverged'."""
    from siamese.train.loop import resume

    run = shutil.copytree(world["run"], tmp_path_factory.mktemp("diverged") / "wild")
    with pytest.MonkeyPatch.context() as patch:
        _shared.make_loss_nan(patch)
        result = resume(run, data_dir=world["data"], epochs=3)
    assert result.status == "diverged"
    return run


@pytest.fixture
def app_env(world, monkeypatch):
    point_app_at(monkeypatch, world["runs"], world["data"], world["gallery"])
    return world


@pytest.fixture
def make_app(app_env):
    """Factory: `make_app(page=None, timeout=60)`, see `open_app`."""
    return open_app


@dataclass
class OwnWorld:
    """Folders of one test's own; `open` opens the app on them, `point` moves one of them elsewhere."""

    root: Path
    runs: Path
    data: Path
    gallery: Path
    faces: Path
    run: Path
    monkeypatch: pytest.MonkeyPatch

    def open(self, page: str | None = None, timeout: float = 60) -> AppTest:
        return open_app(page, timeout)

    def point(self, runs: Path | None = None, data: Path | None = None, gallery: Path | None = None) -> None:
        point_app_at(self.monkeypatch, runs or self.runs, data or self.data, gallery or self.gallery)


@pytest.fixture
def own_world(world, tmp_path, monkeypatch) -> OwnWorld:
    """A world of this test's own, for tests that change runs, data or the gallery: a copy of the tiny
    run and of the synthetic faces and an empty gallery, under a path with a space and a non-ASCII letter."""
    root = tmp_path / "own wörld"
    run = shutil.copytree(world["run"], root / "runs" / "tiny")
    faces = shutil.copytree(world["faces"], root / "data" / "synthetic")
    own = OwnWorld(root, root / "runs", root / "data", root / "gallery", faces, run, monkeypatch)
    own.point()
    return own


@pytest.fixture(scope="session")
def face_photo() -> bytes:
    return face_photo_jpeg()


def face_photo_jpeg(size: tuple[int, int] = (640, 480), offset: tuple[int, int] = (180, 70)) -> bytes:
    """A real face (ORL s1/1, upscaled three times) on a plain background, as JPEG bytes."""
    if not ORL_FACE.exists():
        pytest.skip(f"{ORL_FACE} is absent: face-detection tests need a real face")
    face = Image.open(ORL_FACE).convert("RGB").resize((276, 336))
    photo = Image.new("RGB", size, (120, 140, 160))
    photo.paste(face, offset)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()
