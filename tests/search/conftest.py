"""What the search tests share: small synthetic faces, a configuration that trains in a second or two,
waiting for a state, and a real PostgreSQL server started for the session."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from siamese.config import TrainConfig

TINY = dict(input_size=16, embedding_dim=8, p=4, k=2, augment=False, device="cpu", epochs=3, val_fraction=0.5)
PASSWORD = "s3cret-pw"


@pytest.fixture
def faces(make_identity_folders):
    """8 synthetic people, 4 images each: an epoch of a few steps."""
    return str(make_identity_folders(n_identities=8, n_images=4))


@pytest.fixture
def tiny(faces):
    """Factory: the tiny configuration over `faces`, with overrides."""
    return lambda **overrides: TrainConfig(**{**TINY, "data": faces, **overrides})


def wait_until(condition, seconds: float = 180.0, what: str = "the state") -> None:
    """Wait for a state, not a time; fail naming what never came."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never came")
        time.sleep(0.3)


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql",
                       shell=True, capture_output=True)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, the command runs as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server in a temporary folder on a free port, whose superuser `postgres` logs in
    with a password over TCP; its URL. Skipped, with the reason, where PostgreSQL cannot be installed."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed and cannot be (Debian's postgresql package: apt-get install "
                    "postgresql, as .ci/run does)")
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed")
    root = Path(tempfile.mkdtemp(prefix="siamese-pg-"))
    (root / "pw").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(root / "db"), "-U", "postgres",
                                    "--auth=scram-sha-256", f"--pwfile={root / 'pw'}"]),
                   check=True, capture_output=True)
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(root / "db"), "-l", str(root / "log"), "-w",
                                    "-o", f"-p {port} -k {root} -h 127.0.0.1", "start"]), check=True,
                   capture_output=True)
    try:
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(root / "db"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
