"""siamese/data/protocol_files.py: LFW's pairs and people files read strictly, every image found before
anything is scored, and every malformed line refused with its number."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from siamese.data.protocol_files import read_pairs, read_people, read_people_folds
from siamese.errors import DatasetError

LFW = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "lfw"


@pytest.fixture
def lfw_like(tmp_path):
    """images/<Name>/<Name>_NNNN.jpg for three people, as LFW lays them out."""
    for name, count in (("Ann_Lee", 3), ("Bo_Ito", 2), ("Cy_Ray", 1)):
        (tmp_path / "images" / name).mkdir(parents=True)
        for k in range(1, count + 1):
            Image.new("RGB", (8, 8), (k * 40, 0, 0)).save(tmp_path / "images" / name / f"{name}_{k:04d}.jpg")
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder / name


def test_a_single_set_reads_matched_then_mismatched_pairs(lfw_like):
    pairs = read_pairs(write(lfw_like, "pairsDevTest.txt", "2\nAnn_Lee\t1\t2\nBo_Ito 1 2\n"
                             "Ann_Lee\t3\tBo_Ito\t1\nBo_Ito\t2\tCy_Ray\t1\n"))
    assert pairs.folds == 1 and pairs.same.tolist() == [1, 1, 0, 0] and pairs.fold.tolist() == [0] * 4
    assert pairs.images == (lfw_like / "images").resolve()
    assert [p.name for p in pairs.left] == ["Ann_Lee_0001.jpg", "Bo_Ito_0001.jpg", "Ann_Lee_0003.jpg", "Bo_Ito_0002.jpg"]
    assert pairs.right[3].name == "Cy_Ray_0001.jpg" and pairs.people == {"Ann_Lee", "Bo_Ito", "Cy_Ray"}


def test_folds_read_fold_after_fold(lfw_like):
    fold = "Ann_Lee 1 2\nAnn_Lee 1 Bo_Ito 1\n"
    pairs = read_pairs(write(lfw_like, "pairs.txt", "3 1\n" + fold * 3))
    assert pairs.folds == 3 and pairs.fold.tolist() == [0, 0, 1, 1, 2, 2] and pairs.same.tolist() == [1, 0] * 3


@pytest.mark.parametrize("text, message", [
    ("2\nAnn_Lee 1 2\nAnn_Lee 1 Bo_Ito 1\nBo_Ito 1 2\nBo_Ito 1 Cy_Ray 1\n", "line 3: a matched 'name n1 n2' pair was expected"),
    ("1\nAnn_Lee 1 2\nAnn_Lee 1 Bo_Ito 1\nAnn_Lee 2 3\n", "promises 1 x (1 matched + 1 mismatched) = 2 pairs, but 3 lines follow"),
    ("1\nAnn_Lee 1 two\nAnn_Lee 1 Bo_Ito 1\n", "line 2: image number 'two' is not a whole number"),
    ("1\nAnn_Lee 1 9\nAnn_Lee 1 Bo_Ito 1\n", "line 2: Ann_Lee has no image 9 in"),
    ("1\nZed_Zed 1 2\nAnn_Lee 1 Bo_Ito 1\n", "line 2: Zed_Zed is not in"),
    ("one two three\n", "line 1: the first line must be the number of pairs"),
    ("", "is empty"),
])
def test_a_malformed_pairs_file_names_the_line(lfw_like, text, message):
    with pytest.raises(DatasetError, match=re.escape(message)):
        read_pairs(write(lfw_like, "pairs.txt", text))


def test_a_binary_file_given_as_a_pairs_or_people_file_is_told_what_such_a_file_is(lfw_like):
    photo = lfw_like / "images" / "Ann_Lee" / "Ann_Lee_0001.jpg"
    with pytest.raises(DatasetError) as caught:
        read_pairs(photo)
    said = str(caught.value)
    assert "is not a text file (byte 0xff at position 0 is not UTF-8); a pairs file is text in LFW's format" in said
    assert "codec" not in said
    with pytest.raises(DatasetError, match="is not a text file .*; a people file is text: one name a line"):
        read_people(photo)
    with pytest.raises(DatasetError, match="a people file is text"):
        read_people_folds(photo)


def test_the_images_may_be_given_or_must_be_found(lfw_like, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = write(elsewhere, "pairs.txt", "1\nAnn_Lee 1 2\nAnn_Lee 1 Bo_Ito 1\n")
    with pytest.raises(DatasetError, match="found no folder of images next to .*give the folder .* with --data"):
        read_pairs(path)
    assert read_pairs(path, lfw_like / "images").images == lfw_like / "images"


def test_people_files_in_every_format_give_the_names(lfw_like):
    assert read_people(write(lfw_like, "peopleDevTest.txt", "2\nAnn_Lee\t3\nBo_Ito\t2\n")) == ["Ann_Lee", "Bo_Ito"]
    assert read_people(write(lfw_like, "people.txt", "2\n1\nAnn_Lee\t3\n1\nCy_Ray\t1\n")) == ["Ann_Lee", "Cy_Ray"]
    assert read_people(write(lfw_like, "names.txt", "Ann_Lee\n\nBo_Ito\n")) == ["Ann_Lee", "Bo_Ito"]
    assert read_people(write(lfw_like, "pairs.txt", "1\nAnn_Lee 1 2\nAnn_Lee 1 Bo_Ito 1\n")) == ["Ann_Lee", "Bo_Ito"]
    with pytest.raises(DatasetError, match="line 2: expected a name, or 'name count'"):
        read_people(write(lfw_like, "bad.txt", "2\nAnn Lee 3 x y z\n"))


def test_people_txt_reads_fold_by_fold_and_refuses_a_short_fold(lfw_like):
    folds = read_people_folds(write(lfw_like, "people.txt", "2\n2\nAnn_Lee\t3\nBo_Ito 2\n1\nCy_Ray\t1\n"))
    assert folds == [["Ann_Lee", "Bo_Ito"], ["Cy_Ray"]]
    with pytest.raises(DatasetError, match="fold 2 of 2 people: too few lines"):
        read_people_folds(write(lfw_like, "short.txt", "2\n1\nAnn_Lee 3\n2\nCy_Ray 1\n"))
    with pytest.raises(DatasetError, match="line 3: expected 'name count', not 'Ann Lee 3'"):
        read_people_folds(write(lfw_like, "bad.txt", "1\n1\nAnn Lee 3\n"))
    with pytest.raises(DatasetError, match="fold 2 has no count line"):
        read_people_folds(write(lfw_like, "few.txt", "2\n1\nAnn_Lee 3\n"))


@pytest.mark.skipif(not LFW.is_dir(), reason=f"{LFW} is absent")
def test_lfw_s_own_files():
    view1, view2 = read_pairs(LFW / "pairsDevTest.txt"), read_pairs(LFW / "pairs.txt")
    assert (len(view1.same), view1.same.sum(), view1.folds) == (1000, 500, 1)
    assert (len(view2.same), view2.same.sum(), view2.folds) == (6000, 3000, 10)
    assert len(read_people(LFW / "peopleDevTest.txt")) == 1711 and len(read_people(LFW / "people.txt")) == 5749
    assert not set(read_people(LFW / "peopleDevTest.txt")) & set(read_people(LFW / "peopleDevTrain.txt"))
    folds = read_people_folds(LFW / "people.txt")
    assert len(folds) == 10 and sum(map(len, folds)) == len(set().union(*folds)) == 5749
    pairs = read_pairs(LFW / "pairs.txt")  # each View 2 fold's pairs are of its own people only
    assert all({p.parent.name for p, k in zip(pairs.left + pairs.right, list(pairs.fold) * 2) if k == f}
               <= set(folds[f]) for f in range(10))
