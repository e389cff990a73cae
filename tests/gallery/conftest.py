"""What the gallery's tests share: a tiny model trained once on synthetic people, and five people it never
saw (enrolled from images 0-2, probed with 3-5), which it tells apart with a margin the fixture checks."""

from __future__ import annotations

import importlib.util
import io
import itertools
from pathlib import Path

import pytest
import torch
from PIL import Image

from siamese.config import TrainConfig
from siamese.data.images import load_image
from siamese.decisions import Rule, run_threshold, save_threshold
from siamese.gallery import Gallery
from siamese.runs.trained import load_trained
from siamese.train.loop import train

# tests/conftest.py by path: a bare `import conftest` may find another conftest instead.
_spec = importlib.util.spec_from_file_location("shared_conftest", Path(__file__).parents[1] / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)

TRAIN_IDENTITIES = range(12)
# People the model never saw in training: the gallery enrols and probes them.
ALICE, BOB, CAROL, DAVE, ERIN = 20, 23, 26, 29, 21
ENROLLED_IMAGES = range(0, 3)
PROBE_IMAGES = range(3, 6)


def picture(identity: int, index: int) -> Image.Image:
    return _shared.identity_image(identity, index, size=32)


def probe(identity: int, index: int) -> torch.Tensor:
    """A (1, 1, 32, 32) uint8 image, as the Verify page gives the model a probe."""
    buffer = io.BytesIO()
    picture(identity, index).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), 32, "grey")[None]


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def enroll(gallery: Gallery, name: str, identity: int) -> int:
    return gallery.enroll(name, [picture(identity, i) for i in ENROLLED_IMAGES])


def fixed(threshold: float, task: str = "verify") -> Rule:
    """A rule that decides at `threshold`, as the run's saved one does."""
    return Rule(task, threshold, "run", "the test's threshold")


def verify(gallery: Gallery, identity: int, index: int, claimed: str, threshold: float):
    return gallery.now().verify(gallery.model.embed(probe(identity, index)), claimed, fixed(threshold))


def identify(gallery: Gallery, identity: int, index: int, threshold: float, **options):
    return gallery.now().identify(gallery.model.embed(probe(identity, index)), fixed(threshold, "identify"), **options)


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """A run trained for 6 epochs on 12 synthetic identities, with its threshold set between the genuine and
    impostor distances of the people used below, so that every decision at it is deterministic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("faces")
    for identity, index in itertools.product(TRAIN_IDENTITIES, range(6)):
        (root / f"person_{identity:02d}").mkdir(exist_ok=True)
        picture(identity, index).save(root / f"person_{identity:02d}" / f"{index:03d}.png")
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    run_dir.mkdir()
    config = TrainConfig(data=str(root), input_size=32, model="compact", embedding_dim=16, p=4, k=3, epochs=6,
                         augment=False, device="cpu", seed=0)
    assert train(config, run_dir, data_dir=tmp_path_factory.mktemp("data")).status == "finished"

    trained = load_trained(run_dir, device="cpu")
    people = (ALICE, BOB, CAROL, DAVE, ERIN)
    enrolled = {p: trained.embed(torch.cat([probe(p, i) for i in ENROLLED_IMAGES])) for p in people}
    genuine, impostor = [], []
    for p, q in itertools.product(people, people):
        queries = trained.embed(torch.cat([probe(q, i) for i in PROBE_IMAGES]))
        nearest = [float(trained.distance(x[None].expand(len(enrolled[p]), -1), enrolled[p]).min())
                   for x in queries]
        (genuine if p == q else impostor).extend(nearest)
    assert max(genuine) < min(impostor), (
        f"the tiny model does not separate the gallery's people: genuine up to {max(genuine):.3f}, "
        f"impostors from {min(impostor):.3f}")
    save_threshold(run_dir, (max(genuine) + min(impostor)) / 2, "test")
    yield run_dir
    torch.set_num_threads(threads)


@pytest.fixture
def trained(run):
    return load_trained(run, device="cpu")


@pytest.fixture
def gallery(tmp_path, trained):
    return Gallery(tmp_path / "gallery", trained)


@pytest.fixture
def threshold(run):
    return run_threshold(run)
