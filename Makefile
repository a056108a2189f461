# Every target sets itself up first (scripts/setup.sh is idempotent and fast on rerun).
SHELL := /bin/bash
VENV := .venv/bin
export OMP_THREAD_LIMIT := 1

.PHONY: setup demo test canary fuzz load lint typecheck audit samples eval model ner-eval lock clean screenshots bench

setup:
	@scripts/setup.sh

## The main job on the bundled samples with the embedded defaults (SQLite store under var/, a local Prefect server
## started and stopped for the run): the batch flow writes out/samples/<file>.json, summary.csv and summary.html;
## then the reports are scored against the labels.
demo: setup
	$(VENV)/docverify batch samples/inputs --out out/samples --manifest samples/manifest.csv
	$(VENV)/docverify eval samples --reports out/samples

## Lint, type-check, audit the pinned dependencies, then the whole test suite.
test: setup lint typecheck audit
	$(VENV)/python -m pytest -q

## The PHI canary sweep alone (tests/test_phi_canary.py, ~50 s; also part of `make test`): canary documents through
## every entry point, then logs, access logs, Prefect, temp and cache folders, error bodies, URLs and the store searched.
canary: setup
	$(VENV)/python -m pytest -q tests/test_phi_canary.py

## Fuzz intake and the readers for longer than the test suite does (tests/test_fuzz.py with the Hypothesis profile
## "fuzz": 2,000 random examples per property instead of 25 fixed ones; failing examples kept in .hypothesis/).
## A crash found becomes a named file in tests/hostile/regressions/ (see its README.md).
fuzz: setup
	$(VENV)/python -m pytest -q tests/test_fuzz.py --hypothesis-profile=fuzz

## Load on loopback (benchmarks/load/run.py; ~30 min): on SQLite, then on PostgreSQL ($$DOCVERIFY_TEST_PG_URL, default
## the local test database), 20 uploaders for 5 minutes then a burst of 100 clients against `uvicorn` alone, a worker
## verifying meanwhile and draining the queue after. Checks: no 5xx but 503 with Retry-After, no "database is locked",
## accept p95 <= 1 s, burst answered 2xx/429/503 only, every accepted upload DONE. Results: out/load/results.json.
load: setup
	$(VENV)/python benchmarks/load/run.py --out out/load/results.json

lint: setup
	$(VENV)/ruff check pipeline extractors flows evaluation storage tests samples benchmarks scripts training

typecheck: setup
	$(VENV)/mypy pipeline extractors flows evaluation storage training samples

## Known vulnerabilities in every pinned release (scripts/audit.sh: pip-audit from .venv-tools/, else
## scripts/pypi_audit.py on PyPI's JSON API; accepted findings in requirements/audit-ignore.txt). Pins it could not
## check are named and warned about; AUDIT_REQUIRED=1 makes them a failure.
audit:
	@scripts/audit.sh

## Redraw the review app's screenshots in docs/screenshots/ (README "Review app") with the browser test.
screenshots: setup
	DOCVERIFY_SCREENSHOTS=docs/screenshots $(VENV)/python -m pytest -q tests/test_review_browser.py

## Regenerate the synthetic samples and their labels (deterministic).
samples: setup
	$(VENV)/python samples/generate.py

eval: demo

## Train docverify's NER models from ../shared/corpora (BC5CDR, NCBI-disease) into models/ (CPU, both cores,
## seeded; see training/README.md), then print their exact-span figures on both test splits.
model: setup
	$(VENV)/python -m pip install -q --no-deps --require-hashes -r requirements/train.txt
	PYTHONPATH=. $(VENV)/python -m training.train

ner-eval: setup
	PYTHONPATH=. $(VENV)/python -m training.evaluate models/docverify_ner_bc5cdr
	PYTHONPATH=. $(VENV)/python -m training.evaluate models/docverify_ner_ncbi

## Pages per minute against the OCR floor (benchmarks/README.md "bench_pages.py"): generates the fixed corpus under
## out/bench/, measures docverify and the baselines side by side, writes out/bench/latest.json and prints a table.
## QUICK=1: a few pages (about two minutes).
bench: setup
	nice -n 10 $(VENV)/python benchmarks/bench_pages.py $(if $(QUICK),--quick,)

## Regenerate the hashed locks requirements/lock.txt, train.txt and tools.txt from pyproject.toml with pip-compile
## (scripts/lock.sh; existing pins are kept unless pyproject.toml asks for another version). Then run `make audit`.
lock:
	@scripts/lock.sh

clean:
	rm -rf out var .mypy_cache .ruff_cache .pytest_cache
