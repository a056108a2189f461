"""The clinic's diagnosis policy (docs/POLICY.md), loaded from `rules/pain_policy.yaml` and validated strictly.

A policy maps ICD-10-CM code prefixes to categories. Classification is by the longest (most specific) matching
prefix, so "G56.4" (causalgia → crps) beats "G56" (mononeuropathy → neuropathic_pain) and "M54.81" beats "M54".
Codes are compared dotless and upper-case ("G90.512" and "g90512" are the same code).

Range notation (documented in the YAML too): "G43.0-G43.9" expands, at load, to every ICD-10-CM code of the
endpoints' length whose dotless form lies between the dotless endpoints inclusive, in plain character order. Each
expanded code is then a prefix. Both endpoints must be valid codes of the same length.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline import icd10cm
from pipeline.codes import icd10_dotless
from pipeline.errors import ConfigError
from pipeline.rulefiles import parse_rule_model, read_rule_file, rule_path
from pipeline.types import Category, Payer

DEFAULT_POLICY_PATH = rule_path("pain_policy.yaml")


def is_valid_code(code: str) -> bool:
    """True when `code` (dots optional) is a category or subcategory of the installed ICD-10-CM table."""
    return icd10cm.is_valid(code)


def icd_table_version() -> str:
    """The installed ICD-10-CM data release (used to key caches and in report versions)."""
    return icd10cm.release()


@functools.cache
def _codes_by_length() -> dict[int, tuple[str, ...]]:
    """Every dotless category/subcategory code, grouped by length, sorted (for range expansion)."""
    out: dict[int, list[str]] = {}
    for code in icd10cm.codes():  # categories and subcategories only: chapters and blocks are not codes
        dotless = icd10_dotless(code)
        out.setdefault(len(dotless), []).append(dotless)
    return {n: tuple(sorted(v)) for n, v in out.items()}


def expand_code_spec(spec: str) -> tuple[str, ...]:
    """Dotless prefixes for one policy entry: a single code or a range "A-B" (see module docstring).

    Raises ValueError when a code is not in the ICD-10-CM table or a range is malformed.
    """
    parts = [p.strip() for p in spec.split("-")]
    if len(parts) == 1:
        if not is_valid_code(parts[0]):
            raise ValueError(f"{spec!r} is not an ICD-10-CM code")
        return (icd10_dotless(parts[0]),)
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"{spec!r} is not a code or a range 'A-B'")
    lo, hi = (icd10_dotless(p) for p in parts)
    for raw in parts:
        if not is_valid_code(raw):
            raise ValueError(f"range endpoint {raw!r} in {spec!r} is not an ICD-10-CM code")
    if len(lo) != len(hi) or lo > hi:
        raise ValueError(f"range {spec!r}: endpoints must have the same length and be in order")
    return tuple(c for c in _codes_by_length().get(len(lo), ()) if lo <= c <= hi)


class Thresholds(BaseModel):
    """Numeric cut-offs used by finders and evaluation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field_min_confidence: float = Field(ge=0.0, le=1.0)
    link_min_score: float = Field(ge=0.0, le=1.0)  # cosine similarity of the char 3-gram linker, lexicon rows
    link_min_score_table: float = Field(ge=0.0, le=1.0)  # the same for ICD-10-CM table descriptions
    name_match_min: float = Field(ge=0.0, le=1.0)  # rapidfuzz ratio per name part, 0..1
    name_match_min_text: float = Field(1.0, ge=0.0, le=1.0)  # the same for a name that was not OCR'd
    near_tie_margin: float = Field(ge=0.0, le=1.0)
    # A treating physician the document names with no treating label or signature, chosen because the learned ranker
    # confirms the rules' fallback: below this probability the choice is reported for review (docs/POLICY.md).
    unlabelled_physician_min_confidence: float = Field(0.9, ge=0.0, le=1.0)


class Coverage(BaseModel):
    """Billing rules that depend on the payer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    non_billable_payers: frozenset[Payer]


class PolicyFile(BaseModel):
    """The YAML file's shape; every key is required and unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    categories: dict[Category, tuple[str, ...]]
    thresholds: Thresholds
    coverage: Coverage


