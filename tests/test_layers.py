"""The layers point one way: flows → extractors → pipeline (docs/CONVENTIONS.md). Parsed with ast, not imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each layer must never import (top-level package names).
FORBIDDEN = {
    "pipeline": {"extractors", "flows", "prefect", "fastapi", "starlette", "spacy", "scispacy", "medspacy",
                 "pdfplumber", "pdfminer", "pypdfium2", "pytesseract", "PIL", "pillow_heif", "sklearn", "typer"},
    "extractors": {"flows", "prefect", "fastapi", "starlette", "typer"},
    "flows": set(),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


CASES = [(layer, p) for layer in FORBIDDEN for p in sorted((ROOT / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), CASES, ids=[str(p.relative_to(ROOT)) for _, p in CASES])
def test_when_a_module_imports_then_it_only_imports_from_its_own_or_lower_layers(layer: str, path: Path) -> None:
    bad = _imports(path) & FORBIDDEN[layer]
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}, which the {layer} layer must not"


def test_when_layers_are_scanned_then_every_layer_has_modules() -> None:
    for layer in FORBIDDEN:
        assert any((ROOT / layer).rglob("*.py")), f"{layer}/ has no modules"


def test_when_a_forbidden_import_is_written_then_the_scanner_sees_it(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import spacy.tokens\nfrom pdfplumber import open as o\nfrom . import sibling\n")
    assert _imports(probe) == {"spacy", "pdfplumber"}
