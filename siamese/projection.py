"""Embeddings projected to 2-D or 3-D for looking at (UMAP, PCA, t-SNE), one trace of points per
identity, the weights a run can be looked at with, the faces selected in a projection and their nearest
neighbours, and the TensorBoard projector's files.

UMAP compiles its numba code on first use: `warm_up` runs it once on a tiny input (call it in a
background thread when the app starts), and the compiled code is kept on disk, so only the first start
ever pays it. Measured on 2 cores, a fresh process's first UMAP of 400 embeddings took 24 s on the first
start ever and 2.5 s on the starts after it (0.5 s once warm). Projections are cached in memory by the
content of the embeddings, so a page that asks twice pays once.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from .data.dataset import FaceDataset
from .data.images import to_pil
from .errors import RunError
from .runs.folder import RunPaths, list_snapshots
from .runs.trained import load_trained, run_dataset, run_embeddings

METHODS = ("umap", "pca", "tsne")
CACHE_SIZE = 32

_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()
_warm = threading.Event()
_umap_lock = threading.Lock()
_kept: dict[str, str | None] = {}  # "problem": why compiled code is not kept, once umap was loaded


def _key(embeddings: np.ndarray, method: str, dims: int, seed: int) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes()).hexdigest()
    return f"{digest}:{method}:{dims}:{seed}"


def project(embeddings: torch.Tensor | np.ndarray, method: str = "umap", dims: int = 2, seed: int = 0) -> np.ndarray:
    """Coordinates (N, dims) float32 of embeddings (N, D). Cached by content, method, dims and seed."""
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; known: {', '.join(METHODS)}")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, not {dims}")
    x = np.asarray(embeddings, dtype=np.float32)
    key = _key(x, method, dims, seed)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    coords = _compute(x, method, dims, seed).astype(np.float32)
    with _cache_lock:
        _cache[key] = coords
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return coords


def _compute(x: np.ndarray, method: str, dims: int, seed: int) -> np.ndarray:
    n = len(x)
    if n <= dims + 1:
        # Too few points for any projection to mean something: keep the first coordinates.
        padded = np.zeros((n, dims), dtype=np.float32)
        padded[:, :min(dims, x.shape[1])] = x[:, :dims]
        return padded
    if method == "pca":
        from sklearn.decomposition import PCA
        return PCA(n_components=min(dims, x.shape[1]), random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE
        # Barnes-Hut is approximate and, in 3-D on a few hundred points, visibly worse than exact.
        return TSNE(n_components=dims, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed,
                    method="exact" if n <= 500 else "barnes_hut").fit_transform(x)
    umap = _umap()
    # A seed makes UMAP run on one thread anyway; saying n_jobs=1 keeps it from warning about that.
    result = umap.UMAP(n_components=dims, n_neighbors=min(15, n - 1), min_dist=0.1, random_state=seed,
                       n_jobs=1, init="random" if n < 50 else "spectral").fit_transform(x)
    _warm.set()
    return result


def _umap():
    """The umap module, its compiled code kept on disk (see `keep_compiled_code`) from its first import."""
    import umap
    with _umap_lock:
        if "problem" not in _kept:
            # umap imports pynndescent, whose modules hold the rest of the numba code a projection runs.
            _kept["problem"] = keep_compiled_code([module for name, module in list(sys.modules.items())
                                                   if name.split(".")[0] in ("umap", "pynndescent")])
    return umap


def keep_compiled_code(modules) -> str | None:
    """Make the numba functions of these modules keep their compiled code on disk, as `cache=True` would:
    umap marks only one of its functions so, and compiling the others took 9 s on every start; loading
    them from disk, the first projection of a start takes 2.5 s. numba writes beside the module's source
    when it can, else into NUMBA_CACHE_DIR or the user's cache folder. Returns None, or why the code
    cannot be kept (every start then compiles it again)."""
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher
    from numba.core.errors import NumbaWarning

    # A few of pynndescent's functions hold globals numba cannot save; they are compiled on each start,
    # as before, and need not say so.
    warnings.filterwarnings("ignore", "Cannot cache compiled function", NumbaWarning)
    by_source: dict[object, list] = {}
    for module in modules:
        for function in list(vars(module).values()):
            if isinstance(function, Dispatcher) and function.py_func.__module__ == module.__name__:
                by_source.setdefault(function.py_func, []).append(function)
    for variants in by_source.values():
        # Variants of one Python function (umap compiles its layout step serial and parallel) would share
        # one cache file, whose entries do not record the variant: a seeded, serial UMAP could load the
        # parallel code. Only a function's one serial variant keeps its code.
        serial = [f for f in variants if not f.targetoptions.get("parallel")]
        for function in variants if len(variants) == 1 else serial if len(serial) == 1 else []:
            if isinstance(function._cache, NullCache):
                try:
                    function.enable_caching()
                except RuntimeError as exc:  # numba found no folder it can write
                    return (f"UMAP's compiled code cannot be kept between starts ({exc}); set NUMBA_CACHE_DIR "
                            "to a writable folder before starting the app")
    return None


def compiled_code_problem() -> str | None:
    """Why UMAP's compiled code is not kept between starts, or None (also before umap was first used)."""
    return _kept.get("problem")


