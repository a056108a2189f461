"""Test-wide settings. Fixture catalogue: samples/README.md (bundled uploads) and tests/fakes.py (in-test builders)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Tesseract's OpenMP threads thrash on 2 cores; one thread per tesseract process (see extractors/ocr.py).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
