"""siamese/data/builtin.py: digits offline; the downloads say what to do when offline."""

from __future__ import annotations

import urllib.error

import pytest
import torch

from siamese.data.sources import load_dataset
from siamese.errors import DatasetError


def test_digits_load_offline_with_ten_identities(tmp_path, no_network):
    data = load_dataset("digits", size=16, data_dir=tmp_path)
    assert data.identities == [f"digit-{d}" for d in range(10)]
    assert data.images.shape == (1797, 1, 16, 16) and data.images.dtype == torch.uint8
    assert sorted(data.counts().values())[0] >= 170
    assert load_dataset("digits", size=16, colour="rgb", data_dir=tmp_path).images.shape[1] == 3


@pytest.mark.parametrize("name,fetcher", [("olivetti", "sklearn.datasets.fetch_olivetti_faces"),
                                          ("lfw", "sklearn.datasets._lfw._check_fetch_lfw")])
def test_builtin_download_offline_says_what_to_do(tmp_path, monkeypatch, no_network, name, fetcher):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetcher, offline)
    with pytest.raises(DatasetError, match=f"could not download the '{name}'") as info:
        load_dataset(name, size=16, data_dir=tmp_path)
    message = str(info.value)
    assert "internet" in message and "folder of identity folders" in message and "digits" in message
