"""The benchmark's quick mode still runs end to end, every part, and writes its outputs."""

import importlib.util
import json
from pathlib import Path

import pytest

from bench import run as bench

_spec = importlib.util.spec_from_file_location("shared_conftest", Path(__file__).parents[1] / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)


def lfw_like(root: Path) -> Path:
    """images/<Name>/<Name>_NNNN.png for 12 synthetic people, with View 1 and View 2 files beside."""
    names = [f"P_{chr(65 + i)}" for i in range(12)]
    for identity, name in enumerate(names):
        (root / "images" / name).mkdir(parents=True)
        for k in range(1, 6):
            _shared.identity_image(identity, k, 32).save(root / "images" / name / f"{name}_{k:04d}.png")
    test = names[8:]
    (root / "peopleDevTest.txt").write_text(f"{len(test)}\n" + "".join(f"{n}\t5\n" for n in test))
    matched = [f"{n}\t1\t2" for n in test]
    mismatched = [f"{test[i]}\t1\t{test[(i + 1) % 4]}\t2" for i in range(4)]
    (root / "pairsDevTest.txt").write_text("4\n" + "\n".join(matched + mismatched) + "\n")
    # View 2: two folds of people, each fold's pairs of its own people only, as LFW's are
    folds = [["P_I", "P_J"] + names[:4], ["P_K", "P_L"] + names[4:8]]
    view2 = [f"{a}\t1\t2\n{b}\t1\t2\n{a}\t1\t{b}\t2\n{b}\t3\t{a}\t4" for a, b, *_ in folds]
    (root / "pairs.txt").write_text("2 2\n" + "\n".join(view2) + "\n")
    (root / "people.txt").write_text("2\n" + "".join(f"{len(f)}\n" + "".join(f"{n}\t5\n" for n in f) for f in folds))
    return root / "images"


