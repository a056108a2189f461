"""Reading rule, lexicon, map and policy files: one place for the I/O error translation every loader needs."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ConfigError


def read_rule_file(path: Path, what: str) -> bytes:
    """The bytes of a rule file; raises ConfigError naming the file and `what` it is (never its content)."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path.name}: cannot read {what} ({type(e).__name__})") from e
