"""siamese/data/folders.py: identity folders read, with every skip reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from siamese.data.folders import load_folder, scan_folder
from siamese.errors import DatasetError


def test_load_folder_reads_mixed_formats(make_identity_folders):
    root = make_identity_folders(n_identities=3, n_images=3, size=24, fmt=["png", "pgm", "jpeg"])
    for colour, channels in (("grey", 1), ("rgb", 3)):
        data = load_folder(root, size=16, colour=colour)
        assert data.images.shape == (9, channels, 16, 16) and data.images.dtype == torch.uint8
        assert data.identities == ["person_00", "person_01", "person_02"]
        assert data.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        assert data.problems == []


def test_load_folder_skips_and_reports_what_it_cannot_read(make_identity_folders):
    root = make_identity_folders(n_identities=3, n_images=3)
    (root / "person_00" / "notes.txt").write_text("who is who")
    (root / "person_01" / "broken.png").write_bytes(b"not a png")
    data = load_folder(root, size=16)
    assert data.counts() == {"person_00": 3, "person_01": 3, "person_02": 3}
    assert any("1 file(s) that are not images" in p for p in data.problems)
    assert any("broken.png" in p and "not a readable image" in p for p in data.problems)


def test_identity_with_one_image_is_dropped_with_a_message(make_identity_folders):
    root = make_identity_folders(n_images=[3, 1, 2], names=["alice", "bob", "carol"])
    data = load_folder(root, size=16)
    assert data.identities == ["alice", "carol"]
    assert any("'bob' has 1 readable image(s)" in p for p in data.problems)


@pytest.mark.parametrize("counts", [[3, 1], [4], [1, 1, 1]])
def test_fewer_than_two_usable_identities_raises(make_identity_folders, counts):
    root = make_identity_folders(n_images=counts, names=[f"p{i}" for i in range(len(counts))])
    with pytest.raises(DatasetError, match="at least 2 identities"):
        load_folder(root, size=16)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_folder(tmp_path / "nowhere", size=16)


def test_unicode_and_spaces_in_identity_names(make_identity_folders):
    names = ["José Ñúñez", "李 小龙", "Zoë O'Brien"]
    data = load_folder(make_identity_folders(names=names, n_images=2, fmt="jpeg"), size=16)
    assert data.identities == sorted(names)
    assert len(data) == 6


def test_a_folder_that_cannot_be_listed_says_so(make_identity_folders, monkeypatch):
    import os

    from siamese.data import folders

    root = make_identity_folders(n_identities=3, n_images=2)
    real = os.scandir

    def denied(path):
        if Path(path).name in ("faces", "person_01"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(folders.os, "scandir", denied)
    with pytest.raises(DatasetError, match="cannot list .*faces: Permission denied; check that the folder is readable"):
        scan_folder(root)
    monkeypatch.setattr(folders.os, "scandir", lambda path: denied(path) if Path(path).name != "faces" else real(path))
    scan = scan_folder(root)
    assert list(scan.identities) == ["person_00", "person_02"]
    assert any("cannot list" in p and "person_01: Permission denied; it was left out" in p for p in scan.problems)
