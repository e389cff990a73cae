"""The README keeps its promises: two commands first, the CI runs the second verbatim, the
configuration table matches TrainConfig, and the serving section matches .streamlit/config.toml."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from siamese.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks() -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return [(lang.strip(), body.strip()) for lang, body in FENCE.findall(README.read_text(encoding="utf-8"))]


def config_table() -> dict[str, tuple[str, str]]:
    """field -> (default, meaning) from the README's configuration table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Configuration", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\|\s*`(\w+)`\s*\|\s*(.*?)\s*\|\s*(.*?)\s*\|\s*$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def test_readme_opens_with_the_two_commands():
    blocks = code_blocks()
    assert len(blocks) >= 2
    (lang1, first), (lang2, second) = blocks[:2]
    assert lang1 == lang2 == "bash"
    assert len(first.splitlines()) == 1 and len(second.splitlines()) == 1
    assert "pip install" in first and "streamlit run app.py" in first
    assert "pip install" in second and "pytest" in second
    # Nothing but prose (no other code) before them.
    text = README.read_text(encoding="utf-8")
    assert text.index("```") == text.index(first) - len("```bash\n")


def test_ci_runs_the_readme_test_command_verbatim():
    second = code_blocks()[1][1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert second in ci.splitlines()


def test_the_requirements_files_the_commands_name_exist():
    for _, body in code_blocks()[:2]:
        for name in re.findall(r"-r\s+(\S+)", body):
            assert (ROOT / name).is_file(), name


def shown(value) -> str:
    return "—" if value is None else str(value)


@pytest.mark.parametrize("field", fields(TrainConfig), ids=lambda f: f.name)
def test_configuration_table_lists_the_field_with_its_default(field):
    table = config_table()
    assert field.name in table, f"README's configuration table has no row for {field.name}"
    default, meaning = table[field.name]
    assert field.default is not MISSING
    assert default == shown(field.default), f"{field.name}: README says {default}, TrainConfig has {field.default}"
    assert meaning.startswith(field.metadata["help"])
    for choice in field.metadata.get("choices", ()):
        assert choice in meaning


def test_configuration_table_has_exactly_the_fields_in_order():
    assert list(config_table()) == [f.name for f in fields(TrainConfig)]


def test_the_dashboard_listens_on_localhost_with_the_upload_limit_the_readme_states():
    import tomllib

    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["server"]
    assert server["address"] == "127.0.0.1"
    serving = README.read_text(encoding="utf-8").split("### Serving", 1)[1].split("\n#", 1)[0]
    assert "127.0.0.1" in serving and f"{server['maxUploadSize']} MB" in serving
    assert "--server.address 0.0.0.0" in serving and "gallery/" in serving
    assert (ROOT / "docs" / "SAFETY.md").is_file()
