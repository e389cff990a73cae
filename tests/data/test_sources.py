"""siamese/data/sources.py: what a dataset name stands for."""

from __future__ import annotations

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