def test_quick_benchmark_runs_every_part_and_writes_report_json_and_charts(make_identity_folders, tmp_path):
    crops = make_identity_folders(n_identities=8, n_images=4)
    photos = lfw_like(tmp_path / "lfw")
    out = tmp_path / "docs"
    assert bench.main(["--quick", "--crops", str(crops), "--photos", str(photos), "--setups", "default", "tutorial",
                       "--data-dir", str(tmp_path / "data"), "--out", str(out)]) == 0
    results = json.loads((out / "benchmarks.json").read_text())
    assert {r["setup"] for r in results["crops"]} == {r["setup"] for r in results["photos"]} == {"default", "tutorial"}
    for run in results["crops"]:
        assert 0.0 <= run["auc"] <= 1.0 and 0.0 <= run["oneshot"] <= 1.0 and run["curve"]
    for run in results["photos"]:
        assert run["view1"]["genuine_pairs"] == run["view1"]["impostor_pairs"] == 4
        assert 0.0 <= run["view1"]["accuracy"] <= 1.0 and run["curve"]
    assert set(results["demo"]) == {"LFW", "faces"}
    row = results["machines_table"][0]
    assert row["precision"] in ("fp32", "bf16") and 0 <= row["view1"][0] <= 1 and 0 <= row["orl_auc"][0] <= 1
    assert row["raw"] > 0 and row["loop"] > 0 and row["steps"] >= 1
    assert [f["fold"] for f in results["view2"]["folds"]] == [1, 2] and 0 <= results["view2"]["accuracy"] <= 1
    assert results["speed"]["raw"]["face crops default"]["images_per_second"] > 0
    assert 0 < results["speed"]["pipeline_ratio"]
    text = (out / "BENCHMARKS.md").read_text()
    assert "## Photographs: LFW" in text and "## Face crops: ORL" in text and "| tutorial |" in text
    assert "## The webcam demo, measured" in text and "GFLOP/s" in text and "## Against the targets" in text
    assert "## The photographs default, by machine" in text and "## LFW View 2, by its rules" in text
    assert set(results["identities"]["runs"]) == {"two photos or more", "every person", "beside half of ORL"}
    assert [(r["how"], r["seconds"]) for r in results["finetune"]] == [("from LFW", 2.0), ("from scratch", 2.0)]
    # Synthetic people have no face for the demo's detector to find: the part says so for each set of people.
    assert {name: d.get("skipped") for name, d in results["adapt"].items()} == dict.fromkeys(
        ("faces", "LFW View 1 test people"), "faces were found for 0 people: too few for a demo")
    assert "## Who LFW trains on" in text and "## Face crops from what LFW taught" in text
    assert "## Adapting to the people enrolled" in text
    pruned, full = results["search"][0]["median"], results["search"][0]["none"]
    assert full["epochs"] == 25 and pruned["epochs"] <= 25 and 0 <= full["best_auc"] <= 1  # 5 trials of 5 epochs
    assert 0 <= results["search_lfw"]["best_auc"] <= 1 and 0 <= results["search_lfw"]["default_auc"] <= 1
    assert [r["workers"] for r in results["search_workers"]] == [1, 2]
    assert "## Hyperparameter search: what pruning saves (ORL)" in text and "## Search workers" in text
    for chart in ("auc_vs_time.png", "lfw_vs_time.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # one part measured again, merged into the report: the others' figures stay
    assert bench.main(["--quick", "--parts", "explain", "--merge", "--photos", str(photos), "--out", str(out)]) == 0
    merged = json.loads((out / "benchmarks.json").read_text())
    assert merged["crops"] == results["crops"] and merged["command"] == results["command"]
    assert [row["what"].split(", ")[-1] for row in merged["explain"]] == ["decomposition", "occlusion"]
    text = (out / "BENCHMARKS.md").read_text()
    assert "## Face crops: ORL" in text and "Re-measured by `python -m bench --quick --parts explain --merge" in text
    assert "explain a pair at 64 px (face_resnet_lite), decomposition" in text


def test_a_device_that_is_not_there_is_said_and_skipped(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        return
    assert bench.main(["--device", "cuda", "--out", str(tmp_path / "docs")]) == 0
    assert "cuda was asked for but is not available" in capsys.readouterr().err
    assert not (tmp_path / "docs").exists()


def test_face_preparation_is_timed_into_the_data_folders_cache_when_it_has_none(tmp_path, monkeypatch):
    from PIL import Image

    from bench.speed import face_preparation_seconds
    from siamese.faces import cache
    from siamese.faces.cache import FACES_DIR, cached_faces

    orl = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "orl_faces" / "s1"
    if not orl.is_dir():
        pytest.skip(f"{orl} is absent: face preparation needs real faces")
    photos = tmp_path / "photos"
    for person, image in (("ann", "1.pgm"), ("bob", "2.pgm")):
        (photos / person).mkdir(parents=True)
        face = Image.open(orl / image).convert("RGB").resize((276, 336))
        for k in range(2):
            scene = Image.new("RGB", (640, 480), (120, 140, 160))
            scene.paste(face, (120 + 60 * k, 60))
            scene.save(photos / person / f"{k}.jpg")
    data = tmp_path / "data"
    detected = []
    prepare_one = cache.prepare_one
    monkeypatch.setattr(cache, "prepare_one", lambda item: detected.append(item) or prepare_one(item))
    (data / FACES_DIR / "photos-0000000000000000.partial").mkdir(parents=True)  # an unfinished one
    first = face_preparation_seconds(photos, data)
    assert first["photos"] == 4 and first["no_face"] == 0 and len(detected) == 4  # 4 photos: in this process
    assert cached_faces(photos, data) is not None  # the runs that follow use it
    assert not list((data / FACES_DIR).glob("*.partial"))
    kept = sorted(p.name for p in (data / FACES_DIR).iterdir())
    second = face_preparation_seconds(photos, data)  # a warm cache: timed into an empty one elsewhere
    assert second["photos"] == 4 and len(detected) == 8  # all detected again, not read from the cache
    assert sorted(p.name for p in (data / FACES_DIR).iterdir()) == kept


def test_the_machines_table_has_a_gpu_row_with_its_busy_share(monkeypatch):
    """`--device cuda`: one row, the GPU's in bf16, reported with the loop over the wall clock and the share
    of the time the GPU was busy (a CPU's rows say '—' there)."""
    import torch

    from bench import machines
    from bench.report import _machines

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *args: "NVIDIA H200")
    (row,) = machines.rows(True, 300.0, 200.0, [0, 1], 1, device="cuda")
    assert (row["label"], row["precision"], row["device"], row["seeds"]) == (
        "NVIDIA H200, bf16 (precision auto)", "bf16", "cuda", [0, 1])
    assert {r["device"] for r in machines.rows(False, 300.0, 200.0, [0], 1)} == {"cpu"}
    with machines.GpuBusy("cpu") as busy:
        pass
    assert busy.share is None

    short = {"accuracy": 0.9, "accuracy_sem": 0.01, "auc": 0.96, "eer": 0.1, "tar_at_far": {}}
    measured = {"precision": "bf16", "seconds": 60.0, "view1": short, "view1_grey": short, "orl_auc": 0.99,
                "epochs": 60, "steps": 2880, "loop_images_per_second": 9000.0, "wall_images_per_second": 8100.0,
                "raw": {"images_per_second": 10000.0, "gflops": 500.0}, "matmul_gflops": {"fp32": 50000.0,
                "bf16": 700000.0}, "outside_steps_seconds": 6.0}
    table = machines.summary([{**measured, "label": row["label"], "seed": 0, "gpu_busy": 0.72},
                              {**measured, "label": "AVX512, fp32", "seed": 0, "gpu_busy": None}])
    text = "\n".join(_machines({"machines_table": table}))
    assert "| NVIDIA H200, bf16 (precision auto) | 10000 | 9000 | 0.90 | 8100 |" in text and "| 10 % | 72 % |" in text
    assert "| AVX512, fp32 |" in text and "| 10 % | — |" in text


def test_the_network_alone_is_timed_as_the_loop_steps(make_identity_folders):
    from siamese.config import TrainConfig

    from bench.speed import raw_throughput

    config = TrainConfig(data="digits", model="compact", input_size=32, embedding_dim=16, p=4, k=2, device="cpu")
    result = raw_throughput(config, 0.2, "cpu")
    assert result["batch"] == 8 and result["images_per_second"] > 0 and result["gflop_per_step"] > 0
