"""The SNOMED CT → ICD-10-CM pain map (rules/snomed_pain_map.yaml): its schema, validation and cached loading."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.codes import snomed_id_is_valid
from pipeline.errors import ConfigError
from pipeline.policy import is_valid_code
from pipeline.rulefiles import parse_rule_model, read_rule_file, rule_path

SNOMED_MAP_PATH = rule_path("snomed_pain_map.yaml")


class SnomedConcept(BaseModel):
    """One mapped concept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snomed: str
    display: str = Field(min_length=1)
    icd10: str

    @field_validator("snomed")
    @classmethod
    def _check_sctid(cls, v: str) -> str:
        if not snomed_id_is_valid(v):
            raise ValueError(f"{v!r} is not a SNOMED CT identifier (Verhoeff check digit)")
        return v

    @field_validator("icd10")
    @classmethod
    def _check_icd10(cls, v: str) -> str:
        if not is_valid_code(v):
            raise ValueError(f"{v!r} is not an ICD-10-CM code")
        return v.strip().upper()


class SnomedMapFile(BaseModel):
    """The map file's shape; unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    display_words: tuple[str, ...] = Field(min_length=1)
    concepts: tuple[SnomedConcept, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class SnomedMap:
    """A loaded, validated map: SNOMED CT id → ICD-10-CM code, plus the pain display words."""

    icd10: dict[str, str]
    display: re.Pattern[str]
    sha256: str

    def pain_words_in(self, text: str) -> bool:
        """True when `text` contains one of the map's pain display words."""
        return self.display.search(text) is not None


def parse_snomed_map(raw: bytes, path: Path) -> SnomedMap:
    """Validate the bytes of a map file. Raises ConfigError naming the file and the problem."""
    name = path.name
    model = parse_rule_model(raw, path, SnomedMapFile)
    icd10: dict[str, str] = {}
    for i, concept in enumerate(model.concepts):
        if concept.snomed in icd10:
            raise ConfigError(f"{name}: concepts[{i}]: SNOMED CT {concept.snomed} is listed twice")
        icd10[concept.snomed] = concept.icd10
    words = sorted({" ".join(w.lower().split()) for w in model.display_words}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE)
    return SnomedMap(icd10=icd10, display=pattern, sha256=hashlib.sha256(raw).hexdigest())


@functools.cache
def _load_snomed_cached(path: Path) -> SnomedMap:
    return parse_snomed_map(read_rule_file(path, "map file"), path)


def load_snomed_map(path: Path | None = None) -> SnomedMap:
    """Load and validate the SNOMED CT map (default: rules/snomed_pain_map.yaml), cached per path.

    Raises ConfigError.
    """
    return _load_snomed_cached((path or SNOMED_MAP_PATH).resolve())
