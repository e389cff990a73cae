"""The shape of the project: the library never imports Streamlit, its modules import each other without a
circle, pages stay short, and every test docs/SAFETY.md names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "siamese"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Modules `path` imports when it runs, at the top level or inside functions (imports for type
    checkers only, under `if TYPE_CHECKING:`, never run)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) == "TYPE_CHECKING" for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def library_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in LIBRARY.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def test_the_library_never_imports_streamlit():
    offenders = [module_name(p) for p in LIBRARY.rglob("*.py")
                 if any(m == "streamlit" or m.startswith("streamlit.") for m in imports_of(p))]
    assert offenders == []


def test_the_library_has_no_import_circle():
    graph = library_graph()
    # A package imports what its __init__ re-exports; that is not a circle through the package's modules.
    for name in list(graph):
        graph[name] = {m for m in graph[name] if not (name.startswith(m + ".") and m in graph)}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_library_reads_as_the_pipeline():
    names = {p.name.removesuffix(".py") for p in LIBRARY.iterdir() if p.name != "__pycache__"}
    for step in ("data", "faces", "augment", "sampling", "models", "losses", "distances", "train", "evaluate",
                 "gallery", "projection", "runs", "config", "cli"):
        assert step in names
    assert not names & {"utils", "helpers", "misc", "bench", "trained", "launch", "samples", "threshold"}


@pytest.mark.parametrize("page", sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"], ids=lambda p: p.name)
def test_pages_stay_short_and_start_with_the_shared_set_up(page):
    text = page.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first_call = next(node for node in ast.parse(text).body if isinstance(node, ast.Expr)
                      and isinstance(node.value, ast.Call))
    assert ast.unparse(first_call.value.func) == "page.setup"


def test_pages_is_streamlits_pages_directory_and_app_pages_is_gone():
    assert (ROOT / "pages").is_dir() and not (ROOT / "app_pages").exists()
    assert "st.navigation" not in (ROOT / "app.py").read_text()


def test_every_test_safety_md_names_exists():
    text = (ROOT / "docs" / "SAFETY.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text))
    assert len(named) > 50
    missing = [f"{path}::{name}" for path, name in sorted(named)
               if not (ROOT / path).is_file() or not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)]
    assert missing == []


def test_the_decisions_depend_on_nothing_of_training_runs_or_the_gallery():
    """Whoever decides (the trainer saving its threshold, the pages, the gallery) imports the decisions;
    the decisions never import them back."""
    graph = library_graph()
    reached = {m for name, imports in graph.items() if name.startswith("siamese.decisions") for m in imports}
    back = sorted(m for m in reached if m.split(".")[1] in ("train", "runs", "gallery", "explain", "cli"))
    assert back == []
