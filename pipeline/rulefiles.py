"""Reading rule, lexicon, map and policy files: one place for the I/O, syntax and schema error translation that
every loader needs. Messages name the file and the problem (locations and pydantic messages), never file content."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import ConfigError

# The bundled rule files (package data). Callers name a file with `rule_path`, never build paths of their own.
RULES_DIR = Path(__file__).parent / "rules"
RULE_SUFFIXES = frozenset({".yaml", ".yml", ".json"})


class StrictRuleModel(BaseModel):
    """Base of every rule-file model: unknown keys are rejected, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def nonempty_phrases(v: list[str]) -> list[str]:
    """A pydantic validator body: the phrases with inner whitespace collapsed; ValueError when the list or a phrase
    is empty."""
    cleaned = [" ".join(p.split()) for p in v]
    if not cleaned or any(not p for p in cleaned):
        raise ValueError("phrases must be a non-empty list of non-empty strings")
    return cleaned


def rule_path(name: str) -> Path:
    """The path of the bundled rule file `name` ("pain_policy.yaml"); raises ValueError for a name with a folder."""
    if not name or Path(name).name != name or name in {".", ".."}:
        raise ValueError(f"{name!r} is not a rule file name")
    return RULES_DIR / name


def rule_files() -> list[Path]:
    """Every bundled rule, lexicon, map and policy file (by suffix), sorted by path."""
    return [p for p in sorted(RULES_DIR.glob("*")) if p.suffix in RULE_SUFFIXES]


def read_rule_file(path: Path, what: str) -> bytes:
    """The bytes of a rule file; raises ConfigError naming the file and `what` it is (never its content)."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path.name}: cannot read {what} ({type(e).__name__})") from e


def validation_summary(e: ValidationError) -> str:
    """'loc: message; …' for every error in `e`."""
    return "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())


# libyaml's C parser when PyYAML was built with it (the wheels are): the same documents as the pure-Python SafeLoader
# (every bundled file: tests/test_rulefiles.py), parsed 4-5x faster — ~0.15 s of a cold `docverify check`.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(raw: bytes | str) -> object:
    """`yaml.safe_load(raw)`, with the C parser when available. Raises yaml.YAMLError (and ValueError on bad
    encodings) like safe_load."""
    return yaml.load(raw, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader (SafeLoader or its C twin)


def parse_rule_model[M: BaseModel](raw: bytes, path: Path, model: type[M]) -> M:
    """Parse YAML (or JSON, by the file's suffix) into `model`; raises ConfigError naming the file and the problem."""
    is_json = path.suffix == ".json"
    try:
        data = json.loads(raw) if is_json else load_yaml(raw)
    except (yaml.YAMLError, ValueError) as e:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ConfigError(f"{path.name}: not valid {'JSON' if is_json else 'YAML'} ({type(e).__name__})") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: top level must be a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path.name}: {validation_summary(e)}") from e
