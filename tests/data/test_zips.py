"""siamese/data/zips.py: zips of identity folders imported safely, all or nothing, never over other data."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from PIL import Image

from siamese.data import zips
from siamese.data.folders import load_folder
from siamese.data.sources import load_dataset
from siamese.data.zips import extract_zip, folder_name, import_zip
from siamese.errors import DatasetError


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def zip_bytes(entries: dict[str | zipfile.ZipInfo, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def zip_folder(root) -> dict[str, bytes]:
    """Entries of a zip that wraps the identity folders of `root` in one top folder, named like root."""
    return {f"{root.name}/{p.relative_to(root).as_posix()}": p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("as_path", [False, True])
def test_extract_zip_with_a_wrapping_folder_then_load(make_identity_folders, tmp_path, as_path):
    source = make_identity_folders(tmp_path / "src" / "my dataset", n_identities=3, n_images=2)
    archive = zip_bytes(zip_folder(source))
    if as_path:
        archive_path = tmp_path / "upload.zip"
        archive_path.write_bytes(archive)
        archive = archive_path
    root = extract_zip(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "my dataset"
    assert load_folder(root, size=16).identities == ["person_00", "person_01", "person_02"]


def test_load_dataset_reads_a_zip_path(make_identity_folders, tmp_path):
    source = make_identity_folders(tmp_path / "src" / "faces", n_identities=2, n_images=2)
    (tmp_path / "faces.zip").write_bytes(zip_bytes(zip_folder(source)))
    data = load_dataset(str(tmp_path / "faces.zip"), size=16, data_dir=tmp_path / "data")
    assert len(data) == 4 and (tmp_path / "data" / "faces").is_dir()


def symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("faces/alice/link.png")
    info.external_attr = 0o120777 << 16
    return info


def assert_nothing_written(tmp_path, target):
    assert not target.exists()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("bad", ["../evil.png", "faces/../../evil.png", "..\\evil.png", "C:/evil.png",
                                 "ABSOLUTE", "SYMLINK"])
def test_unsafe_entries_are_refused_before_writing(tmp_path, bad):
    target = tmp_path / "a" / "out"
    name = {"ABSOLUTE": str(tmp_path / "evil.png"), "SYMLINK": symlink_entry()}.get(bad, bad)
    archive = zip_bytes({"faces/alice/1.png": b"x", name: b"/etc/passwd"})
    with pytest.raises(DatasetError, match="refused"):
        extract_zip(archive, target)
    assert_nothing_written(tmp_path, target)


def test_total_size_over_the_limit_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(zips, "MAX_ZIP_BYTES", 1_000)
    target = tmp_path / "out"
    with pytest.raises(DatasetError, match="expand to"):
        extract_zip(zip_bytes({"faces/alice/1.png": bytes(600), "faces/bob/1.png": bytes(600)}), target)
    assert_nothing_written(tmp_path, target)


def test_compression_ratio_of_a_zip_bomb_is_refused_before_writing(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(DatasetError, match="zip bomb"):
        extract_zip(zip_bytes({"faces/alice/1.png": bytes(11_000_000)}), target)
    assert_nothing_written(tmp_path, target)


def test_too_many_entries_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(zips, "MAX_ZIP_FILES", 3)
    with pytest.raises(DatasetError, match="entries"):
        extract_zip(zip_bytes({f"faces/a/{i}.png": b"x" for i in range(4)}), tmp_path / "out")


def test_not_a_zip_raises_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="not a readable zip"):
        extract_zip(b"PK\x03\x04 but nothing more", tmp_path / "out")


def test_zip_where_a_file_and_a_folder_share_a_name_raises_dataset_error(tmp_path):
    with pytest.raises(DatasetError):
        extract_zip(zip_bytes({"faces/alice": b"x", "faces/alice/1.png": b"y"}), tmp_path / "out")


def test_a_zip_path_never_writes_over_a_dataset_of_the_same_name(make_identity_folders, tmp_path, monkeypatch):
    existing = make_identity_folders(tmp_path / "data" / "faces", n_identities=2, n_images=2, seed=1)
    before = {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()}
    source = make_identity_folders(tmp_path / "src" / "faces", n_identities=3, n_images=2)
    (tmp_path / "faces.zip").write_bytes(zip_bytes(zip_folder(source)))
    extractions = []
    real_extract = zips.extract_zip
    monkeypatch.setattr(zips, "extract_zip", lambda *a: extractions.append(a) or real_extract(*a))
    for _ in range(2):
        data = load_dataset(str(tmp_path / "faces.zip"), size=16, data_dir=tmp_path / "data")
        assert len(data.identities) == 3 and data.paths[0].startswith(str(tmp_path / "data" / "faces-1"))
    assert len(extractions) == 1  # the second load reuses the extracted folder
    assert {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()} == before


def test_macos_resource_folders_are_not_identities(tmp_path):
    people = ("ann", "bob")
    entries = {f"{name}/{i}.png": encode(Image.effect_noise((16, 16), 40 + i)) for name in people for i in range(2)}
    entries.update({f"__MACOSX/{name}/._{i}.png": b"\x00\x05\x16\x07" for name in people for i in range(2)})
    data = load_folder(extract_zip(zip_bytes(entries), tmp_path / "out"), size=16)
    assert data.identities == ["ann", "bob"] and data.problems == []


def corrupt_last_member(entries: dict[str, bytes], method) -> bytes:
    """A zip of `entries` whose last member's data is damaged (a CRC or a deflate error on reading)."""
    archive = bytearray(zip_bytes(entries, method))
    header = archive.rindex(b"PK\x03\x04")
    data_start = header + 30 + len(list(entries)[-1].encode())
    archive[data_start + 3: data_start + 9] = b"\xff\x00\xff\x00\xff\x00"
    return bytes(archive)


