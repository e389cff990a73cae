"""Benchmark: verification quality against training time, training speed, and dashboard latencies.

    python -m bench                       # ORL faces, 3 seeds, 60 s per setup: about 14 minutes
    python -m bench --quick --data digits # a few seconds, to check that it still works

Writes docs/BENCHMARKS.md, docs/benchmarks.json and docs/auc_vs_time.png. Timings are measured here, in
one process, on whatever machine runs it; they are never asserted by the test suite.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from siamese.config import TrainConfig
from siamese.data.dataset import FaceDataset
from siamese.data.images import to_pil
from siamese.distances import euclidean_paired
from siamese.evaluate.scores import evaluate_embeddings
from siamese.faces.detect import FaceError
from siamese.faces.prepare import face_tensor, photo_cut, prepare_face
from siamese.gallery import Gallery
from siamese.losses import build_loss
from siamese.models import build_model, embed_images, to_input
from siamese.runs.files import read_metrics
from siamese.runs.folder import decision_threshold, new_run_dir
from siamese.runs.trained import load_trained
from siamese.train.inputs import prepare_data
from siamese.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
ORL = ROOT.parent / "shared" / "datasets" / "orl_faces"
AUC_TARGETS = (0.95, 0.99)


def setups(budget: float) -> dict[str, dict]:
    """The three setups compared, as TrainConfig overrides (the tutorial has its own pair loop)."""
    return {
        "default": {},
        "tutorial": {"model": "tutorial", "input_size": 100, "embedding_dim": 5, "normalize": False,
                     "loss": "contrastive", "margin": 2.0, "lr": 5e-4, "augment": False,
                     "lr_schedule": "constant"},
        "koch": {"model": "koch", "input_size": 105, "embedding_dim": 4096, "normalize": False, "loss": "bce",
                 "lr": 1e-4, "lr_schedule": "constant"},
    }


def train_tutorial(config: TrainConfig, train_set: FaceDataset, val_set: FaceDataset,
                   eval_every: float = 2.0) -> tuple[torch.nn.Module, list[dict]]:
    """The classic tutorial's loop as people copy it: random pairs, half genuine and half impostor, batch
    of 64 pairs, contrastive loss on Euclidean distance, Adam, for config.max_seconds (evaluation included,
    as in the project's own loop). Returns the model and records of elapsed seconds and val AUC."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    labels = train_set.labels.numpy()
    same_class = [np.flatnonzero(labels == c) for c in range(len(train_set.identities))]
    other_class = [np.flatnonzero(labels != c) for c in range(len(train_set.identities))]
    records, start, last_eval, step = [], time.perf_counter(), 0.0, 0
    while time.perf_counter() - start < config.max_seconds:
        same = rng.random(64) < 0.5
        first = rng.integers(0, len(labels), 64)
        second = np.array([rng.choice((same_class if s else other_class)[labels[a]]) for a, s in zip(first, same)])
        model.train()
        d = F.pairwise_distance(model(to_input(train_set.images[first])), model(to_input(train_set.images[second])))
        y = torch.from_numpy(same).float()
        loss = (y * d.pow(2) + (1 - y) * F.relu(config.margin - d).pow(2)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        out_of_time = time.perf_counter() - start >= config.max_seconds
        if time.perf_counter() - start - last_eval >= eval_every or out_of_time:
            auc = evaluate_embeddings(embed_images(model, val_set.images), val_set.labels.numpy(),
                                      euclidean_paired, trials=200, seed=config.seed).auc
            last_eval = time.perf_counter() - start
            records.append({"elapsed": last_eval, "val_auc": auc, "step": step})
    return model, records


def quality_run(name: str, overrides: dict, data: str, budget: float, seed: int, workdir: Path) -> dict:
    """Train one setup for `budget` seconds; final AUC / EER / 10-way one-shot on the validation identities
    and the seconds taken to first reach each AUC target."""
    config = TrainConfig.from_dict({"data": data, "max_seconds": budget, "seed": seed, **overrides})
    train_set, val_set, _ = prepare_data(config)
    steps: list[dict] = []
    if name == "tutorial":
        model, curve = train_tutorial(config, train_set, val_set)
        embeddings, distance = embed_images(model, val_set.images), euclidean_paired
    else:
        run_dir = new_run_dir(workdir, f"{name}-{seed}")
        train(config, run_dir)
        curve = [{"elapsed": r["elapsed"], "val_auc": r["val_auc"], "step": r["step"]}
                 for r in read_metrics(run_dir / "metrics.jsonl", "epoch")]
        steps = read_metrics(run_dir / "metrics.jsonl", "step")
        trained = load_trained(run_dir)
        embeddings, distance = trained.embed(val_set.images), trained.distance
    result = evaluate_embeddings(embeddings, val_set.labels.numpy(), distance, n_way=10, trials=2000, seed=seed)
    summary = {"setup": name, "seed": seed, "auc": result.auc, "eer": result.eer,
               "oneshot": result.oneshot_accuracy, "n_way": result.n_way}
    for target in AUC_TARGETS:
        reached = [r["elapsed"] for r in curve if r["val_auc"] >= target]
        summary[f"seconds_to_auc_{target}"] = reached[0] if reached else None
    if steps:
        summary["pipeline_images_per_second"] = (sum(r["images"] for r in steps) /
                                                 sum(r["images"] / r["images_per_second"] for r in steps))
    return {**summary, "curve": curve}


def raw_throughput(config: TrainConfig, seconds: float = 5.0) -> dict:
    """Forward + backward + update of the default model and loss on one fixed batch: images/second, and
    the GFLOP/s that achieves (FLOPs counted by torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model, loss_fn = build_model(config), build_loss(config, config.p)
    optimizer = torch.optim.Adam(list(model.parameters()) + list(loss_fn.parameters()), lr=config.lr)
    batch = config.p * config.k
    x = torch.randn(batch, config.in_channels, config.input_size, config.input_size)
    labels = torch.arange(config.p).repeat_interleave(config.k)

    def step() -> None:
        loss = loss_fn(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    with FlopCounterMode(display=False) as counter:
        step()
    for _ in range(3):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    rate = n / (time.perf_counter() - start)
    return {"batch": batch, "images_per_second": rate * batch, "gflop_per_step": counter.get_total_flops() / 1e9,
            "gflops": rate * counter.get_total_flops() / 1e9}


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


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """float32 n x n matrix product: the machine's practical peak for dense arithmetic."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


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
    import io

    from PIL import Image

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
    cut = photo_cut(model.faces)
    try:
        prepare_face(snapshot, cut)
        what = "detect, crop, embed, 1:N"
    except FaceError:  # a dataset that is not faces (digits, synthetic): time the rest
        cut, what = "whole", "no face to detect; embed, 1:N"
    rows = []
    for n in sizes:
        gallery = Gallery(workdir / f"gallery-{n}", model)
        for i in range(n):
            gallery.enroll(f"person {i:04d}", [to_pil(faces.images[(i + 1) % len(faces)])])

        def once() -> None:
            crop = prepare_face(snapshot, cut)
            probe = face_tensor(crop.crop, model.config.input_size, model.config.colour)
            gallery.identify(probe, threshold=decision_threshold(run_dir))

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


def machine() -> dict:
    import os

    return {"cpu_cores": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cuda": torch.cuda.is_available()}


def summarise(values: list[float | None], digits: int = 3) -> str:
    """'median (min–max)' over seeds; a target not reached counts as never (shown as —)."""
    numbers = [np.inf if v is None else v for v in values]
    fmt = lambda v: "—" if not np.isfinite(v) else f"{v:.{digits}f}"
    return f"{fmt(float(np.median(numbers)))} ({fmt(min(numbers))}–{fmt(max(numbers))})"


def chart(runs: list[dict], path: Path) -> None:
    """AUC against training seconds, one line per setup and seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"default": "tab:blue", "tutorial": "tab:orange", "koch": "tab:green"}
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for run in runs:
        xs = [r["elapsed"] for r in run["curve"]]
        ys = [r["val_auc"] for r in run["curve"]]
        ax.plot(xs, ys, color=colours.get(run["setup"], "grey"), alpha=0.8,
                label=run["setup"] if run["seed"] == runs[0]["seed"] else None)
    ax.set_xlabel("training seconds (evaluation included)")
    ax.set_ylabel("validation AUC")
    ax.set_ylim(0.5, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(results: dict, command: str) -> str:
    m, q, s = results["machine"], results["quality"], results["speed"]
    lines = [
        "# Benchmarks", "",
        f"Measured by `{command}` on {results['date']}.", "",
        f"Machine: {m['cpu_cores']} CPU cores ({m['processor']}), torch {m['torch']} with {m['torch_threads']} "
        f"threads, Python {m['python']}, CUDA {'yes' if m['cuda'] else 'no'}.", "",
        "## Quality against time", "",
        f"Dataset `{results['data']}`, identity split {results['split']} (train / validation identities), seeds "
        f"{', '.join(map(str, results['seeds']))}, {results['budget']:.0f} s of training per setup. Figures: median "
        "(min–max) over the seeds, on the validation identities only. Seconds include the per-epoch validation.", "",
        "| setup | AUC | EER | 10-way one-shot | s to AUC 0.95 | s to AUC 0.99 |", "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in results["setups"]:
        runs = [r for r in q if r["setup"] == name]
        lines.append(f"| {name} | {summarise([r['auc'] for r in runs], 4)} | {summarise([r['eer'] for r in runs])} | "
                     f"{summarise([r['oneshot'] for r in runs])} | {summarise([r['seconds_to_auc_0.95'] for r in runs], 1)} | "
                     f"{summarise([r['seconds_to_auc_0.99'] for r in runs], 1)} |")
    lines += ["", "![AUC against training seconds](auc_vs_time.png)", "",
              "- default: this project's defaults (`python -m siamese train --data ... --max-seconds N`).",
              "- tutorial: the classic PyTorch Siamese tutorial network (3 conv layers of 4, 8, 8 channels with "
              "reflection padding and batch norm, fully connected 500-500-5), contrastive loss with margin 2, "
              "Adam 5e-4, 100×100 grey input, random 50/50 pairs, no augmentation.",
              "- koch: Koch et al. 2015 (105×105, 4096-d sigmoid embedding, BCE over weighted L1), Adam 1e-4, "
              "the project's P×K batches and augmentation.", "",
              "## Training speed", "",
              "| measure | value |", "| --- | --- |",
              f"| full pipeline (sampling, augmentation, forward, backward, update), default config | {s['pipeline_images_per_second']:.0f} images/s |",
              f"| same model and loss, fixed batch of {s['raw']['batch']} (forward, backward, update) | {s['raw']['images_per_second']:.0f} images/s |",
              f"| pipeline / raw | {s['pipeline_ratio']:.2f} (overhead {100 * (1 - s['pipeline_ratio']):.0f} %) |",
              f"| FLOPs per training step | {s['raw']['gflop_per_step']:.2f} GFLOP |",
              f"| achieved by the training step | {s['raw']['gflops']:.1f} GFLOP/s |",
              f"| float32 2048×2048 matmul | {s['matmul_gflops']:.1f} GFLOP/s |",
              f"| training step / matmul | {s['raw']['gflops'] / s['matmul_gflops']:.0%} |", ""]
    if results.get("loading"):
        lines += ["## Data loading and processes", "",
                  "The default setup for 20 s each on the same data; images per wall-clock second of training, "
                  "per-epoch validation included. On 2 cores, 2 processes compete with each other for them.", "",
                  "| how | images/s |", "| --- | --- |"]
        lines += [f"| {row['what']} | {row['images_per_second']:.0f} |" for row in results["loading"]]
        lines.append("")
    if results.get("latency"):
        lines += ["## Dashboard latencies", "", "| measure | seconds |", "| --- | --- |"]
        for row in results["latency"]:
            lines.append(f"| {row['what']} | {row['seconds']:.3f} |")
        lines.append("")
    lines += targets(results)
    lines += ["The same figures as JSON: `docs/benchmarks.json`.", ""]
    return "\n".join(lines)


def targets(results: dict) -> list[str]:
    """The project's targets for this 2-core CPU, each with the measured figure and whether it is met."""
    default = [r for r in results["quality"] if r["setup"] == "default"]
    if not default:
        return []
    within_30 = [r for r in default if (r["seconds_to_auc_0.99"] or np.inf) <= 30]
    auc_30 = float(np.median([max([c["val_auc"] for c in r["curve"] if c["elapsed"] <= 30] or [0]) for r in default]))
    oneshot = float(np.median([r["oneshot"] for r in default]))
    ratio = results["speed"]["pipeline_ratio"]
    latency = {row["what"]: row["seconds"] for row in results.get("latency", [])}
    umap_400 = next((v for k, v in latency.items() if "400" in k and "warm" in k), None)
    verify_1000 = next((v for k, v in latency.items() if "1000" in k), None)
    rows = [
        ("default: validation AUC >= 0.99 within 30 s (median)", f"best AUC within 30 s: {auc_30:.4f}; "
         f"0.99 reached in {len(within_30)}/{len(default)} seeds", auc_30 >= 0.99),
        ("default: 10-way one-shot >= 0.95 (median)", f"{oneshot:.3f}", oneshot >= 0.95),
        ("pipeline overhead <= 10 %", f"{100 * (1 - ratio):.0f} %", ratio >= 0.9),
    ]
    if umap_400 is not None:
        rows.append(("warm UMAP of 400 embeddings <= 2 s", f"{umap_400:.2f} s", umap_400 <= 2))
    if verify_1000 is not None:
        rows.append(("verify one snapshot with 1,000 identities <= 50 ms", f"{1000 * verify_1000:.0f} ms",
                     verify_1000 <= 0.05))
    return ["## Against the targets", "", "| target | measured | met |", "| --- | --- | --- |",
            *[f"| {t} | {m} | {'yes' if ok else 'no'} |" for t, m, ok in rows], ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ORL), help="identity-folder dataset (default: the ORL faces)")
    parser.add_argument("--seconds", type=float, default=60.0, help="training budget per setup and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="split and training seeds")
    parser.add_argument("--setups", nargs="+", default=["default", "tutorial", "koch"], choices=["default", "tutorial", "koch"])
    parser.add_argument("--quick", action="store_true", help="a few seconds in all: 2 s budgets, one seed, "
                        "no UMAP; checks that the benchmark works, measures nothing worth keeping")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for BENCHMARKS.md, benchmarks.json, "
                        "auc_vs_time.png (default: docs/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.seeds = min(args.seconds, 2.0), args.seeds[:1]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    split = None
    quality = []
    with tempfile.TemporaryDirectory() as workdir:
        for seed in args.seeds:
            for name in args.setups:
                print(f"{name}, seed {seed}: training {args.seconds:.0f} s", file=sys.stderr, flush=True)
                run = quality_run(name, setups(args.seconds)[name], args.data, args.seconds, seed, Path(workdir))
                quality.append(run)
                print(f"  AUC {run['auc']:.4f}  EER {run['eer']:.4f}  one-shot {run['oneshot']:.3f}", file=sys.stderr)
        default = TrainConfig(data=args.data)
        train_set, val_set, _ = prepare_data(default)
        split = f"{len(train_set.identities)} / {len(val_set.identities)}"
        latency = []
        default_run = Path(workdir) / f"default-{args.seeds[0]}"
        if default_run.exists():
            latency += verify_latency(default_run, val_set, (10,) if args.quick else (10, 1000), Path(workdir))
        loading = [] if args.quick else loading_throughput(args.data, 20.0, Path(workdir))
    raw = raw_throughput(default, seconds=1.0 if args.quick else 5.0)
    pipeline = [r["pipeline_images_per_second"] for r in quality if "pipeline_images_per_second" in r and r["setup"] == "default"]
    speed = {"raw": raw, "pipeline_images_per_second": float(np.median(pipeline)) if pipeline else float("nan"),
             "matmul_gflops": matmul_gflops(1024 if args.quick else 2048)}
    speed["pipeline_ratio"] = speed["pipeline_images_per_second"] / raw["images_per_second"]
    # UMAP's first call compiles for about 10 s: measured in full runs only, so the quick mode stays quick.
    for n in (() if args.quick else (400, 2000)):
        u = umap_latency(n)
        latency += [{"what": f"UMAP 2-D of {n} embeddings, cold (fresh process)", "seconds": u["cold_seconds"]},
                    {"what": f"UMAP 2-D of {n} embeddings, warm", "seconds": u["warm_seconds"]}]
    if not args.quick:
        render = first_render_seconds()
        if render is not None:
            latency.append({"what": "dashboard: `streamlit run app.py` to the first page served", "seconds": render})
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "data": Path(args.data).name, "budget": args.seconds, "seeds": args.seeds,
               "setups": args.setups, "split": split, "quality": quality, "speed": speed, "latency": latency,
               "loading": loading}
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    (out / "benchmarks.json").write_text(json.dumps(results, indent=1) + "\n")
    chart(quality, out / "auc_vs_time.png")
    (out / "BENCHMARKS.md").write_text(report(results, command.strip()))
    print(f"wrote {out / 'BENCHMARKS.md'}", file=sys.stderr)
    return 0

