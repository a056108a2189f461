"""docverify's own biomedical NER models (trained by `make model`, see training/README.md) and the recall layer's
access to them.

Every model is a plain spaCy pipeline directory under models/ (config.cfg, meta.json, tokenizer, vocab, tok2vec,
ner): `spacy.load(directory)` loads it with no code from this repository — the tokenizer's rules are saved in the
model. `docverify models` lists them.

Which model the diagnosis finder uses as its recall layer is a setting (`pipeline.settings.Settings.ner_model`,
DOCVERIFY_NER_MODEL): a bundled model's name, or "off" for none. `docverify eval --no-ner` turns it off for a
with/without run. The caller passes the chosen name down; nothing here reads the environment.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from pydantic import BaseModel, ConfigDict, Field, field_validator
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractors.model_info import MODELS_DIR as BUNDLED_MODELS_DIR
from pipeline.errors import ConfigError
from pipeline.rulefiles import parse_rule_model, read_rule_file, rule_path
from pipeline.settings import DEFAULT_NER_MODEL
from pipeline.types import SectionKind

MODELS_DIR = BUNDLED_MODELS_DIR
RECALL_RULES_PATH = rule_path("ner_recall.yaml")
DEFAULT_MODEL = DEFAULT_NER_MODEL

# Blocks the model reads one at a time: pages are joined by a blank line (pipeline.types.linearize).
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n")

log = logging.getLogger(__name__)


class RecallRules(BaseModel):
    """pipeline/rules/ner_recall.yaml: which recognised spans the diagnosis finder may use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    generic_words: frozenset[str]
    min_link_score: float = Field(ge=0.0, le=1.0)
    skip_sections: frozenset[SectionKind]
    labels: tuple[str, ...] = Field(min_length=1)

    @field_validator("generic_words")
    @classmethod
    def _lower(cls, words: frozenset[str]) -> frozenset[str]:
        return frozenset(w.strip().lower() for w in words)

    def is_generic(self, words: Sequence[str]) -> bool:
        """True when every word (punctuation ignored) is a generic word: the span names no condition."""
        content = [w.lower() for w in words if any(c.isalnum() for c in w)]
        return all(w in self.generic_words for w in content)


@functools.cache
def load_recall_rules(path: Path = RECALL_RULES_PATH) -> RecallRules:
    """The recall layer's rules; ConfigError naming the file and the problem when invalid."""
    return parse_rule_model(read_rule_file(path, "NER recall rules"), path, RecallRules)


@dataclass(frozen=True)
class BundledModel:
    """One model directory and what its meta.json says about it."""

    name: str
    version: str
    directory: Path
    labels: tuple[str, ...]
    description: str
    size_bytes: int
    performance: dict[str, Any]


@dataclass(frozen=True)
class EntitySpan:
    """A recognised entity, by character offsets into the text that was recognised."""

    start: int
    end: int
    label: str


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def bundled_models(root: Path = MODELS_DIR) -> list[BundledModel]:
    """Every model directory under `root` (one holding config.cfg and meta.json), by name."""
    out: list[BundledModel] = []
    if not root.is_dir():
        return out
    for directory in sorted(p for p in root.iterdir() if (p / "config.cfg").is_file() and (p / "meta.json").is_file()):
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"model {directory.name}: meta.json is unreadable ({type(e).__name__})") from e
        labels = meta.get("labels", {}).get("ner", [])
        out.append(BundledModel(name=str(meta.get("name", directory.name)), version=str(meta.get("version", "?")),
                                directory=directory, labels=tuple(labels),
                                description=str(meta.get("description", "")), size_bytes=_size(directory),
                                performance=dict(meta.get("docverify_performance", {}))))
    return out