def test_a_member_larger_than_its_declared_size_is_refused(tmp_path):
    # The directory claims 1 kB so the size and ratio checks pass; the data inflates to 5 MB.
    archive = bytearray(zip_bytes({"faces/a/1.png": bytes(5_000_000)}))
    central = archive.rindex(b"PK\x01\x02")
    archive[central + 24: central + 28] = struct.pack("<I", 1_000)
    target = tmp_path / "a" / "out"
    with pytest.raises(DatasetError, match="cannot be extracted"):
        extract_zip(bytes(archive), target)
    assert list((tmp_path / "a").iterdir()) == []


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["crc", "deflate"])
def test_a_member_that_fails_to_extract_leaves_nothing_behind(tmp_path, method):
    pictures = {f"faces/{p}/{i}.png": encode(Image.effect_noise((32, 32), 60 + i)) for p in "ab" for i in range(3)}
    target = tmp_path / "a" / "out"
    with pytest.raises(DatasetError, match="cannot be extracted.*nothing was imported"):
        extract_zip(corrupt_last_member(pictures, method), target)
    assert not target.exists()
    assert list((tmp_path / "a").iterdir()) == []  # no staging folder either


def test_extracting_the_same_zip_again_updates_the_folder(make_identity_folders, tmp_path):
    source = make_identity_folders(tmp_path / "src" / "faces", n_identities=2, n_images=2)
    archive = zip_bytes(zip_folder(source))
    first = extract_zip(archive, tmp_path / "out")
    assert extract_zip(archive, tmp_path / "out") == first
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["faces"]
    assert len(load_folder(first, size=16)) == 4


def test_import_zip_never_writes_into_an_existing_folder(make_identity_folders, tmp_path):
    data_dir = tmp_path / "data"
    existing = make_identity_folders(data_dir / "faces", n_identities=2, n_images=2)
    before = {p: p.read_bytes() for p in existing.rglob("*.png")}
    other = encode(Image.new("L", (8, 8), 7))
    upload = {f"{name}/{i:03d}.png": other for name in ("person_00", "zed") for i in range(2)}
    root = import_zip(zip_bytes(upload), data_dir, "faces.zip")
    assert root == data_dir / "faces-1"
    assert {p: p.read_bytes() for p in existing.rglob("*.png")} == before
    assert import_zip(zip_bytes(upload), data_dir, "faces.zip") == data_dir / "faces-2"


def test_import_zip_leaves_no_folder_when_refused(tmp_path):
    with pytest.raises(DatasetError, match="points outside"):
        import_zip(zip_bytes({"faces/a/1.png": b"x", "../evil.png": b"y"}), tmp_path / "data", "faces.zip")
    assert list((tmp_path / "data").iterdir()) == []
    assert not (tmp_path / "evil.png").exists()


def test_import_zip_into_a_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(DatasetError, match="cannot write into"):
        import_zip(zip_bytes({"faces/a/1.png": b"x"}), blocker, "faces.zip")


@pytest.mark.parametrize("filename, expected", [
    ("faces.zip", "faces"), ("../../escape.zip", "escape"), ("C:\\Users\\me\\faces.ZIP", "faces"),
    ("/etc/passwd", "passwd"), (".hidden.zip", "hidden"), ("..zip", "upload"), ("", "upload"),
    ("a\x00b\nc.zip", "a_b_c"), ('what?<>|"*.zip', "what______"), ("Zoë Ångström.zip", "Zoë Ångström"),
    ("x" * 300 + ".zip", "x" * 100),
])
def test_folder_name_of_an_upload_is_safe(filename, expected):
    assert folder_name(filename) == expected
