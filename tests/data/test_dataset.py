"""siamese/data/dataset.py: streamed images decode as decoding up front does, and a broken one is replaced."""

from __future__ import annotations

import logging

import torch

from siamese.data.dataset import ImageFiles
from siamese.data.images import load_image


def test_streamed_images_match_decoding_and_an_unreadable_one_is_replaced_and_logged(make_identity_folders,
                                                                                       caplog):
    root = make_identity_folders(n_identities=2, n_images=3)
    broken = root / "person_01" / "001.png"
    broken.write_bytes(b"not a png at all")
    files = ImageFiles({p.name: sorted(p.iterdir()) for p in sorted(root.iterdir())}, size=16, colour="grey")
    assert len(files) == 6 and files.labels.tolist() == [0, 0, 0, 1, 1, 1]
    image, label = files[1]
    assert label == 0 and torch.equal(image, load_image(root / "person_00" / "001.png", 16))
    with caplog.at_level(logging.WARNING):
        image, label = files[4]
    assert label == 1 and torch.equal(image, load_image(root / "person_01" / "002.png", 16))
    assert "001.png" in caplog.text and "person_01" in caplog.text