class AbbreviationPropagator:
    """Abbreviation-consistent entities (the rule BC5CDR's annotators follow, and what tmChem/TaggerOne-style systems
    do after tagging): a short form the text defines ("streptozotocin (STZ)", found by scispaCy's Schwartz & Hearst
    detector) takes the label of its long form at every occurrence, replacing whatever overlapped it. When the long
    form is no entity nothing changes: also dropping the short form's entities then cost 0.16 F1 on BC5CDR dev
    (training/README.md). Applied to a model's output, never to its training data."""

    def __init__(self, nlp: Language) -> None:
        from scispacy.abbreviation import AbbreviationDetector

        self.detector = AbbreviationDetector(nlp)

    def __call__(self, doc: Doc) -> Doc:
        with warnings.catch_warnings():  # W036: the detector's per-doc matcher is empty when nothing is defined
            warnings.filterwarnings("ignore", message=r"\[W036\]")
            self.detector(doc)
        groups: dict[tuple[int, int], tuple[Span, list[Span]]] = {}
        for short in doc._.abbreviations:
            long_form: Span = short._.long_form
            groups.setdefault((long_form.start, long_form.end), (long_form, []))[1].append(short)
        if not groups:
            return doc
        ents = list(doc.ents)
        for long_form, shorts in groups.values():
            label = _long_form_label(long_form, ents)
            if label is None:
                continue
            short_keys = {(s.start, s.end) for s in shorts}
            ents = [e for e in ents if not any(e.start < b and a < e.end for a, b in short_keys)]
            ents += [Span(doc, a, b, label=label) for a, b in short_keys]
        doc.ents = filter_spans(ents)
        return doc


def _long_form_label(long_form: Span, ents: list[Span]) -> str | None:
    """The label of the entity that is the long form: inside it, ending where it ends, covering half of it or more."""
    for e in ents:
        if long_form.start <= e.start and e.end == long_form.end and 2 * len(e) >= len(long_form):
            return e.label_
    return None


class EntityRecognizer:
    """A loaded bundled model; `recognize` returns its entities with character offsets (abbreviation-consistent,
    see AbbreviationPropagator)."""

    def __init__(self, model: BundledModel, nlp: Language, load_seconds: float) -> None:
        self.model = model
        self.nlp = nlp
        self.load_seconds = load_seconds
        self.abbreviations = AbbreviationPropagator(nlp)

    @property
    def version_tag(self) -> str:
        return f"{self.model.name}-{self.model.version}"

    def recognize(self, text: str, labels: Sequence[str] = ("DISEASE",),
                  ranges: Sequence[tuple[int, int]] | None = None) -> list[EntitySpan]:
        """Entities of `labels` in `text` (or only in its character `ranges`), read block by block (blank-line
        separated: pages, paragraphs) so that no document is too long for spaCy; abbreviations are resolved within
        the block that defines them. Offsets are into `text`."""
        blocks: list[tuple[int, str]] = []
        for lo, hi in ranges if ranges is not None else [(0, len(text))]:
            piece = text[lo:hi]
            starts = [m.end() for m in _BLOCK_BREAK.finditer(piece)]
            for a, b in zip([0, *starts], [*starts, len(piece)], strict=True):
                if piece[a:b].strip():
                    blocks.append((lo + a, piece[a:b]))
        out: list[EntitySpan] = []
        for (offset, _), doc in zip(blocks, self.nlp.pipe(b for _, b in blocks), strict=True):
            doc = self.abbreviations(doc)
            out += [EntitySpan(offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents
                    if e.label_ in labels]
        return out


def load_recognizer(name: str, root: Path = MODELS_DIR) -> EntityRecognizer:
    """Load bundled model `name`; ConfigError when it is not bundled."""
    models = {m.name: m for m in bundled_models(root)}
    model = models.get(name)
    if model is None:
        raise ConfigError(f"NER model {name!r} is not bundled (have: {', '.join(sorted(models)) or 'none'})")
    t0 = time.perf_counter()
    nlp = spacy.load(model.directory)
    seconds = time.perf_counter() - t0
    log.info("ner model %s loaded in %.2f s", model.name, seconds)
    return EntityRecognizer(model, nlp, seconds)


@functools.cache
def _cached(name: str) -> EntityRecognizer:
    return load_recognizer(name)


def get_recognizer(name: str | None) -> EntityRecognizer | None:
    """Bundled model `name` (`Settings.ner_model_name`), loaded once per process; None for None (the layer off).
    Raises ConfigError when it is not bundled."""
    return None if name is None else _cached(name)