class Policy:
    """A loaded, validated policy. Immutable; build with `load_policy`."""

    __slots__ = ("_prefixes", "_lengths", "thresholds", "non_billable_payers", "sha256", "path")

    def __init__(self, prefixes: Mapping[str, Category], thresholds: Thresholds,
                 non_billable_payers: frozenset[Payer], sha256: str, path: Path) -> None:
        self._prefixes: dict[str, Category] = dict(prefixes)
        # Longest first, so the first hit is the most specific.
        self._lengths: tuple[int, ...] = tuple(sorted({len(p) for p in prefixes}, reverse=True))
        self.thresholds = thresholds
        self.non_billable_payers = non_billable_payers
        self.sha256 = sha256
        self.path = path

    def classify(self, code: str) -> Category:
        """Category of an ICD-10-CM code (dots optional): longest matching prefix, `other` when none matches."""
        c = icd10_dotless(code)
        for n in self._lengths:
            if n <= len(c):
                hit = self._prefixes.get(c[:n])
                if hit is not None:
                    return hit
        return Category.OTHER

    @property
    def prefixes(self) -> Mapping[str, Category]:
        """Dotless prefix → category, after range expansion (read-only view for tests and reports)."""
        return dict(self._prefixes)



def parse_policy(raw: bytes, path: Path) -> Policy:
    """Validate the bytes of a policy file. Raises ConfigError naming the file and the problem."""
    name = path.name
    model = parse_rule_model(raw, path, PolicyFile)
    prefixes: dict[str, Category] = {}
    for category, specs in model.categories.items():
        for spec in specs:
            try:
                expanded = expand_code_spec(spec)
            except ValueError as e:
                raise ConfigError(f"{name}: categories.{category.value}: {e}") from e
            for prefix in expanded:
                if prefix in prefixes:
                    raise ConfigError(f"{name}: code {prefix} is listed under both {prefixes[prefix].value} "
                                      f"and {category.value}")
                prefixes[prefix] = category
    return Policy(prefixes, model.thresholds, model.coverage.non_billable_payers,
                  hashlib.sha256(raw).hexdigest(), path)


@functools.cache
def _load_cached(path: Path) -> Policy:
    return parse_policy(read_rule_file(path, "policy file"), path)


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate a policy file (default: rules/pain_policy.yaml), cached per path. Raises ConfigError."""
    return _load_cached((path or DEFAULT_POLICY_PATH).resolve())


# --- the diagnosis lexicon (rules/pain_lexicon.yaml) ---------------------------------------------------------------

DEFAULT_LEXICON_PATH = rule_path("pain_lexicon.yaml")

LimbKey = Literal["right_upper", "left_upper", "bilateral_upper", "upper",
                  "right_lower", "left_lower", "bilateral_lower", "lower"]


class LimbWords(BaseModel):
    """Words naming a side or a limb, for refining CRPS/causalgia codes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    right: tuple[str, ...]
    left: tuple[str, ...]
    bilateral: tuple[str, ...]
    upper: tuple[str, ...]
    lower: tuple[str, ...]
    side_limb: dict[str, LimbKey]  # one token naming both, e.g. "rue" → right_upper


class LexiconEntry(BaseModel):
    """Surface forms of one ICD-10-CM code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    terms: tuple[str, ...]
    abbreviations: tuple[str, ...] = ()
    limb_codes: dict[LimbKey, str] = Field(default_factory=dict)


class LexiconFile(BaseModel):
    """The lexicon file's shape."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    limb_window: int = Field(ge=1, le=20)
    limb_words: LimbWords
    entries: tuple[LexiconEntry, ...]


class Lexicon:
    """A loaded, validated lexicon with its file hash."""

    __slots__ = ("model", "sha256")

    def __init__(self, model: LexiconFile, sha256: str) -> None:
        self.model = model
        self.sha256 = sha256

    @property
    def entries(self) -> tuple[LexiconEntry, ...]:
        """Every entry, in file order."""
        return self.model.entries


def parse_lexicon(raw: bytes, path: Path) -> Lexicon:
    """Validate the bytes of a lexicon file. Raises ConfigError naming the file and the problem."""
    name = path.name
    model = parse_rule_model(raw, path, LexiconFile)
    seen: dict[str, str] = {}
    for i, entry in enumerate(model.entries):
        for code in (entry.code, *entry.limb_codes.values()):
            if not is_valid_code(code):
                raise ConfigError(f"{name}: entries[{i}]: {code!r} is not an ICD-10-CM code")
        if not entry.terms and not entry.abbreviations:
            raise ConfigError(f"{name}: entries[{i}] ({entry.code}) has no terms and no abbreviations")
        for term in entry.terms:
            key = " ".join(term.lower().split())
            if key in seen and seen[key] != entry.code:
                raise ConfigError(f"{name}: term {key!r} is listed under {seen[key]} and {entry.code}")
            seen[key] = entry.code
    return Lexicon(model, hashlib.sha256(raw).hexdigest())


@functools.cache
def _load_lexicon_cached(path: Path) -> Lexicon:
    return parse_lexicon(read_rule_file(path, "lexicon file"), path)


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Load and validate the diagnosis lexicon (default: rules/pain_lexicon.yaml), cached per path.

    Raises ConfigError.
    """
    return _load_lexicon_cached((path or DEFAULT_LEXICON_PATH).resolve())
