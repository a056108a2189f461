"""The layers point one way and nothing imports in a cycle (docs/ARCHITECTURE.md "Layers"). Parsed with ast, not
imported: every import counts, also one inside a function.

    flows/ → evaluation/ → extractors/ → pipeline/        storage/ → pipeline/, imported only by flows/ and evaluation/

training/ (the NER models' recipe) and samples/ (the bundled samples' generator) are tools beside the product: they may
use the domain, the readers and the evaluation helpers, never the entry points or the store.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "extractors", "evaluation", "storage", "flows", "training", "samples")

# Which first-party packages each package may import (itself always).
ALLOWED = {
    "pipeline": set(),
    "extractors": {"pipeline"},
    "storage": {"pipeline"},
    "evaluation": {"extractors", "pipeline", "storage"},
    "flows": {"evaluation", "extractors", "pipeline", "storage"},
    "training": {"evaluation", "extractors", "pipeline"},
    "samples": {"evaluation", "pipeline"},
}
# Third-party frameworks kept out of the lower layers: the domain stays free of I/O frameworks and NLP, the readers and
# finders free of orchestration and the web.
FORBIDDEN_THIRD_PARTY = {
    "pipeline": {"prefect", "fastapi", "starlette", "spacy", "scispacy", "medspacy", "pdfplumber", "pdfminer",
                 "pypdfium2", "pytesseract", "PIL", "pillow_heif", "sklearn", "typer", "sqlalchemy", "alembic"},
    "extractors": {"prefect", "fastapi", "starlette", "typer", "sqlalchemy", "alembic"},
    "storage": {"prefect", "fastapi", "starlette", "spacy", "pytesseract", "typer"},
    "evaluation": {"prefect", "fastapi", "starlette", "typer"},
}


def module_name(path: Path, root: Path) -> str:
    """`flows/cli.py` → `flows.cli`; a package's `__init__.py` → the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every import statement of `path`, wherever it is: (absolute module, names imported from it — empty for
    `import module`); relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            yield base, tuple(alias.name for alias in node.names)


def graph(root: Path) -> dict[str, set[str]]:
    """First-party module → the first-party modules it imports (`from pkg import module` counts as `pkg.module`)."""
    files = {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        targets: set[str] = set()
        for base, names in imports_of(path, root):
            submodules = {f"{base}.{n}" for n in names} & files.keys()
            targets |= submodules or ({base} & files.keys())
        edges[name] = targets - {name}
    return edges


def layer_violations(root: Path) -> list[str]:
    """Each import that crosses the layers the wrong way, as "importer -> imported"."""
    bad = []
    for name, path in sorted((module_name(p, root), p) for pkg in PACKAGES for p in (root / pkg).rglob("*.py")):
        layer = name.split(".")[0]
        for imported in sorted({base for base, _ in imports_of(path, root)}):
            top = imported.split(".")[0]
            if top in ALLOWED and top != layer and top not in ALLOWED[layer]:
                bad.append(f"{name} -> {imported}")
            if top in FORBIDDEN_THIRD_PARTY.get(layer, set()):
                bad.append(f"{name} -> {imported} (third party)")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `edges` (one per strongly connected component of more than one module; Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_when_the_tree_is_scanned_then_no_import_crosses_the_layers_the_wrong_way() -> None:
    assert layer_violations(ROOT) == []


def test_when_the_tree_is_scanned_then_no_modules_import_each_other_in_a_cycle() -> None:
    assert cycles(graph(ROOT)) == []


def test_when_the_tree_is_scanned_then_the_store_is_imported_only_by_entry_points_and_evaluations() -> None:
    importers = {name.split(".")[0] for name, imported in graph(ROOT).items()
                 if any(i.split(".")[0] == "storage" for i in imported)}
    assert importers <= {"flows", "evaluation", "storage"}
    assert "flows" in importers  # the scan sees the real importer: the check is not vacuous


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir(exist_ok=True)
        (tmp_path / pkg / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"pipeline/types.py": "from extractors.nlp import get_pipeline\n", "extractors/nlp.py": ""},
     ["pipeline.types -> extractors.nlp"]),
    ({"extractors/people.py": "def f():\n    from flows.cli import app\n", "flows/cli.py": ""},
     ["extractors.people -> flows.cli"]),
    ({"extractors/ocr.py": "import storage.store\n", "storage/store.py": ""},
     ["extractors.ocr -> storage.store"]),
    ({"evaluation/corpus.py": "from flows.runner import check_many\n", "flows/runner.py": ""},
     ["evaluation.corpus -> flows.runner"]),
    ({"pipeline/report.py": "import spacy\n"}, ["pipeline.report -> spacy (third party)"]),
], ids=["domain-imports-a-reader", "finder-imports-an-entry-point-inside-a-function", "reader-imports-the-store",
        "evaluation-imports-an-entry-point", "domain-imports-spacy"])
def test_when_a_wrong_import_is_written_then_the_layer_check_names_it(tmp_path: Path, files: dict[str, str],
                                                                     expected: list[str]) -> None:
    assert layer_violations(_tree(tmp_path, files)) == expected


def test_when_two_modules_import_each_other_even_inside_a_function_then_the_cycle_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"flows/deploy.py": "from flows.reconcile import reconcile\n",
                            "flows/reconcile.py": "def r():\n    from flows.deploy import trigger\n",
                            "flows/cli.py": "from . import deploy\n"})
    assert cycles(graph(root)) == [["flows.deploy", "flows.reconcile"]]


def test_when_a_relative_import_is_scanned_then_it_resolves_to_the_absolute_module(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"flows/cli.py": "from .runner import check_many\nfrom . import deploy\n",
                            "flows/runner.py": "", "flows/deploy.py": ""})
    assert graph(root)["flows.cli"] == {"flows.runner", "flows.deploy"}
