"""The core path, one upload in and one report out: intake → read → find → evaluate → report.

Plain functions: the CLI calls them directly, and the Prefect flows wrap them as tasks. Reading runs in the bounded
reader child (flows/isolation.py) here too, so `docverify check` and `docverify eval` have the same time and memory
bounds, private temp folder and scrubbed environment as the Prefect path.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
from functools import cache
from pathlib import Path

from extractors.model_info import model_tags
from flows.isolation import DEFAULT_BOUNDS, Bounds, Reader, default_reader, read_bounded
from pipeline import __version__
from pipeline.case_report import CaseReport
from pipeline.cases import CaseIntake, CaseUpload, judge_case
from pipeline.errors import RejectedUpload
from pipeline.evaluate import Intake, evaluate, rejected_report
from pipeline.intake import accept, sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.policy import Policy, load_policy
from pipeline.report import Report, rules_versions
from pipeline.settings import Settings


@cache
def versions(ner_model: str | None) -> dict[str, str]:
    """Pipeline, model and rule-file versions recorded in every report, so any report can be reproduced."""
    return {"docverify": __version__, **model_tags(ner_model), **rules_versions()}


def _warm(ner_model: str | None) -> None:
    """Import the finders and build the NLP pipeline and the NER model (each once per process)."""
    from extractors.finders import model_versions

    with contextlib.suppress(Exception):  # a broken rule file or model: the finders raise it again, by their own path
        model_versions(ner_model)
        load_policy()


def _warm_finders(settings: Settings) -> threading.Thread | None:
    """In a cold process, the finders' models loaded in a thread while the reader child reads (the parent only waits
    on the child's pipe then): a cold `docverify check` pays the longer of the two, not their sum. None when they
    are loaded already (a worker's second upload)."""
    if "extractors.finders" in sys.modules:
        return None
    return warm_in_background(settings)


def warm_in_background(settings: Settings) -> threading.Thread:
    """Start importing the finders, building the NLP pipeline and the NER model and loading the policy in a daemon
    thread, and return it: the caller joins it before the first document is checked. `docverify batch` starts it
    before the local Prefect server (a child process: the parent only polls its health meanwhile), so the two
    overlap instead of adding up (benchmarks/README.md "bench_batch_start.py")."""
    thread = threading.Thread(target=_warm, args=(settings.ner_model_name,), name="docverify-warm", daemon=True)
    thread.start()
    return thread


def check_bytes(data: bytes, filename: str, intake: Intake, settings: Settings, *, policy: Policy | None = None,
                limits: Limits = DEFAULT_LIMITS, bounds: Bounds = DEFAULT_BOUNDS,
                reader: Reader = default_reader) -> Report:
    """The completeness report for one upload, read by `reader` in the bounded reader child under `bounds`;
    unreadable input gives a `rejected` report.

    Raises ProcessingTimeout, ResourceLimit, ReaderCrashed, OcrTimeout, OcrEngineError — not the document's fault.
    """
    return check_case_upload(data, filename, "", intake, settings, policy=policy, limits=limits, bounds=bounds,
                             reader=reader).report


def check_case_upload(data: bytes, filename: str, upload_id: str, intake: Intake, settings: Settings, *,
                      policy: Policy | None = None, limits: Limits = DEFAULT_LIMITS, bounds: Bounds = DEFAULT_BOUNDS,
                      reader: Reader = default_reader) -> CaseUpload:
    """One upload of a case: its report (as `check_bytes` makes it, read in the bounded reader child) and the
    identifiers it prints.

    Raises ProcessingTimeout, ResourceLimit, ReaderCrashed, OcrTimeout, OcrEngineError — not the document's fault.
    """
    # The finders (spaCy, medspaCy, scikit-learn: seconds to import) are imported only once there is a document to
    # parse, so an upload rejected at intake is answered without them (a cold `docverify check` of an empty file).
    warming: threading.Thread | None = None
    try:
        upload = accept(data, filename, limits)
        warming = _warm_finders(settings)
        document = read_bounded(data, upload, limits, reader=reader, bounds=bounds)
    except RejectedUpload as e:
        media = sniff(data)
        report = rejected_report(e, sha256=hashlib.sha256(data).hexdigest(),
                                 media_type=media.value if media else None, size_bytes=len(data),
                                 payer=intake.payer, versions=versions(settings.ner_model_name))
        return CaseUpload(upload_id=upload_id, file_name=filename, report=report)
    if warming is not None:
        warming.join()
    from extractors.identifiers import find_identifiers
    from extractors.windows import find_in_windows

    policy = policy or load_policy()
    findings = find_in_windows(document, policy, ner_model=settings.ner_model_name, intake_name=intake.patient_name,
                               window_chars=limits.window_chars)
    report = evaluate(document, findings, intake, policy, versions(settings.ner_model_name))
    return CaseUpload(upload_id=upload_id, file_name=filename, report=report,
                      identifiers=find_identifiers(document))


def check_case(files: list[Path], intake: CaseIntake, settings: Settings, *, policy: Policy | None = None,
               limits: Limits = DEFAULT_LIMITS, bounds: Bounds = DEFAULT_BOUNDS) -> CaseReport:
    """The case report for several files of one patient, judged together (docs/POLICY.md "Cases").

    Each file's upload id is its position in the list ("1", "2", ...). Raises ProcessingError like `check_bytes`.
    """
    policy = policy or load_policy()
    upload_intake = Intake(patient_name=intake.patient_name, payer=intake.payer)
    uploads = []
    for i, path in enumerate(files, start=1):
        with path.open("rb") as fh:
            data = fh.read(limits.max_bytes + 1)
        uploads.append(check_case_upload(data, path.name, str(i), upload_intake, settings, policy=policy,
                                         limits=limits, bounds=bounds))
    return judge_case(intake, uploads, policy, versions(settings.ner_model_name))


def check_file(path: Path, intake: Intake, settings: Settings, *, policy: Policy | None = None,
               limits: Limits = DEFAULT_LIMITS, bounds: Bounds = DEFAULT_BOUNDS) -> Report:
    """`check_bytes` on a file; the size cap is enforced before the whole file is read."""
    with path.open("rb") as fh:
        data = fh.read(limits.max_bytes + 1)
    return check_bytes(data, path.name, intake, settings, policy=policy, limits=limits, bounds=bounds)
