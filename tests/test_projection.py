"""Projections keep the shape, separate separated clusters, and are cached; nearest neighbours exclude the
query; thumbnails are PNG data URIs."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from siamese import projection
from siamese.distances import euclidean_paired
from siamese.errors import RunError


def clusters(n_per: int = 20, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, dim)) * 10
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(3), n_per)


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
@pytest.mark.parametrize("dims", [2, 3])
def test_projection_shape_and_separation(method, dims):
    x, labels = clusters()
    coords = projection.project(x, method, dims)
    assert coords.shape == (len(x), dims) and np.isfinite(coords).all()
    # Each point's nearest neighbour in the projection belongs to its own cluster.
    d = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.mean(labels[d.argmin(axis=1)] == labels) >= 0.95


def test_projection_is_cached_by_content():
    x, _ = clusters()
    first = projection.project(x, "pca", 2)
    assert projection.project(x.copy(), "pca", 2) is first
    assert projection.project(x + 1, "pca", 2) is not first


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ValueError, match="umap, pca, tsne"):
        projection.project(np.zeros((5, 3)), "mds")


def test_tiny_inputs_do_not_crash():
    assert projection.project(np.ones((2, 4)), "umap", 2).shape == (2, 2)


def test_warm_up_marks_umap_ready():
    projection.warm_up()
    assert projection.is_warm()


def test_nearest_neighbours_exclude_the_query_and_are_sorted():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.5, 0.0]])
    found = projection.nearest_neighbours(x, 0, euclidean_paired, k=3)
    assert [i for i, _ in found] == [3, 1, 2]
    assert [d for _, d in found] == pytest.approx([0.5, 1.0, 3.0])


def test_data_uri_is_a_webp_of_the_requested_size():
    image = torch.randint(0, 255, (1, 20, 20), dtype=torch.uint8)
    uri = projection.data_uri(image, size=24)
    assert uri.startswith("data:image/webp;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decoded.size == (24, 24)


def test_projector_files_that_cannot_be_written_give_run_error(small_run, tmp_path):
    from siamese.projection import embed_run, write_projector_files

    embeddings, data = embed_run(small_run, data_dir=small_run.parent.parent / "data")
    blocker = tmp_path / "projector"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(RunError, match="cannot write the projector files"):
        write_projector_files(blocker, embeddings, data)


def test_identity_traces_keep_each_points_row(small_run):
    from siamese.runs.trained import run_dataset

    data = run_dataset(small_run, "validation", data_dir=small_run.parent.parent / "data")
    coords = np.arange(len(data) * 3, dtype=np.float32).reshape(-1, 3)
    traces = projection.identity_traces(coords, data, training={data.identities[0]})
    assert [t["name"] for t in traces] == data.identities
    assert traces[0]["symbol"] == "x" and {t["symbol"] for t in traces[1:]} == {"circle"}
    rows = [point[0] for t in traces for point in t["customdata"]]
    assert sorted(rows) == list(range(len(data)))
    for trace in traces:
        for point, x, z in zip(trace["customdata"], trace["x"], trace["z"]):
            assert (x, z) == (coords[point[0], 0], coords[point[0], 2])
            assert point[1:] == [trace["name"], Path(data.paths[point[0]]).name]
    assert "z" not in projection.identity_traces(coords[:, :2], data)[0]


def test_export_projector_writes_one_line_per_image(small_run):
    out, images = projection.export_projector(small_run, small_run.parent.parent / "data")
    assert out == small_run / "projector"
    assert len((out / "vectors.tsv").read_text().splitlines()) == images
    assert len((out / "metadata.tsv").read_text().splitlines()) == images + 1


def test_stages_of_a_finished_run_are_its_snapshots_then_the_final_checkpoint(small_run):
    assert projection.stages(small_run, live=False) == [
        ("epoch 1", small_run / "snapshots" / "epoch-0001.pt"), ("epoch 2", small_run / "snapshots" / "epoch-0002.pt"),
        ("final", None)]


def test_stages_of_a_training_run_end_with_its_newest_snapshot(small_run, tmp_path):
    run = shutil.copytree(small_run, tmp_path / "run")
    assert [name for name, _ in projection.stages(run, live=True)] == ["epoch 1", "epoch 2"]
    shutil.rmtree(run / "snapshots")  # before its first snapshot, or a model too large to snapshot
    assert projection.stages(run, live=True) == [("latest checkpoint", None)]
    (run / "checkpoint.pt").unlink()
    assert projection.stages(run, live=True) == [] and projection.stages(run, live=False) == []


def test_stages_without_a_checkpoint_are_the_snapshots(small_run, tmp_path):
    run = shutil.copytree(small_run, tmp_path / "run")
    (run / "checkpoint.pt").unlink()  # a run that diverged before its first checkpoint
    assert [name for name, _ in projection.stages(run, live=False)] == ["epoch 1", "epoch 2"]


def test_selected_rows_come_from_the_customdata_once_each_in_selection_order():
    points = [{"curve_number": 1, "point_index": 0, "customdata": [7, "b", "1.png"]},
              {"curve_number": 0, "point_index": 3, "customdata": [2, "a", "4.png"]},
              {"curve_number": 1, "point_index": 0, "customdata": [7, "b", "1.png"]},
              {"curve_number": 0, "point_index": 0, "customdata": [40, "a", "0.png"]},  # another figure's row
              {"curve_number": 0, "point_index": 1}]  # a point without customdata
    assert projection.selected_rows(points, n=10) == [7, 2]
    assert projection.selected_rows([], n=10) == []


def test_neighbours_of_each_selected_row_with_distance_and_identity():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.5, 0.0]])
    labels = torch.tensor([0, 1, 1, 0])
    found = projection.neighbours_of(x, [2, 0], euclidean_paired, labels, k=2)
    assert [row for row, _ in found] == [2, 0]
    assert found[0][1] == [projection.Neighbour(1, 2.0, True), projection.Neighbour(3, 2.5, False)]
    assert [(n.row, n.same) for n in found[1][1]] == [(3, True), (1, False)]
    assert found[1][1][0].distance == pytest.approx(0.5)


def write_jitted_module(folder: Path, name: str) -> object:
    """A module of numba functions without cache=True, imported from `folder`: `double`, and `step` and
    `step_parallel`, one Python function compiled serial and parallel."""
    import importlib

    (folder / f"{name}.py").write_text(textwrap.dedent("""
        import numba

        @numba.njit
        def double(x):
            return 2 * x

        def _step(x):
            total = 0.0
            for i in numba.prange(len(x)):
                total += x[i]
            return total

        step = numba.njit(_step)
        step_parallel = numba.njit(_step, parallel=True)
    """))
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


def test_keep_compiled_code_writes_the_compiled_code_to_disk(tmp_path):
    module = write_jitted_module(tmp_path, "jitted_for_keeping")
    assert projection.keep_compiled_code([module]) is None
    assert module.double(21) == 42
    assert list((tmp_path / "__pycache__").glob("jitted_for_keeping.double-*.nbi"))


def test_of_a_function_compiled_serial_and_parallel_only_the_serial_keeps_its_code(tmp_path):
    """Both would share one cache file, whose entries do not say which variant they are."""
    from numba.core.caching import NullCache

    module = write_jitted_module(tmp_path, "jitted_twice")
    projection.keep_compiled_code([module])
    assert not isinstance(module.step._cache, NullCache) and isinstance(module.step_parallel._cache, NullCache)
    assert module.step(np.ones(4)) == module.step_parallel(np.ones(4)) == 4


def test_keep_compiled_code_says_what_to_do_when_no_folder_can_be_written(tmp_path, monkeypatch):
    from numba.core import dispatcher

    module = write_jitted_module(tmp_path, "jitted_nowhere")

    def no_locator(py_func):
        raise RuntimeError(f"cannot cache function {py_func.__name__!r}: no locator available for file 'x'")

    monkeypatch.setattr(dispatcher, "FunctionCache", no_locator)
    problem = projection.keep_compiled_code([module])
    assert "cannot be kept between starts" in problem and "set NUMBA_CACHE_DIR" in problem
    assert module.double(2) == 4  # compiled as before, just not kept


def test_a_second_start_loads_umaps_code_from_disk():
    """After one warm-up (this process), a fresh process compiles none of UMAP's functions again."""
    projection.warm_up()
    script = textwrap.dedent("""
        from siamese import projection
        import umap.layouts, umap.umap_, umap.utils
        projection.warm_up()
        functions = [umap.utils.fast_knn_indices, umap.umap_.smooth_knn_dist,
                     umap.umap_.compute_membership_strengths, umap.layouts._nb_optimize_layout_euclidean_single_epoch]
        print(projection.compiled_code_problem(), [len(f.stats.cache_hits) > 0 for f in functions],
              [len(f.stats.cache_misses) for f in functions])
    """)
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "None [True, True, True, True] [0, 0, 0, 0]", result.stdout
