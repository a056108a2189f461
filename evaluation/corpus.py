"""Held-out evaluation on the rendered C-CDA corpora (`docverify eval-corpus`): honest figures on documents written
by others.

Ground truth comes from each corpus's `ground_truth.jsonl` (schema: the README.md of the corpora folder,
`Settings.corpora`), extracted from the C-CDA XML, never from our own output. Only what is visible on the rendered
page is scored:

- patient name — when `patient.name_visible`; correct when the report's value names given + family
  (`pipeline.names.match_intake` at 0.85, or the `evaluation.scoring` name key);
- physician name — when at least one clinician has `name_visible`; correct when the report's value names ANY
  visible clinician (a C-CDA header lists author, authenticators and performers; any of them may fairly be the
  treating physician);
- pain diagnosis — a *positive* document has a visible (display or code on the page), non-negated, pain-related
  problem: a hit is a pain category in `fields.pain_diagnosis`; a *negative* document has no non-negated
  pain-related problem at all: a pain diagnosis affirmed there is a false positive (it can make a document wrongly
  complete). Documents with only an invisible pain problem are not scored for pain.

Counting follows `evaluation/scoring.py`: a wrong value is a false positive AND a false negative, a missing value is
a false negative. Nothing here logs document text: per-document records hold outcome and cause codes only.
"""

from __future__ import annotations

import json
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from evaluation.checking import CheckMany, Job
from evaluation.degrade import CORPUS_SCAN, degrade
from evaluation.scoring import FieldScore, _name_key, read_jsonl
from pipeline.evaluate import Intake
from pipeline.exports import private_folder, write_private
from pipeline.names import credential_of, match_intake, normalize_person_name
from pipeline.report import Report
from pipeline.types import Assertion, CheckResult, Role, Status

NAME_THRESHOLD = 0.85  # the rapidfuzz per-part ratio the intake cross-check uses

# --------------------------------------------------------------------------------------------------------------
# Ground truth (third-party data: unknown keys are ignored, the keys we read are validated)
# --------------------------------------------------------------------------------------------------------------


