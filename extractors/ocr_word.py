"""One word as an OCR engine read it (its own module so that extractors.ocr and extractors.script_reread share it
without importing each other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OcrWord:
    """One word as an engine read it: pixel box in the image it was given, confidence 0..100, layout ids."""

    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float
    block: int = 0
    par: int = 0
    line: int = 0
