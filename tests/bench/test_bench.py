"""The benchmark's quick mode still runs end to end and writes its three outputs."""

import json

from bench import run as bench


def test_quick_benchmark_writes_report_json_and_chart(make_identity_folders, tmp_path):
    data = make_identity_folders(n_identities=8, n_images=4)
    out = tmp_path / "docs"
    assert bench.main(["--quick", "--data", str(data), "--seconds", "1", "--setups", "default", "tutorial",
                       "--out", str(out)]) == 0
    results = json.loads((out / "benchmarks.json").read_text())
    assert {r["setup"] for r in results["quality"]} == {"default", "tutorial"}
    for run in results["quality"]:
        assert 0.0 <= run["auc"] <= 1.0 and 0.0 <= run["oneshot"] <= 1.0
        assert run["curve"], "each setup records AUC against time"
    assert results["speed"]["raw"]["images_per_second"] > 0
    assert 0 < results["speed"]["pipeline_ratio"]
    text = (out / "BENCHMARKS.md").read_text()
    assert "| default |" in text and "| tutorial |" in text and "GFLOP/s" in text
    assert (out / "auc_vs_time.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
