"""siamese/data/sources.py: what a dataset name stands for."""

from __future__ import annotations

from pathlib import Path

import pytest

from siamese.data.sources import load_dataset, open_source
from siamese.errors import DatasetError


def test_unknown_dataset_lists_the_known(tmp_path, make_identity_folders):
    make_identity_folders(tmp_path / "data" / "staff", n_identities=2, n_images=2)
    with pytest.raises(DatasetError, match="digits, olivetti, lfw, staff"):
        load_dataset("nobody", size=16, data_dir=tmp_path / "data")
    assert len(load_dataset("staff", size=16, data_dir=tmp_path / "data")) == 4


def test_a_source_loads_only_the_identities_asked_for_in_their_order(make_identity_folders, tmp_path):
    root = make_identity_folders(n_identities=4, n_images=2)
    source = open_source(str(root), tmp_path)
    assert source.folder == root and source.label == "faces"
    part = source.load(16, "grey", ["person_03", "person_01"])
    assert part.identities == ["person_03", "person_01"] and len(part) == 4
    with pytest.raises(DatasetError, match="no longer holds identities the run used: person_09"):
        source.load(16, "grey", ["person_09"])
    digits = open_source("digits", tmp_path)
    assert digits.folder is None and digits.load(8, "grey", ["digit-3"]).identities == ["digit-3"]
    with pytest.raises(DatasetError, match="built-in"):
        digits.scan()


def test_a_large_folder_is_listed_once_however_many_identities_a_run_asks_for(tmp_path, monkeypatch):
    """A scan of the whole folder per identity asked for made an LFW run's pages take minutes; 2,000
    identities of tiny images stand in for LFW's 5,749."""
    from PIL import Image

    from siamese.data import sources
    from siamese.faces import cache

    root = tmp_path / "many"
    names = [f"person_{i:04d}" for i in range(2000)]
    for i, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for k in range(2):
            Image.new("L", (8, 8), (i * 7 + k * 50) % 256).save(root / name / f"{k}.png")
    listed = []
    for module in (sources, cache):
        real = module.scan_folder
        monkeypatch.setattr(module, "scan_folder", lambda folder, real=real: listed.append(str(folder)) or real(folder))
    monkeypatch.chdir(tmp_path)
    source = open_source("many", tmp_path / "data")  # a path relative to where the command runs
    asked = names[::10]
    assert source.load(16, "grey", asked).identities == asked and listed == ["many"]

    def stand_in_for_detection(item):  # the crop is the photo itself: what is counted is the listing
        Path(item[1]).parent.mkdir(parents=True, exist_ok=True)
        Image.open(item[0]).save(item[1])
        return "ok"

    monkeypatch.setattr(cache, "prepare_one", stand_in_for_detection)
    cache.prepare_faces(root, tmp_path / "data", workers=1)
    listed.clear()
    aligned = source.load(16, "grey", asked, cut="align")
    assert len(aligned) == 2 * len(asked) and len(listed) == 2  # the photos, then the crops: once each
    assert all(".faces" in path for path in aligned.paths)
