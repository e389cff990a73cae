"""Speed: the training step against the machine's arithmetic peak, data loading and processes, preparing
a dataset's faces, and the latencies a dashboard user waits for."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from siamese.config import TrainConfig
from siamese.data.dataset import FaceDataset
from siamese.data.images import to_pil
from siamese.device import uses_bf16
from siamese.faces.cache import FACES_DIR, cached_faces, prepare_faces
from siamese.faces.detect import FaceError
from siamese.faces.prepare import prepare_face
from siamese.decisions import decision_rule
from siamese.gallery import Gallery
from siamese.losses import build_loss, pair_distance_fn
from siamese.models import build_model, to_input
from siamese.runs.files import read_metrics
from siamese.runs.folder import new_run_dir
from siamese.runs.trained import load_trained
from siamese.train.loop import train

ROOT = Path(__file__).resolve().parents[1]


def raw_throughput(config: TrainConfig, seconds: float = 5.0, device: str = "cpu") -> dict:
    """Forward + backward + update of the default model and loss on one fixed batch on `device`, as the
    training loop steps (its objective, captured on a GPU, and its optimiser): images/second, and the
    GFLOP/s that achieves (FLOPs counted by torch's FlopCounterMode on the plain step)."""
    from torch.utils.flop_counter import FlopCounterMode

    from siamese.optim import build_optimizer
    from siamese.train.distributed import World
    from siamese.train.loop import _Objective, captured

    torch.manual_seed(0)
    where = torch.device(device)
    model = build_model(config).to(where, memory_format=torch.channels_last if where.type == "cuda" else None)
    objective = _Objective(model, build_loss(config, config.p).to(where), World(),
                           gather=False, bf16=uses_bf16(config.precision, where))
    optimizer = build_optimizer(config.optimizer, list(objective.parameters()), config.lr, config.weight_decay,
                                fused=where.type == "cuda")
    batch = config.p * config.k
    x = to_input(torch.rand(batch, config.in_channels, config.input_size, config.input_size), where)
    labels = torch.arange(config.p, device=where).repeat_interleave(config.k)

    def step(loss_of) -> None:
        loss = loss_of(x, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with FlopCounterMode(display=False) as counter:
        step(objective)
    fast = captured(objective, where, World())
    for _ in range(3):  # the first calls compile and capture on a GPU
        step(fast)
    n, start = 0, _clock(where)
    while time.perf_counter() - start < seconds:
        step(fast)
        n += 1
    rate = n / (_clock(where) - start)
    return {"batch": batch, "images_per_second": rate * batch, "gflop_per_step": counter.get_total_flops() / 1e9,
            "gflops": rate * counter.get_total_flops() / 1e9}


def _clock(device: torch.device) -> float:
    """time.perf_counter() once the device has done what was asked of it (a GPU runs behind the host)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def loading_throughput(data: str, seconds: float, workdir: Path) -> list[dict]:
    """Training images per wall-clock second (per-epoch validation included) of the default setup: images
    decoded up front, streamed from disk with 0 or 2 DataLoader workers, and over 2 torchrun processes."""
    variants = [("one process, images decoded up front", {"data_loading": "memory"}),
                ("one process, streamed, decoded between steps", {"data_loading": "stream", "loader_workers": 0}),
                ("one process, streamed by 2 DataLoader workers", {"data_loading": "stream", "loader_workers": 2})]
    rows = []
    for label, overrides in variants:
        run_dir = new_run_dir(workdir)
        train(TrainConfig.from_dict({"data": data, "max_seconds": seconds, **overrides}), run_dir)
        rows.append({"what": label, "images_per_second": _wall_clock_rate(run_dir)})
    run_dir = workdir / "two-processes"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "-m", "siamese", "train", "--data", data, "--device", "cpu", "--max-seconds", str(seconds),
                    "--out", str(run_dir), "--quiet"], check=True, capture_output=True,
                   cwd=ROOT)
    rows.append({"what": "2 torchrun processes (Gloo, one thread each), decoded up front",
                 "images_per_second": _wall_clock_rate(run_dir)})
    return rows


def _wall_clock_rate(run_dir: Path) -> float:
    steps = read_metrics(run_dir / "metrics.jsonl", "step")
    return sum(r["images"] for r in steps) / steps[-1]["elapsed"]


def matmul_gflops(n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32, device: str = "cpu") -> float:
    """An n x n matrix product in `dtype` on `device`: the machine's practical peak for dense arithmetic."""
    where = torch.device(device)
    a, b = torch.randn(n, n, dtype=dtype, device=where), torch.randn(n, n, dtype=dtype, device=where)
    a @ b
    start = _clock(where)
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (_clock(where) - start) / 1e9


def umap_latency(n_points: int, dim: int = 128) -> dict:
    """Seconds for a 2-D UMAP of n_points embeddings: cold (first call in a fresh process, numba compiles)
    and warm (same process, second call)."""
    code = ("import time, numpy as np, umap; x = np.random.default_rng(0).normal(size=(%d, %d)).astype('float32')\n"
            "def once():\n t = time.perf_counter(); umap.UMAP(random_state=0, n_jobs=1).fit_transform(x)\n"
            " return time.perf_counter() - t\n"
            "print(once(), once())") % (n_points, dim)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {"points": n_points, "cold_seconds": float(out[-2]), "warm_seconds": float(out[-1])}


def snapshot_scene(face: torch.Tensor) -> bytes:
    """A 640x480 JPEG 'webcam snapshot': the face, doubled in size, on a plain background."""
    scene = Image.new("RGB", (640, 480), (120, 130, 140))
    portrait = to_pil(face).convert("RGB")
    portrait = portrait.resize((portrait.width * 2, portrait.height * 2))
    scene.paste(portrait, ((640 - portrait.width) // 2, (480 - portrait.height) // 2))
    buffer = io.BytesIO()
    scene.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def verify_latency(run_dir: Path, faces: FaceDataset, sizes: tuple[int, ...], workdir: Path) -> list[dict]:
    """Seconds to verify one snapshot (detect, crop, embed, compare with everyone: 1:N) with N enrolled
    identities, median of 10 calls after one warm-up."""
    model = load_trained(run_dir)
    snapshot = snapshot_scene(faces.images[0])
    detect = True
    try:
        prepare_face(snapshot, model.cut(detect))
        what = "detect, crop, embed, 1:N"
    except FaceError:  # a dataset that is not faces (digits, synthetic): time the rest
        detect, what = False, "no face to detect; embed, 1:N"
    rows = []
    for n in sizes:
        gallery = Gallery(workdir / f"gallery-{n}", model)
        for i in range(n):
            gallery.enroll(f"person {i:04d}", [to_pil(faces.images[(i + 1) % len(faces)])])

        enrolled = gallery.now()
        start = time.perf_counter()
        rule = decision_rule(enrolled.calibration, run_dir, "identify")  # once per enrolment, not per decision
        rows.append({"what": f"calibrate the thresholds of a gallery of {n} identities (once per enrolment)",
                     "seconds": time.perf_counter() - start})

        def once() -> None:
            enrolled.identify(model.probe(snapshot, detect).embedding, rule)

        once()
        times = []
        for _ in range(10):
            start = time.perf_counter()
            once()
            times.append(time.perf_counter() - start)
        rows.append({"what": f"verify one 640x480 snapshot ({what}) against {n} identities",
                     "seconds": float(np.median(times))})
    return rows


def first_render_seconds(port: int = 8597) -> float | None:
    """Seconds from `streamlit run app.py` to the first page's script having run (the server answers
    its health check and a page request has rendered), measured with Streamlit's AppTest-free route: the
    server's health endpoint, then the first HTML page. None when the server does not start."""
    import urllib.request

    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              cwd=ROOT)
    try:
        while time.perf_counter() - start < 60:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read()
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                return time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        return None
    finally:
        server.terminate()
        server.wait(timeout=10)


def face_preparation_seconds(folder: Path, data_dir: Path, workers: int = 2) -> dict:
    """Seconds to find and align every face of a folder into an empty face cache: the data folder's own
    when it holds no cache of the folder at all (the runs then use it, instead of preparing again), else a
    temporary one: crops of an older cache of the folder would be reused, and a preparation left
    unfinished would be resumed, so the time would not be that of all the photos."""
    older = [p for p in (Path(data_dir) / FACES_DIR).glob(f"{folder.name}-*") if p.is_dir() and p.suffix != ".partial"]
    if cached_faces(folder, data_dir) is None and not older:
        for partial in (Path(data_dir) / FACES_DIR).glob(f"{folder.name}-*.partial"):
            shutil.rmtree(partial)
        return _timed_preparation(folder, data_dir, workers)
    with tempfile.TemporaryDirectory() as empty:
        return _timed_preparation(folder, empty, workers)


def _timed_preparation(folder: Path, data_dir: str | Path, workers: int) -> dict:
    start = time.perf_counter()
    prepared = prepare_faces(folder, data_dir, workers=workers)
    seconds = time.perf_counter() - start
    return {"photos": prepared.photos, "no_face": len(prepared.no_face), "workers": workers, "seconds": seconds,
            "photos_per_second": prepared.photos / seconds}


def explain_latency(config: TrainConfig, repeats: int = 5) -> list[dict]:
    """Seconds to explain one pair at the network's input size (`siamese.explain`), by each method: the
    decomposition and occlusion, median of `repeats` after one warm-up. The weights do not change the
    time, so the network is the configuration's, freshly initialised."""
    from siamese.explain import METHODS, explain_pair
    from siamese.runs.trained import TrainedModel

    torch.manual_seed(0)
    model = build_model(config).eval()
    trained = TrainedModel(config, model, pair_distance_fn(config, build_loss(config, 2)), "", torch.device("cpu"),
                           Path("."), faces="align")
    pair = torch.randint(0, 256, (2, 1, config.in_channels, config.input_size, config.input_size), dtype=torch.uint8)
    rows = []
    for method in (m for m in METHODS if m != "auto"):
        explain_pair(trained, pair[0], pair[1], method=method)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            explain_pair(trained, pair[0], pair[1], method=method)
            times.append(time.perf_counter() - start)
        rows.append({"what": f"explain a pair at {config.input_size} px ({config.model}), {method}",
                     "seconds": float(np.median(times))})
    return rows