class _GT(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class GtName(_GT):
    full: str | None = None
    given: list[str] = []
    family: str | None = None

    @property
    def given_family(self) -> str | None:
        """'Given [Middle] Family', or None when the name has no family or no given part."""
        if not self.family or not self.given:
            return None
        return " ".join([*self.given, self.family])


class GtPatient(_GT):
    name: GtName
    name_visible: bool = False


class GtClinician(_GT):
    role: str
    name: GtName | None = None
    name_visible: bool = False


class GtCode(_GT):
    system: str | None = None
    code: str | None = None
    display: str | None = None
    display_visible: bool = False
    code_visible: bool = False


class GtProblem(_GT):
    codes: list[GtCode] = []
    negated: bool = False
    pain_related: bool = False

    @property
    def visible(self) -> bool:
        return any(c.display_visible or c.code_visible for c in self.codes)


class GroundTruth(_GT):
    file: str
    html: str
    patient: GtPatient | None = None
    clinicians: list[GtClinician] = []
    problems: list[GtProblem] = []


def load_ground_truth(path: Path) -> list[GroundTruth]:
    """Rows of a corpus's ground_truth.jsonl; raises ConfigError naming the invalid line (never its content)."""
    return read_jsonl(path, GroundTruth)


def pdf_for(corpus: Path, row: GroundTruth) -> Path:
    """The printed PDF of a ground-truth row (`pdf/<html stem>.pdf`); it may not exist."""
    return corpus / "pdf" / f"{Path(row.html).stem}.pdf"


# --------------------------------------------------------------------------------------------------------------
# What a page lets us expect
# --------------------------------------------------------------------------------------------------------------


class PainTruth(StrEnum):
    POSITIVE = "positive"  # a visible, non-negated pain-related problem
    NEGATIVE = "negative"  # no non-negated pain-related problem at all
    UNSCORED = "unscored"  # a pain problem exists but nothing of it is printed


@dataclass(frozen=True, slots=True)
class Expectation:
    """The scoreable truth of one document."""

    patient: str | None  # "Given Family" when printed, else None (not scored)
    clinicians: tuple[str, ...]  # every printed clinician name; empty: physician not scored
    pain: PainTruth


def _compact_credentials(full: str) -> str:
    """"Albert Davis, M. D." → "Albert Davis, M.D.": a comma part that is a credential once its spaces go is
    written without them, so the name parser drops it instead of reading "M. D." as a given name."""
    head, *rest = full.split(",")
    parts = [p.replace(" ", "") if credential_of(p.replace(" ", "")) is not None else p for p in rest]
    return ",".join([head, *(f" {p.strip()}" for p in parts)])


def expected_clinician_name(name: GtName) -> str | None:
    """A ground-truth clinician's name as a person's name: the "full" name normalised by
    `pipeline.names.normalize_person_name` (titles and credentials dropped: "Albert Davis, M. D." → "Albert Davis"),
    else given + family, else the full text as printed (an organisation stays as it is)."""
    normalized = normalize_person_name(_compact_credentials(name.full)) if name.full else None
    return normalized or name.given_family or name.full


def expectation(row: GroundTruth) -> Expectation:
    """What the rendered page of `row` shows, per field."""
    patient = row.patient.name.given_family if row.patient and row.patient.name_visible else None
    clinicians = tuple(dict.fromkeys(n for c in row.clinicians if c.name_visible and c.name
                                     for n in [expected_clinician_name(c.name)] if n))
    live = [p for p in row.problems if p.pain_related and not p.negated]
    pain = (PainTruth.POSITIVE if any(p.visible for p in live)
            else PainTruth.NEGATIVE if not live else PainTruth.UNSCORED)
    return Expectation(patient, clinicians, pain)


def same_name(expected: str, found: str) -> bool:
    """The intake cross-check's rule, or equal name keys (case, accents, punctuation, word order)."""
    return (match_intake(expected, found, NAME_THRESHOLD).result is CheckResult.PASS
            or _name_key(expected) == _name_key(found))


# --------------------------------------------------------------------------------------------------------------
# Judging one report
# --------------------------------------------------------------------------------------------------------------


class Verdict(StrEnum):
    """How one field of one document counts."""

    TP = "tp"
    WRONG = "wrong"  # a value that does not match: fp and fn
    MISSING = "missing"  # fn
    FALSE_ALARM = "false_alarm"  # a value where none is expected: fp
    TN = "tn"
    UNSCORED = "unscored"


class Cause(StrEnum):
    """Why a field was missed, read from the report's own people[] and diagnoses[] (no document text)."""

    FAILED = "pipeline_failed"
    NAME_NOT_EXTRACTED = "name_not_extracted"  # the expected person is not in people[] at all
    NAME_OTHER_ROLE = "name_found_with_other_role"  # in people[], with another role (detail: the role)
    PATIENT_IS_CLINICIAN = "patient_value_is_a_clinician"
    PHYSICIAN_IS_PATIENT = "physician_value_is_the_patient"
    PHYSICIAN_IS_OTHER = "physician_value_is_an_unlisted_person"  # nurse, informant, invisible clinician, noise
    PATIENT_IS_OTHER = "patient_value_is_another_name"
    PAIN_NOT_EXTRACTED = "pain_not_in_diagnoses"
    PAIN_NOT_AFFIRMED = "pain_mention_not_affirmed"  # detail: the assertion
    PAIN_NOT_CHOSEN = "affirmed_pain_mention_not_chosen"
    PAIN_FALSE_AFFIRMED = "pain_affirmed_without_pain_problem"  # detail: the category


@dataclass(frozen=True, slots=True)
class Miss:
    field: str
    cause: Cause
    detail: str = ""  # an enum value (role, assertion, category), never document text


@dataclass(frozen=True, slots=True)
class DocResult:
    """The verdict per field of one document, why it missed, and the report's status."""

    file: str
    patient: Verdict
    physician: Verdict
    pain: Verdict
    pain_mention: Verdict  # positives only: any pain category anywhere in diagnoses[], whatever its assertion
    status: Status | None  # None: the pipeline failed
    pain_truth: PainTruth
    misses: tuple[Miss, ...] = ()

    @property
    def wrongly_complete(self) -> bool:
        return self.status is Status.COMPLETE and self.pain_truth is PainTruth.NEGATIVE


def _name_verdict(expected: tuple[str, ...], found: str | None) -> Verdict:
    if not expected:
        return Verdict.UNSCORED
    if found is None:
        return Verdict.MISSING
    return Verdict.TP if any(same_name(e, found) for e in expected) else Verdict.WRONG


def _name_miss(fld: str, role: Role, expected: tuple[str, ...], found: str | None, report: Report,
               others: tuple[str, ...], other_cause: Cause) -> Miss:
    """Why a name field missed: was the person read at all, and under which role; whose name was chosen."""
    if found is not None and any(same_name(o, found) for o in others):
        return Miss(fld, other_cause)
    listed = [p for p in report.people if any(same_name(e, p.name) for e in expected)]
    if not listed:
        return Miss(fld, Cause.NAME_NOT_EXTRACTED)
    if all(p.role is role for p in listed):  # read with the right role, yet another value was chosen
        return Miss(fld, Cause.PATIENT_IS_OTHER if role is Role.PATIENT else Cause.PHYSICIAN_IS_OTHER, role.value)
    return Miss(fld, Cause.NAME_OTHER_ROLE, sorted({p.role.value for p in listed if p.role is not role})[0])


def judge(row: GroundTruth, report: Report | None) -> DocResult:
    """Score one report (None: the pipeline failed) against the visible ground truth of its document."""
    exp = expectation(row)
    patients = (exp.patient,) if exp.patient else ()
    if report is None:
        def failed(expected: bool) -> Verdict:
            return Verdict.MISSING if expected else Verdict.UNSCORED
        pos = exp.pain is PainTruth.POSITIVE
        return DocResult(row.file, failed(bool(patients)), failed(bool(exp.clinicians)),
                         failed(pos) if exp.pain is not PainTruth.NEGATIVE else Verdict.TN, failed(pos), None,
                         exp.pain, (Miss("all", Cause.FAILED),))
    misses: list[Miss] = []
    f = report.fields
    patient = _name_verdict(patients, f.patient_name.value)
    if patient in (Verdict.MISSING, Verdict.WRONG):
        misses.append(_name_miss("patient_name", Role.PATIENT, patients, f.patient_name.value, report,
                                 exp.clinicians, Cause.PATIENT_IS_CLINICIAN))
    physician = _name_verdict(exp.clinicians, f.physician_name.value)
    if physician in (Verdict.MISSING, Verdict.WRONG):
        misses.append(_name_miss("physician_name", Role.TREATING_PHYSICIAN, exp.clinicians, f.physician_name.value,
                                 report, patients, Cause.PHYSICIAN_IS_PATIENT))
    field_pain = f.pain_diagnosis.category is not None and f.pain_diagnosis.category.is_pain
    mentions = [d for d in report.diagnoses if d.category.is_pain]
    pain, pain_mention = Verdict.UNSCORED, Verdict.UNSCORED
    if exp.pain is PainTruth.POSITIVE:
        pain = Verdict.TP if field_pain else Verdict.MISSING
        pain_mention = Verdict.TP if mentions else Verdict.MISSING
        if not field_pain:
            affirmed = [d for d in mentions if d.assertion is Assertion.AFFIRMED]
            if not mentions:
                misses.append(Miss("pain_diagnosis", Cause.PAIN_NOT_EXTRACTED))
            elif affirmed:
                misses.append(Miss("pain_diagnosis", Cause.PAIN_NOT_CHOSEN))
            else:
                misses.append(Miss("pain_diagnosis", Cause.PAIN_NOT_AFFIRMED, mentions[0].assertion.value))
    elif exp.pain is PainTruth.NEGATIVE:
        pain = Verdict.FALSE_ALARM if field_pain else Verdict.TN
        if field_pain and f.pain_diagnosis.category is not None:
            misses.append(Miss("pain_diagnosis", Cause.PAIN_FALSE_AFFIRMED, f.pain_diagnosis.category.value))
    return DocResult(row.file, patient, physician, pain, pain_mention, report.status, exp.pain, tuple(misses))


# --------------------------------------------------------------------------------------------------------------
# Figures of a corpus
# --------------------------------------------------------------------------------------------------------------

FIELDS = ("patient_name", "physician_name", "pain_diagnosis", "pain_mention")


def field_score(verdicts: list[Verdict]) -> FieldScore:
    """tp/fp/fn with `evaluation.scoring`'s convention (a wrong value counts as both fp and fn)."""
    c = Counter(verdicts)
    return FieldScore(tp=c[Verdict.TP], fp=c[Verdict.WRONG] + c[Verdict.FALSE_ALARM],
                      fn=c[Verdict.WRONG] + c[Verdict.MISSING])


def _verdicts(results: list[DocResult], fld: str) -> list[Verdict]:
    attr = {"patient_name": "patient", "physician_name": "physician", "pain_diagnosis": "pain",
            "pain_mention": "pain_mention"}[fld]
    return [getattr(r, attr) for r in results]


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    """The figures of one corpus run (text PDFs or degraded scans)."""

    corpus: str
    mode: str  # "text" | "degraded"
    documents: int
    failed: int
    seconds: float
    results: tuple[DocResult, ...]
    scores: dict[str, FieldScore] = field(default_factory=dict)

    @property
    def scored(self) -> dict[str, int]:
        return {f: sum(v is not Verdict.UNSCORED for v in _verdicts(list(self.results), f)) for f in FIELDS}

    @property
    def pain_positive(self) -> int:
        return sum(r.pain_truth is PainTruth.POSITIVE for r in self.results)

    @property
    def pain_negative(self) -> int:
        return sum(r.pain_truth is PainTruth.NEGATIVE for r in self.results)

    @property
    def false_pain_affirmed(self) -> tuple[str, ...]:
        return tuple(r.file for r in self.results if r.pain is Verdict.FALSE_ALARM)

    @property
    def wrongly_complete(self) -> tuple[str, ...]:
        return tuple(r.file for r in self.results if r.wrongly_complete)

    @property
    def statuses(self) -> dict[str, int]:
        return dict(Counter(r.status.value if r.status else "failed" for r in self.results))

    @property
    def causes(self) -> dict[str, int]:
        c = Counter(f"{m.field}: {m.cause.value}" + (f" ({m.detail})" if m.detail else "")
                    for r in self.results for m in r.misses)
        return dict(c.most_common())

    def to_json(self) -> dict[str, object]:
        """The summary written to --out: figures, counts and per-document codes (no document text)."""
        return {
            "corpus": self.corpus, "mode": self.mode, "documents": self.documents, "failed": self.failed,
            "seconds": round(self.seconds, 1),
            "fields": {f: {"scored": self.scored[f], "tp": s.tp, "fp": s.fp, "fn": s.fn,
                           "precision": round(s.precision, 3), "recall": round(s.recall, 3), "f1": round(s.f1, 3)}
                       for f, s in self.scores.items()},
            "pain_positive_documents": self.pain_positive, "pain_negative_documents": self.pain_negative,
            "false_pain_affirmed": list(self.false_pain_affirmed), "wrongly_complete": list(self.wrongly_complete),
            "statuses": self.statuses, "miss_causes": self.causes,
            "documents_detail": [{"file": r.file, "status": r.status.value if r.status else None,
                                  "patient_name": r.patient.value, "physician_name": r.physician.value,
                                  "pain_diagnosis": r.pain.value, "pain_mention": r.pain_mention.value,
                                  "misses": [{"field": m.field, "cause": m.cause.value, "detail": m.detail}
                                             for m in r.misses]} for r in self.results],
        }


def summarise(corpus: str, mode: str, results: list[DocResult], seconds: float) -> CorpusSummary:
    """Per-field scores over the judged documents."""
    ordered = tuple(sorted(results, key=lambda r: r.file))
    return CorpusSummary(corpus, mode, len(results), sum(r.status is None for r in results), seconds, ordered,
                         {f: field_score(_verdicts(list(ordered), f)) for f in FIELDS})


# --------------------------------------------------------------------------------------------------------------
# Scan-like degradation (exercises the OCR path)
# --------------------------------------------------------------------------------------------------------------

DEGRADE_DPI = 200  # an office scanner's default for documents

def seed_for(name: str) -> int:
    """A stable per-file seed (crc32 of the file name), the same on every machine and run."""
    return zlib.crc32(name.encode("utf-8"))


def degrade_page(page: Image.Image, seed: int) -> Image.Image:
    """A grayscale copy of `page` that looks scanned (evaluation/degrade.py, the corpus preset: skewed, noisy,
    blurred and JPEG-compressed); same seed, same pixels."""
    return degrade(page, CORPUS_SCAN, seed)


def degrade_pdf(src: Path, dst: Path, seed: int, dpi: int = DEGRADE_DPI) -> Path:
    """Rasterise every page of `src` at `dpi`, degrade it (`degrade_page`, page seed = seed + page index) and write
    an image-only PDF to `dst`. Raises pypdfium2.PdfiumError for an unreadable PDF, OSError when `dst` cannot be
    written."""
    pdf = pdfium.PdfDocument(src)
    try:
        pages = [degrade_page(pdf[i].render(scale=dpi / 72.0).to_pil(), seed + i) for i in range(len(pdf))]
    finally:
        pdf.close()
    dst.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(dst, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return dst


# --------------------------------------------------------------------------------------------------------------
# Running a corpus
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunOptions:
    limit: int | None
    degrade: bool
    out: Path | None


def corpus_rows(corpus: Path, limit: int | None) -> list[tuple[GroundTruth, Path]]:
    """Ground-truth rows whose PDF exists, in file order, at most `limit`. Raises ConfigError."""
    rows = [(r, pdf_for(corpus, r)) for r in load_ground_truth(corpus / "ground_truth.jsonl")]
    present = sorted(((r, p) for r, p in rows if p.is_file()), key=lambda rp: rp[1].name)
    return present[:limit] if limit is not None else present


def run_corpus(corpus: Path, opts: RunOptions, check: CheckMany,
               tick: Callable[[int], None] | None = None) -> CorpusSummary:
    """Check every PDF of a corpus (degraded first with --degrade) with `check` (the real pipeline) and score the
    reports.

    `tick(total)` is called once with the job count, then `tick(0)` per finished document. Raises ConfigError for
    an invalid ground-truth file.
    """
    mode = "degraded" if opts.degrade else "text"
    rows = corpus_rows(corpus, opts.limit)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="docverify-degraded-") as tmp:
        inputs = _inputs(corpus.name, rows, opts, Path(tmp))
        by_path = {p: r for (r, _), p in zip(rows, inputs, strict=True)}
        reports_dir = opts.out / "reports" / f"{corpus.name}-{mode}" if opts.out else None
        if reports_dir:
            private_folder(reports_dir)
        if tick:
            tick(len(inputs))
        results: list[DocResult] = []
        # Intake carries no patient name: we measure what the page alone yields, not the intake cross-check.
        for outcome in check([Job(p, Intake()) for p in inputs]):
            row = by_path[outcome.job.path]
            results.append(judge(row, outcome.report))
            if reports_dir and outcome.report is not None:
                write_private(reports_dir / f"{outcome.job.path.name}.json", outcome.report.model_dump_json(indent=2))
            if tick:
                tick(0)
    return summarise(corpus.name, mode, results, time.monotonic() - started)


def _inputs(corpus: str, rows: list[tuple[GroundTruth, Path]], opts: RunOptions, tmp: Path) -> list[Path]:
    if not opts.degrade:
        return [p for _, p in rows]
    where = opts.out / "degraded" / corpus if opts.out else tmp
    return [degrade_pdf(p, where / p.name, seed_for(p.name)) for _, p in rows]


# --------------------------------------------------------------------------------------------------------------
# Printing and writing
# --------------------------------------------------------------------------------------------------------------


def print_summary(s: CorpusSummary, console: Console) -> None:
    """A rich table of one corpus run, then the pain false positives, statuses and the top causes of misses."""
    table = Table(title=f"{s.corpus} — {s.mode} PDFs: {s.documents} documents, {s.failed} failed, {s.seconds:.0f} s")
    for col in ("field", "scored", "tp", "fp", "fn", "precision", "recall", "F1"):
        table.add_column(col, justify="left" if col == "field" else "right")
    for f, sc in s.scores.items():
        table.add_row(f, str(s.scored[f]), str(sc.tp), str(sc.fp), str(sc.fn), f"{sc.precision:.3f}",
                      f"{sc.recall:.3f}", f"{sc.f1:.3f}")
    console.print(table)
    style = "bold red" if s.false_pain_affirmed else "bold green"
    console.print(f"[{style}]False 'pain affirmed' on {len(s.false_pain_affirmed)} of {s.pain_negative} documents "
                  f"without a pain problem; wrongly complete: {len(s.wrongly_complete)}[/{style}]")
    console.print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(s.statuses.items())), markup=False)
    if s.causes:
        causes = Table(title="causes of misses")
        causes.add_column("field: cause (detail)")
        causes.add_column("documents", justify="right")
        for cause, n in s.causes.items():
            causes.add_row(cause, str(n))
        console.print(causes)


