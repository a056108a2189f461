"""Where the tests find the public corpora (never copied into the repository), and the skip marker for tests that
need one: the same setting the product uses (`Settings.corpora`: DOCVERIFY_CORPORA, default ../shared/corpora beside
the clone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import Settings

CORPORA: Path = Settings().corpora


def needs(*names: str) -> pytest.MarkDecorator:
    """Skip unless every named corpus folder is present, with a reason that says how to get them."""
    missing = [n for n in names if not (CORPORA / n).is_dir()]
    return pytest.mark.skipif(bool(missing), reason=(
        f"corpus {', '.join(missing)} not found under the corpora folder: set DOCVERIFY_CORPORA to the folder of "
        "public corpora (see training/README.md, 'Data'), or place it at ../shared/corpora beside the clone"))