def warm_up() -> None:
    """Compile UMAP's numba code on a tiny input so the first real projection is fast."""
    if _warm.is_set():
        return
    rng = np.random.default_rng(0)
    _compute(rng.normal(size=(60, 8)).astype(np.float32), "umap", 2, 0)
    _warm.set()


def is_warm() -> bool:
    return _warm.is_set()


def start_warm_up() -> threading.Thread:
    """Run `warm_up` in a daemon thread; returns it (already finished work is not repeated)."""
    thread = threading.Thread(target=warm_up, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def stages(run_dir: str | Path, live: bool) -> list[tuple[str, Path | None]]:
    """The weights a run's embeddings can be looked at with, oldest first, the one to show first last:
    (label, snapshot file, or None for the run's checkpoint). Each per-epoch snapshot ('epoch 4') and,
    once the run is over, its checkpoint ('final'). While it trains, its snapshots only, so the newest
    shows first (its checkpoint is then a moment between them), or, before its first snapshot or for a
    model too large to snapshot, the checkpoint it saved last ('latest checkpoint'); [] when there are
    no weights yet."""
    found = [(f"epoch {epoch}", path) for epoch, path in list_snapshots(Path(run_dir))]
    if not RunPaths(Path(run_dir)).checkpoint.exists():
        return found
    if not live:
        return found + [("final", None)]
    return found or [("latest checkpoint", None)]


def selected_rows(points: list[dict], n: int) -> list[int]:
    """The dataset rows of the points selected in a projection (Streamlit's and plotly's selection events:
    each point's customdata starts with its row, see `identity_traces`), each once, in selection order;
    rows past `n` (a selection made on another figure) are dropped."""
    rows = []
    for point in points:
        row = (point.get("customdata") or [None])[0]
        if isinstance(row, (int, float)) and 0 <= row < n and int(row) not in rows:
            rows.append(int(row))
    return rows


class Neighbour(NamedTuple):
    row: int
    distance: float
    same: bool  # the same identity as the image it is a neighbour of


def neighbours_of(embeddings: torch.Tensor, rows: list[int], distance, labels: torch.Tensor,
                  k: int = 5) -> list[tuple[int, list[Neighbour]]]:
    """For each of `rows`, its k nearest other images in the embedding space, nearest first, with their
    distances and whether they are the same identity: (row, neighbours) pairs, in the order of `rows`.
    `distance` is a paired distance (N, D) x (N, D) -> (N,), the one the run is scored by."""
    found = []
    for row in rows:
        near = nearest_neighbours(embeddings, row, distance, k)
        found.append((row, [Neighbour(i, d, bool(labels[i] == labels[row])) for i, d in near]))
    return found


def nearest_neighbours(embeddings: torch.Tensor, index: int, distance, k: int = 5) -> list[tuple[int, float]]:
    """The k nearest other images of image `index`: (index, distance) pairs, nearest first.
    `distance` is a paired distance (N, D) x (N, D) -> (N,)."""
    query = embeddings[index:index + 1].expand(len(embeddings), -1)
    d = distance(query, embeddings).detach().cpu().numpy().astype(np.float64)
    d[index] = np.inf
    order = np.argsort(d, kind="stable")[:k]
    return [(int(i), float(d[i])) for i in order if np.isfinite(d[i])]


def data_uri(image: torch.Tensor, size: int = 48) -> str:
    """A small WebP of a (C, H, W) uint8 image as a `data:` URI, for hover labels in the browser. Every
    rerun of the Embeddings page sends them all: as WebP, LFW's 502 validation faces are 0.4 MB, as JPEG
    0.9 MB, as PNG 2.9 MB."""
    pil = to_pil(image).resize((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    pil.save(buffer, format="WEBP", quality=80)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()


def identity_traces(coords: np.ndarray, dataset: FaceDataset, training: set[str] = frozenset()) -> list[dict]:
    """One trace of points per identity, ready to draw: name, x, y (and z for 3-D coordinates), symbol
    ('x' for a training identity, else 'circle'), and per point its customdata [row index into the
    dataset, identity, image file name]: the row survives the renumbering of points that one trace per
    identity makes, and keys the point's face (`data_uri` of the row's image). The faces are not in the
    customdata, as a selection event sends every selected point's customdata back to the server."""
    labels = dataset.labels.numpy()
    traces = []
    for label, identity in enumerate(dataset.identities):
        rows = np.flatnonzero(labels == label)
        trace = {"name": identity, "x": coords[rows, 0], "y": coords[rows, 1],
                 "symbol": "x" if identity in training else "circle",
                 "customdata": [[int(i), identity, Path(dataset.paths[i]).name] for i in rows]}
        if coords.shape[1] == 3:
            trace["z"] = coords[rows, 2]
        traces.append(trace)
    return traces


def embed_run(run_dir: str | Path, data: str | None = None, data_dir: str | Path = "data",
              split: str = "validation") -> tuple[torch.Tensor, FaceDataset]:
    """Embeddings (N, D) of a run's validation, training or all identities, or of another dataset."""
    trained = load_trained(run_dir)
    if data is None:
        return run_embeddings(trained, split, data_dir)
    dataset = run_dataset(run_dir, split, data, data_dir, trained.config)
    return trained.embed(dataset.images), dataset


def write_projector_files(folder: str | Path, embeddings: torch.Tensor, dataset: FaceDataset) -> None:
    """TensorBoard projector format: `vectors.tsv` (one embedding a line) and `metadata.tsv` (a header,
    then identity and image path a line)."""
    folder = Path(folder)
    rows = ["\t".join(f"{v:.6g}" for v in row) for row in embeddings.tolist()]
    meta = ["identity\timage"] + [f"{dataset.identities[label]}\t{path}".replace("\n", " ")
                                  for label, path in zip(dataset.labels.tolist(), dataset.paths)]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vectors.tsv").write_text("\n".join(rows) + "\n")
        (folder / "metadata.tsv").write_text("\n".join(meta) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RunError(f"cannot write the projector files into {folder}: {exc.strerror or exc}. Check that "
                       "the folder is writable and the disk is not full.") from None


def export_projector(run_dir: str | Path, data_dir: str | Path = "data", split: str = "validation") -> tuple[Path, int]:
    """The projector files of a run's embeddings, written into `<run>/projector`: (that folder, images)."""
    embeddings, dataset = embed_run(run_dir, data_dir=data_dir, split=split)
    out = Path(run_dir) / "projector"
    write_projector_files(out, embeddings, dataset)
    return out, len(dataset)
