"""Test-wide settings. Fixture catalogue: samples/README.md (bundled uploads) and tests/fakes.py (in-test builders)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tesseract's OpenMP threads thrash on 2 cores; one thread per tesseract process (see extractors/ocr.py).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The audit head anchors (Settings.audit_anchor_dir, under XDG_STATE_HOME) of every test's stores go to a
    session temp folder, never the home folder; child processes (servers, flow runs) inherit it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        yield None


# --- Prefect (tests/test_flows.py, test_batch.py, test_reconcile.py, test_dask.py) -----------------------------------
@pytest.fixture(scope="session")
def prefect_api() -> object:
    """A temporary Prefect server (SQLite in a temp dir), started once per session (~8 s): its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh docverify data dir (SQLite store and originals) for one test."""
    monkeypatch.setenv("DOCVERIFY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DOCVERIFY_DATABASE_URL", raising=False)
    return tmp_path / "var"


# --- Hypothesis (tests/test_fuzz.py) -------------------------------------------------------------------------------
# "suite": what every test run uses, a few fixed examples (derandomized, no example database); "fuzz": `make fuzz`
# (--hypothesis-profile=fuzz, applied after this file is loaded), many random examples, failures kept in .hypothesis/.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("suite", max_examples=25, derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