def write_summary(summaries: list[CorpusSummary], out: Path) -> Path:
    """Write every run's summary to OUT/corpus-eval-<mode>.json; raises OSError."""
    out.mkdir(parents=True, exist_ok=True)
    modes = sorted({s.mode for s in summaries})
    path = out / f"corpus-eval-{'-'.join(modes)}.json"
    path.write_text(json.dumps({"runs": [s.to_json() for s in summaries]}, indent=2) + "\n", encoding="utf-8")
    return path


def evaluate_corpora(corpora: list[Path], opts: RunOptions, check: CheckMany, console: Console,
                     err: Console) -> list[CorpusSummary]:
    """Run, print and (with --out) write every corpus; progress goes to `err`. Raises ConfigError, OSError."""
    summaries: list[CorpusSummary] = []
    for corpus in corpora:
        with Progress(TextColumn(corpus.name), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      transient=True) as progress:
            task = progress.add_task("check", total=None)

            def tick(total: int, task: TaskID = task, progress: Progress = progress) -> None:
                if total:
                    progress.update(task, total=total)
                else:
                    progress.advance(task)

            summaries.append(run_corpus(corpus, opts, check, tick))
        print_summary(summaries[-1], console)
    if opts.out is not None:
        err.print(f"summary: {write_summary(summaries, opts.out)}", highlight=False, markup=False)
    return summaries
