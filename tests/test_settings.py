"""pipeline.settings: one frozen Settings object from DOCVERIFY_* variables, read when an entry point builds it; the
README lists every setting; no module reads the environment at import, and only the allowed places write it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pydantic
import pytest

from pipeline.settings import DEFAULT_NER_MODEL, Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "extractors", "evaluation", "storage", "flows")
# The only places that write os.environ, and why (docs/CONVENTIONS.md "Settings"): tesseract is a child program
# configured only through its environment; Prefect's child processes find the API URL of the server we started;
# the reader child replaces its whole environment with the scrubbed one (docs/THREAT-MODEL.md B5).
ALLOWED_WRITERS = {("extractors/ocr.py", "limit_tesseract_threads"), ("flows/deploy.py", "local_prefect_api"),
                   ("flows/isolation.py", "_child")}


def test_when_variables_are_set_then_settings_read_them_at_construction(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("DOCVERIFY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCVERIFY_NER_MODEL", "off")
    monkeypatch.setenv("DOCVERIFY_BATCH_CONCURRENCY", "3")
    settings = Settings()
    assert settings.data_path == tmp_path.resolve()
    assert settings.store_url == f"sqlite:///{tmp_path.resolve()}/docverify.db"
    assert settings.ner_model_name is None and settings.batch_concurrency == 3


def test_when_nothing_is_set_then_defaults_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"DOCVERIFY_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.originals_dir == tmp_path.resolve() / "var" / "originals"
    assert settings.ner_model_name == DEFAULT_NER_MODEL and settings.prefect_port == 4200
    assert settings.corpora == ROOT.parent / "shared" / "corpora"


def test_when_a_setting_is_assigned_then_it_is_refused() -> None:
    settings = Settings(ner_model="off")
    with pytest.raises(pydantic.ValidationError):
        settings.ner_model = "docverify_ner_ncbi"  # type: ignore[misc]
    assert Settings(ner_model=DEFAULT_NER_MODEL).without_ner().ner_model_name is None


def test_when_a_value_is_out_of_range_then_building_the_settings_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCVERIFY_PREFECT_PORT", "70000")
    with pytest.raises(pydantic.ValidationError):
        Settings()


def test_when_the_readme_is_read_then_it_lists_every_setting_with_its_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(DOCVERIFY_[A-Z_]+)` \|", readme, flags=re.M))
    assert rows == {f"DOCVERIFY_{name.upper()}" for name in Settings.model_fields}


def _module_level_env_reads(tree: ast.Module) -> list[int]:
    """Line numbers of os.environ / os.getenv uses outside any function or class body."""
    lines = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr in {"environ", "getenv"}:
                lines.append(sub.lineno)
    return lines


def _env_writers(tree: ast.Module) -> set[str]:
    """Names of the functions that assign, delete or setdefault/pop/update keys of os.environ."""
    writers = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        for sub in ast.walk(fn):
            target = None
            if isinstance(sub, ast.Assign | ast.Delete):
                targets = sub.targets
                target = next((t for t in targets if isinstance(t, ast.Subscript)), None)
                target = target.value if target is not None else None
            elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                  and sub.func.attr in {"setdefault", "pop", "update", "clear"}):
                target = sub.func.value
            if isinstance(target, ast.Attribute) and target.attr == "environ":
                writers.add(fn.name)
    return writers


@pytest.mark.parametrize("path", [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_when_a_module_is_imported_then_it_neither_reads_nor_writes_the_environment(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert _module_level_env_reads(tree) == []
    rel = str(path.relative_to(ROOT))
    assert {(rel, name) for name in _env_writers(tree)} <= ALLOWED_WRITERS


def test_when_code_writes_the_environment_then_the_scanner_sees_it() -> None:
    tree = ast.parse("import os\nX = os.environ.get('A')\ndef f():\n    os.environ['B'] = '1'\n"
                     "def g():\n    os.environ.setdefault('C', '1')\n")
    assert _module_level_env_reads(tree) == [2] and _env_writers(tree) == {"f", "g"}
