"""pipeline/rulefiles.py: every rule file fails the same way — the file's name and the problem, never content."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from pipeline import rulefiles
from pipeline.errors import ConfigError
from pipeline.rulefiles import load_yaml, parse_rule_model, read_rule_file, rule_files, rule_path


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float


CASES = [
    ("rules.yaml", b"weight: 0.5\n", None),
    ("rules.json", b'{"weight": 0.5}', None),
    ("rules.yaml", b"weight: [unclosed\n", "not valid YAML"),
    ("rules.json", b'{"weight": ', "not valid JSON"),
    ("rules.json", b"\xff\xfe\x00", "not valid JSON"),
    ("rules.yaml", b"- a list\n", "top level must be a mapping"),
    ("rules.yaml", b"weight: 0.5\ncolour: red\n", "colour"),
    ("rules.yaml", b"weight: heavy\n", "weight"),
    ("rules.yaml", b"weight: 0.5\n\xff\xfe bad utf-8\n", "not valid YAML"),
    ("rules.yaml", b"weight: !!python/object:os.system echo\n", "not valid YAML"),  # no unsafe tags
]


@pytest.mark.parametrize(("name", "raw", "problem"), CASES)
def test_when_a_rule_file_is_parsed_then_it_validates_or_names_file_and_problem(
        name: str, raw: bytes, problem: str | None) -> None:
    path = Path("/rules") / name
    if problem is None:
        assert parse_rule_model(raw, path, Rules).weight == 0.5
        return
    with pytest.raises(ConfigError) as info:
        parse_rule_model(raw, path, Rules)
    assert str(info.value).startswith(f"config_error: {name}: ")
    assert problem in str(info.value)


def test_when_a_rule_file_is_missing_then_config_error_says_what_it_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent.yaml: cannot read policy file \(FileNotFoundError\)"):
        read_rule_file(tmp_path / "absent.yaml", "policy file")


def test_when_a_rule_file_is_named_then_rule_path_finds_it_in_the_bundled_rules() -> None:
    path = rule_path("pain_policy.yaml")
    assert path.is_file() and path.parent.name == "rules"
    assert path in rule_files() and all(p.suffix in {".yaml", ".yml", ".json"} for p in rule_files())


@pytest.mark.parametrize("name", ["", "..", "../pyproject.toml", "rules/pain_policy.yaml", "/etc/passwd"])
def test_when_a_rule_name_holds_a_folder_then_rule_path_refuses_it(name: str) -> None:
    with pytest.raises(ValueError, match="not a rule file name"):
        rule_path(name)


def test_when_the_c_yaml_parser_reads_the_bundled_rule_files_then_it_gives_what_safe_load_gives() -> None:
    # load_yaml uses libyaml's CSafeLoader (a cold check parses every rule file: ~0.15 s saved) and must not change a
    # single value of any bundled file.
    assert rulefiles._SAFE_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    yaml_files = [p for p in rule_files() if p.suffix in (".yaml", ".yml")]
    assert yaml_files
    for path in yaml_files:
        raw = path.read_bytes()
        assert load_yaml(raw) == yaml.safe_load(raw), path.name
        assert load_yaml(raw.decode("utf-8")) == yaml.safe_load(raw), path.name
