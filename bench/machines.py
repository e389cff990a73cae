"""The photographs default on this machine, by arithmetic: trained for the same seconds in float32, in
bfloat16 where the CPU has it, and in float32 with the CPU limited to AVX2 (the instructions most CPUs
have: `ATEN_CPU_CAPABILITY=avx2`, oneDNN and MKL likewise), each in a fresh process so the limit holds.

Each training is scored as the issue that asked for the table checks it: LFW View 1 (`pairsDevTest.txt`,
its people excluded from training) in colour and in greyscale, and every ORL person (another camera, all
unseen). Beside it, the same process measures the network's own step on a fixed batch (forward, backward,
update), so the training loop's rate is compared with it side by side, and the dense-arithmetic peak
(a 2048 x 2048 matrix product) that the step's GFLOP/s is a fraction of. On a GPU (`python -m bench
--device cuda --parts machines`) the table has one row, the GPU's in bf16, with the share of the run the GPU
was busy (nvidia-smi's utilisation, sampled every second) and the network alone at batch 512 too.

    python -m bench.machines one --precision fp32 --seconds 300 --seed 0 --out DIR   # one training, JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def rows(bf16: bool, seconds: float, avx2_seconds: float, seeds: list[int], fp32_seeds: int,
         quick: bool = False, device: str = "cpu") -> list[dict]:
    """The rows this machine can give: (label, precision, environment, seconds, seeds, device); `quick`: the
    first. On CUDA, the GPU's row alone, in bf16 (precision auto's choice there)."""
    if device == "cuda":
        return [{"label": f"{torch.cuda.get_device_name()}, bf16 (precision auto)", "precision": "bf16", "env": {},
                 "seconds": seconds, "seeds": seeds[:1] if quick else seeds, "device": "cuda"}]
    capability = torch.backends.cpu.get_cpu_capability()
    out = []
    if bf16:
        out.append({"label": f"{capability}, bf16 (precision auto)", "precision": "bf16", "env": {},
                    "seconds": seconds, "seeds": seeds})
    out.append({"label": f"{capability}, fp32", "precision": "fp32", "env": {}, "seconds": seconds,
                "seeds": seeds[:fp32_seeds] if bf16 else seeds})
    if capability == "AVX512":
        out.append({"label": "limited to AVX2, fp32", "precision": "fp32", "env": AVX2_ONLY,
                    "seconds": avx2_seconds, "seeds": seeds})
    out = [{**row, "device": "cpu"} for row in out]
    return out[:1] if quick else out


def measure(row: dict, seed: int, images: Path, crops: str, data_dir: Path, workdir: Path,
            raw_seconds: float = 10.0) -> dict:
    """One training of `row` in a fresh process with its environment; the figures it prints."""
    out = workdir / f"{row['precision']}-{'avx2' if row['env'] else 'native'}-{seed}"
    command = [sys.executable, "-m", "bench.machines", "one", "--precision", row["precision"],
               "--seconds", str(row["seconds"]), "--seed", str(seed), "--out", str(out), "--photos", str(images),
               "--crops", crops, "--data-dir", str(data_dir), "--raw-seconds", str(raw_seconds),
               "--device", row.get("device", "cpu")]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **row["env"]}, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "label": row["label"], "seed": seed}


def one(precision: str, seconds: float, seed: int, out: Path, images: Path, crops: str, data_dir: Path,
        raw_seconds: float = 10.0, device: str = "cpu") -> dict:
    from siamese.evaluate.run import dataset_scores, pairs_file_scores, protocol_report
    from siamese.runs.files import read_metrics
    from siamese.runs.trained import load_trained

    from siamese.recipes import PHOTOGRAPHS

    from .setups import setup_config, train_setup
    from .speed import matmul_gflops, raw_throughput

    view1 = images.parent / "pairsDevTest.txt"
    # The photographs default, on LFW's photographs or on their aligned crops (the GPU machine's copy of LFW,
    # ../shared/gpu/README.md), which `faces` auto takes whole where the dataset's defaults would be the crops'.
    config = setup_config("default", str(images), data_dir, **{
        **PHOTOGRAPHS, "faces": "auto", "max_seconds": seconds, "seed": seed, "precision": precision,
        "device": device, "exclude_people": str(images.parent / "peopleDevTest.txt")})
    raw = raw_throughput(config, raw_seconds, device)
    wide = raw_throughput(dataclasses.replace(config, p=128), raw_seconds, device) if device == "cuda" else None
    peak = {"fp32": matmul_gflops(device=device)}
    if precision == "bf16":
        peak["bf16"] = matmul_gflops(dtype=torch.bfloat16, device=device)
    with GpuBusy(device) as busy:
        run = train_setup("default", config, out, data_dir)
    trained = load_trained(run)
    colour = protocol_report(pairs_file_scores(trained, view1, images, data_dir)[0])
    grey = protocol_report(pairs_file_scores(trained, view1, images, data_dir, greyscale=True)[0])
    orl = dataset_scores(trained, crops, data_dir)[0]
    steps = read_metrics(run / "metrics.jsonl", "step")
    end = read_metrics(run / "metrics.jsonl", "end")[-1]
    images_trained = sum(r["images"] for r in steps)
    in_steps = sum(r["images"] / r["images_per_second"] for r in steps)
    return {"capability": torch.backends.cpu.get_cpu_capability(), "device": device, "raw_512": wide,
            "gpu_busy": busy.share, "precision": precision, "seconds": seconds,
            "run": str(run), "epochs": end["epoch"], "steps": end["step"], "loop_images_per_second": images_trained / in_steps,
            "wall_images_per_second": images_trained / end["elapsed"], "raw": raw, "matmul_gflops": peak,
            "outside_steps_seconds": end["elapsed"] - in_steps,
            "view1": _short(colour), "view1_grey": _short(grey), "orl_auc": orl.curve.auc, "orl_eer": orl.eer}


class GpuBusy:
    """The mean share of the time a CUDA GPU was busy (nvidia-smi's utilisation, %, sampled every second)
    while the block runs; `share` is None on a CPU or where nvidia-smi cannot tell."""

    def __init__(self, device: str):
        self.device, self.samples, self.share = device, [], None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "GpuBusy":
        if self.device == "cuda":
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.share = sum(self.samples) / len(self.samples) / 100 if self.samples else None

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                      "--id", str(torch.cuda.current_device())], capture_output=True, text=True,
                                     timeout=5).stdout
                self.samples.append(float(out.split()[0]))
            except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                return


def _short(report: dict) -> dict:
    return {k: report[k] for k in ("accuracy", "accuracy_sem", "auc", "eer", "tar_at_far")}


def summary(results: list[dict]) -> list[dict]:
    """Per row: medians over its seeds of the figures the table shows."""
    table = []
    for label in dict.fromkeys(r["label"] for r in results):
        rs = [r for r in results if r["label"] == label]
        med = lambda f: float(np.median([f(r) for r in rs]))  # noqa: E731
        table.append({"label": label, "precision": rs[0]["precision"], "seconds": rs[0]["seconds"],
                      "seeds": [r["seed"] for r in rs],
                      "view1": [r["view1"]["accuracy"] for r in rs], "view1_auc": med(lambda r: r["view1"]["auc"]),
                      "view1_grey": [r["view1_grey"]["accuracy"] for r in rs],
                      "view1_grey_auc": med(lambda r: r["view1_grey"]["auc"]), "orl_auc": [r["orl_auc"] for r in rs],
                      "epochs": med(lambda r: r["epochs"]), "steps": med(lambda r: r["steps"]),
                      "loop": med(lambda r: r["loop_images_per_second"]),
                      "raw": med(lambda r: r["raw"]["images_per_second"]),
                      "raw_gflops": med(lambda r: r["raw"]["gflops"]),
                      "peak": med(lambda r: r["matmul_gflops"].get(r["precision"], r["matmul_gflops"]["fp32"])),
                      "wall": med(lambda r: r["wall_images_per_second"]),
                      "gpu_busy": med(lambda r: r["gpu_busy"]) if rs[0].get("gpu_busy") is not None else None,
                      "outside_steps_share": med(lambda r: r["outside_steps_seconds"] / r["seconds"])})
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.machines", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    single = sub.add_parser("one", help="train and score one default run; print its figures as JSON")
    single.add_argument("--precision", choices=("fp32", "bf16"), required=True)
    single.add_argument("--seconds", type=float, required=True)
    single.add_argument("--seed", type=int, default=0)
    single.add_argument("--out", required=True)
    single.add_argument("--photos", required=True)
    single.add_argument("--crops", required=True)
    single.add_argument("--data-dir", required=True)
    single.add_argument("--raw-seconds", type=float, default=10.0, help="seconds of the network's own step")
    single.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = one(args.precision, args.seconds, args.seed, Path(args.out), Path(args.photos), args.crops,
                 Path(args.data_dir), args.raw_seconds, args.device)
    print(json.dumps({**result, "process_seconds": time.perf_counter() - start}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
