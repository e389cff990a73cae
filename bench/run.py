"""Benchmark: verification quality against training time on photographs (LFW's protocols) and on face
crops (ORL), the webcam demo measured, training speed, and the dashboard's latencies.

    python -m bench                                # everything: about 3 hours on 2 CPU cores
    python -m bench --parts machines view2         # a part or two
    python -m bench --quick --crops DIR --parts crops speed   # seconds: checks that it still runs
    python -m bench --device cuda                  # on a GPU; says so and stops where there is none

Writes docs/BENCHMARKS.md, docs/benchmarks.json, docs/auc_vs_time.png and docs/lfw_vs_time.png. Timings
are measured here, in one process, one at a time; the test suite never asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from siamese.config import TrainConfig
from siamese.data.folders import scan_folder
from siamese.data.protocol_files import read_people
from siamese.device import pick_device, uses_bf16
from siamese.errors import ModelError
from siamese.recipes import PHOTOGRAPHS
from siamese.runs.folder import create_run, run_config
from siamese.runs.trained import run_dataset
from siamese.train.loop import train

from .demo import webcam_demo
from .pages import available as pages_available
from .pages import page_timings
from .machines import measure as machine_measure
from .machines import rows as machine_rows
from .machines import summary as machine_summary
from .quality import crops_run, photos_run, view2_by_rules
from . import search, transfer
from .report import chart, report
from .setups import SETUPS, setup_config, split_sizes
from .speed import (
    explain_latency,
    face_preparation_seconds,
    first_render_seconds,
    loading_throughput,
    matmul_gflops,
    raw_throughput,
    umap_latency,
    verify_latency,
)

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
PARTS = ("machines", "view2", "photos", "crops", "demo", "identities", "finetune", "adapt", "pages", "speed",
         "explain", "search", "search_lfw", "search_workers")


def machine(device: torch.device) -> dict:
    return {"cpu_cores": os.cpu_count(), "cpu_model": cpu_model(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cuda": torch.cuda.is_available(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "bf16": uses_bf16("auto", device)}


def cpu_model() -> str:
    """The CPU's name as the kernel gives it ('AMD EPYC', 'Intel(R) Xeon(R) ...'), or the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--photos", default=str(DATASETS / "lfw" / "images"),
                        help="LFW's images folder; its protocol files are read from the folder above it")
    parser.add_argument("--crops", default=str(DATASETS / "orl_faces"), help="a dataset of face crops (ORL)")
    parser.add_argument("--photo-seconds", type=float, default=300.0, help="training budget on photographs")
    parser.add_argument("--crop-seconds", type=float, default=60.0, help="training budget on face crops")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="split and training seeds")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    parser.add_argument("--photo-setup-seeds", type=int, default=1, help="seeds for the setups other than "
                        "the default on photographs (5 minutes each)")
    parser.add_argument("--fp32-seeds", type=int, default=1, help="machines: seeds of the fp32 row where the "
                        "CPU has bf16 (the bf16 row, precision auto's, gets every seed)")
    parser.add_argument("--avx2-seconds", type=float, default=None, help="machines: the budget of the row "
                        "limited to AVX2 (default: --photo-seconds)")
    parser.add_argument("--view2-epochs", type=int, default=None, help="View 2: train each fold for this many "
                        "epochs instead of --photo-seconds (the same training on a busy machine)")
    parser.add_argument("--demo-draws", type=int, default=10, help="demo: random draws of who is enrolled")
    parser.add_argument("--parent", help="finetune, adapt, demo: the default LFW run to start from (default: the "
                        "identities part's, else one trained for --photo-seconds)")
    parser.add_argument("--adapt-seconds", type=float, default=60.0, help="adapt: the adaptation's budget")
    parser.add_argument("--search-trials", type=int, default=16, help="search: ORL trials per study (default: 16)")
    parser.add_argument("--search-epochs", type=int, default=40, help="search: a trial's epochs at most (default: 40)")
    parser.add_argument("--lfw-search-trials", type=int, default=12, help="search_lfw: trials (default: 12)")
    parser.add_argument("--lfw-search-seconds", type=float, default=60.0, help="search_lfw: a trial's budget")
    parser.add_argument("--workers-trials", type=int, default=8, help="search_workers: trials per study (default: 8)")
    parser.add_argument("--workers-epochs", type=int, default=10, help="search_workers: a trial's epochs")
    parser.add_argument("--merge", action="store_true", help="keep the figures of the report already in --out "
                        "and replace only those of the parts measured now")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--quick", action="store_true", help="2 s budgets, one seed, no UMAP, face preparation, "
                        "loading or dashboard start: checks that the benchmark works, measures nothing worth keeping")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="folder for the report (default: docs/)")
    parser.add_argument("--data-dir", default=str(ROOT / "data"), help="the data folder, whose face cache "
                        "is used and filled (default: the project's data/, so faces are prepared once)")
    args = parser.parse_args(argv)
    if args.quick:
        args.photo_seconds, args.crop_seconds, args.adapt_seconds, args.seeds = 2.0, 2.0, 2.0, args.seeds[:1]
        args.search_trials, args.search_epochs, args.lfw_search_trials, args.lfw_search_seconds = 5, 5, 2, 2.0
        args.workers_trials, args.workers_epochs = 2, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        device = pick_device(args.device)
    except ModelError as exc:
        print(f"{exc}: nothing was measured", file=sys.stderr)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data_dir)
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    results = {"date": time.strftime("%Y-%m-%d"), "machine": machine(device), "device": str(device),
               "command": command.strip()}
    if args.merge and (out / "benchmarks.json").is_file():
        previous = json.loads((out / "benchmarks.json").read_text())
        if "command" not in previous:  # a report from before the command was kept in the JSON: its text has it
            said = re.search(r"Measured by `([^`]*)`", (out / "BENCHMARKS.md").read_text(encoding="utf-8"))
            previous["command"] = said.group(1) if said else "an earlier run of the benchmark"
        merged = previous.get("merged", []) + [{"date": results["date"], "command": command.strip()}]
        results = {**previous, "merged": merged}
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as workdir:
        runs = Path(workdir) / "runs"
        if "machines" in args.parts:
            _machines(args, results, runs / "machines", data_dir, device, log)
        if "view2" in args.parts:
            _view2(args, results, runs / "view2", data_dir, str(device), log)
        if "photos" in args.parts:
            _photos(args, results, runs / "photos", data_dir, str(device), log)
        if "crops" in args.parts:
            _crops(args, results, runs / "crops", data_dir, str(device), log)
        if "demo" in args.parts:
            _demo(args, results, data_dir, log)
        if {"identities", "finetune", "adapt"} & set(args.parts):
            results["transfer_machine"] = machine(device)
        if "identities" in args.parts:
            results["identities"] = transfer.identities(Path(args.photos), Path(args.crops), args.photo_seconds,
                                                        args.seeds[0], data_dir, runs / "identities", log)
        if {"finetune", "adapt"} & set(args.parts):
            _transfer(args, results, runs / "transfer", data_dir, log)
        if "pages" in args.parts:
            _pages(args, results, data_dir, log)
        if "speed" in args.parts:
            _speed(args, results, runs, data_dir, Path(workdir), log)
        if "explain" in args.parts:
            log("explaining a pair")
            results["explain"] = explain_latency(TrainConfig.from_dict({**PHOTOGRAPHS, "data": args.photos}),
                                                 2 if args.quick else 5)
        _search(args, results, runs, data_dir, log)
    (out / "benchmarks.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    if results.get("crops"):
        chart(results["crops"], "val_auc", "validation AUC", out / "auc_vs_time.png")
    if results.get("photos"):
        chart(results["photos"], "accuracy", "LFW View 1 accuracy (10-fold)", out / "lfw_vs_time.png")
    (out / "BENCHMARKS.md").write_text(report(results, results.get("command", command.strip())))
    log(f"wrote {out / 'BENCHMARKS.md'}")
    return 0


def _search(args, results, runs, data_dir, log) -> None:
    """The search's parts, each in a runs folder of its own (its studies in that folder's search.db)."""
    if "search" in args.parts:
        log(f"search: ORL, {args.search_trials} trials of at most {args.search_epochs} epochs, pruned and not")
        results["search"] = search.pruning(Path(args.crops), args.seeds, args.search_trials, args.search_epochs,
                                           runs / "search", data_dir, log)
    if "search_lfw" in args.parts:
        log(f"search: LFW View 1, {args.lfw_search_trials} trials of {args.lfw_search_seconds:g} s")
        results["search_lfw"] = search.lfw(Path(args.photos), args.lfw_search_trials, args.lfw_search_seconds,
                                           runs / "search-lfw", data_dir, log)
    if "search_workers" in args.parts:
        results["search_workers"] = search.workers(Path(args.crops), args.workers_trials, args.workers_epochs,
                                                   runs / "search-workers", data_dir, log)


def _photos(args, results, runs, data_dir, device, log) -> None:
    images = Path(args.photos)
    protocol = images.parent
    if not (protocol / "pairsDevTest.txt").is_file():
        log(f"no LFW protocol files next to {images}: the photographs part was skipped")
        return
    config = setup_config("default", str(images), data_dir, exclude_people=str(protocol / "peopleDevTest.txt"))
    results["photos_setup"] = {"data": images.parent.name + "/" + images.name, "seconds": args.photo_seconds,
                               "seeds": args.seeds, "setups": args.setups, "split": split_sizes(config, data_dir),
                               "recipe": PHOTOGRAPHS}
    results["photos"] = []
    for name in args.setups:
        for seed in (args.seeds if name == "default" else args.seeds[:args.photo_setup_seeds]):
            log(f"photographs: {name}, seed {seed}, {args.photo_seconds:.0f} s")
            run = photos_run(name, images, protocol, args.photo_seconds, seed, device, runs, data_dir)
            results["photos"].append(run)
            log(f"  View 1 accuracy {run['view1']['accuracy']:.3f}  AUC {run['view1']['auc']:.4f}")


def _machines(args, results, runs, data_dir, device, log) -> None:
    """The photographs default by arithmetic on this CPU (bench/machines.py), with the time to prepare
    LFW's faces first (every training after reads them)."""
    images = Path(args.photos)
    if device.type not in ("cpu", "cuda") or not (images.parent / "pairsDevTest.txt").is_file():
        log("machines: a CPU or a CUDA GPU, and LFW with its protocol files, are needed; skipped")
        return
    if not args.quick and device.type == "cpu":
        log("preparing LFW's faces into an empty cache, to time it")
        results["face_preparation"] = face_preparation_seconds(images, data_dir)
    rows = machine_rows(results["machine"]["bf16"], args.photo_seconds, args.avx2_seconds or args.photo_seconds,
                        args.seeds, args.fp32_seeds, quick=args.quick, device=device.type)
    results["machines"] = []
    for row in rows:
        for seed in row["seeds"]:
            log(f"machines: {row['label']}, seed {seed}, {row['seconds']:.0f} s")
            result = machine_measure(row, seed, images, args.crops, data_dir, runs, 1.0 if args.quick else 10.0)
            results["machines"].append(result)
            log(f"  View 1 {result['view1']['accuracy']:.3f} (grey {result['view1_grey']['accuracy']:.3f}), "
                f"ORL AUC {result['orl_auc']:.4f}, {result['epochs']} epochs")
    results["machines_table"] = machine_summary(results["machines"])


def _view2(args, results, runs, data_dir, device, log) -> None:
    images = Path(args.photos)
    if not (images.parent / "people.txt").is_file():
        log(f"no people.txt next to {images}: View 2 was skipped")
        return
    results["view2"] = view2_by_rules(images, images.parent, args.photo_seconds, args.view2_epochs, args.seeds[0],
                                      device, runs, data_dir, log)


def _demo(args, results, data_dir, log) -> None:
    """The webcam demo of a default photographs run (seed 0, the machine's default precision) on people it
    never saw: LFW's View 1 test people, and every person of the face crops (ORL: another camera)."""
    default = {"run": args.parent} if args.parent else _default_photos_run(results)
    if default is None:
        log("no photographs run: the webcam demo was skipped")
        return
    images = Path(args.photos)
    test_people = set(read_people(images.parent / "peopleDevTest.txt"))
    people = {"LFW": {p: files for p, files in scan_folder(images).identities.items() if p in test_people},
              Path(args.crops).name: scan_folder(args.crops).identities}
    results["demo"] = {}
    for name, photos in people.items():
        log(f"webcam demo on {name}")
        results["demo"][name] = webcam_demo(Path(default["run"]), photos, data_dir, draws=args.demo_draws)


def _transfer(args, results, runs, data_dir, log) -> None:
    """Fine-tuning on ORL and adapting to enrolled people, from the default LFW run: the identities
    part's (measured in this call), else --parent, else one trained here for --photo-seconds."""
    parent = transfer.default_run(results) if "identities" in args.parts else None
    if parent is None and args.parent:
        parent = Path(args.parent)
    if parent is None:
        config = transfer.lfw_config(Path(args.photos), data_dir, args.photo_seconds, args.seeds[0])
        log(f"training the default LFW run to start from, {args.photo_seconds:.0f} s")
        parent = create_run(config, runs, "lfw-default")
        train(config, parent, data_dir=data_dir)
    results["transfer_parent"] = {"run": str(parent), "config": run_config(parent).to_dict()}
    if "finetune" in args.parts:
        budgets = [(args.crop_seconds, seed) for seed in args.seeds] + [(args.crop_seconds / 2, 7)]
        results["finetune"] = transfer.finetune(parent, Path(args.crops), budgets[:1] if args.quick else budgets,
                                                data_dir, runs, log)
    if "adapt" in args.parts:
        images = Path(args.photos)
        test_people = set(read_people(images.parent / "peopleDevTest.txt"))
        people = {Path(args.crops).name: scan_folder(args.crops).identities,
                  "LFW View 1 test people": {p: f for p, f in scan_folder(images).identities.items() if p in test_people}}
        results["adapt"] = transfer.adapt(parent, people, args.adapt_seconds, data_dir, log)


def _default_photos_run(results) -> dict | None:
    """The default photographs run of seed 0 at the machine's own precision: the photographs part's, else
    the machines part's first."""
    default = next((r for r in results.get("photos", []) if r["setup"] == "default"), None)
    return default or next(iter(results.get("machines", [])), None)


def _pages(args, results, data_dir, log) -> None:
    """Every page timed in Chromium on a fresh dashboard over the default LFW run: first visit, warm, and
    while a run trains on the face crops."""
    default, missing = _default_photos_run(results), pages_available()
    if default is None or missing or args.quick:
        log(f"page timings skipped: {missing or 'no photographs run' if not args.quick else 'quick'}")
        return
    log("page timings in Chromium")
    results["pages"] = page_timings(Path(default["run"]), data_dir,
                                    ["train", "--data", args.crops, "--epochs", "1000", "--seed", "0"])


def _crops(args, results, runs, data_dir, device, log) -> None:
    config = setup_config("default", args.crops, data_dir)
    results["crops_setup"] = {"data": Path(args.crops).name, "seconds": args.crop_seconds, "seeds": args.seeds,
                              "setups": args.setups, "split": split_sizes(config, data_dir)}
    results["crops"] = []
    for seed in args.seeds:
        for name in args.setups:
            log(f"face crops: {name}, seed {seed}, {args.crop_seconds:.0f} s")
            run = crops_run(name, args.crops, args.crop_seconds, seed, device, runs, data_dir)
            results["crops"].append(run)
            log(f"  AUC {run['auc']:.4f}  EER {run['eer']:.4f}  one-shot {run['oneshot']:.3f}")


def _speed(args, results, runs, data_dir, workdir, log) -> None:
    log("speed")
    seconds = 1.0 if args.quick else 5.0
    raw = {"face crops default": raw_throughput(TrainConfig(), seconds),
           "photographs default": raw_throughput(TrainConfig.from_dict(PHOTOGRAPHS), seconds)}
    pipeline = [r["pipeline_images_per_second"] for r in results.get("crops", [])
                if r["setup"] == "default" and "pipeline_images_per_second" in r]
    speed = {"raw": raw, "matmul_gflops": matmul_gflops(1024 if args.quick else 2048)}
    if pipeline:
        speed["pipeline_images_per_second"] = float(np.median(pipeline))
        speed["pipeline_ratio"] = speed["pipeline_images_per_second"] / raw["face crops default"]["images_per_second"]
    results["speed"] = speed
    results["loading"] = [] if args.quick else loading_throughput(args.crops, 20.0, workdir)
    latency = []
    default = next((r for r in results.get("crops", []) if r["setup"] == "default"), None)
    if default:
        faces = run_dataset(default["run"], "validation", data_dir=data_dir)
        latency += verify_latency(Path(default["run"]), faces, (10,) if args.quick else (10, 1000), workdir)
    for n in (() if args.quick else (400, 2000)):
        u = umap_latency(n)
        latency += [{"what": f"UMAP 2-D of {n} embeddings, cold (fresh process)", "seconds": u["cold_seconds"]},
                    {"what": f"UMAP 2-D of {n} embeddings, warm", "seconds": u["warm_seconds"]}]
    if not args.quick:
        render = first_render_seconds()
        if render is not None:
            latency.append({"what": "dashboard: `streamlit run app.py` to the first page served", "seconds": render})
    results["latency"] = latency
