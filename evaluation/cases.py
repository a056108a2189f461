"""Scoring multi-upload cases against case-level labels (`docverify eval DIR` when DIR/cases/labels.jsonl exists).

A case label names its files in the order sent, the intake and the expected case status, physician and pain code
(samples/cases/README.md). The figures: status accuracy, the cases wrongly marked complete (the costliest error,
docs/POLICY.md "Cases"), and how many expected physicians and pain codes the complete cases got right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.table import Table

from evaluation.scoring import LabelIntake, same_name
from pipeline.case_report import CaseReport
from pipeline.cases import CaseIntake
from pipeline.errors import ConfigError
from pipeline.types import Status


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseExpected(_Model):
    status: Status
    physician_name: str | None = None
    pain_icd10: str | None = None


class CaseLabel(_Model):
    case: str
    purpose: str
    files: list[str]
    intake: LabelIntake
    expected: CaseExpected


JudgeCase = Callable[[list[Path], CaseIntake], CaseReport]
"""Reads and judges one case's files (flows.verify.check_case with the settings bound)."""


def load_case_labels(path: Path) -> list[CaseLabel]:
    """The case labels, one JSON object a line. Raises ConfigError naming the line (never its content)."""
    out: list[CaseLabel] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(CaseLabel.model_validate_json(line))
        except ValidationError:
            raise ConfigError(f"{path.name} line {number}: not a case label") from None
    return out


def run_cases(labels: list[CaseLabel], inputs: Path, out: Path | None, judge: JudgeCase) -> list[tuple[CaseLabel,
                                                                                                       CaseReport]]:
    """Judge every labelled case (writing OUT/cases/<case>.case.json when `out` is given)."""
    pairs = []
    for lb in labels:
        report = judge([inputs / f for f in lb.files], CaseIntake(patient_name=lb.intake.patient_name,
                                                                   payer=lb.intake.payer))
        pairs.append((lb, report))
        if out is not None:
            (out / "cases").mkdir(parents=True, exist_ok=True)
            (out / "cases" / f"{lb.case}.case.json").write_text(report.model_dump_json(indent=2) + "\n")
    return pairs


def read_case_reports(labels: list[CaseLabel], reports: Path) -> list[tuple[CaseLabel, CaseReport]]:
    """The pairs of label and saved case report REPORTS/cases/<case>.case.json (from an earlier `eval --out`)."""
    return [(lb, CaseReport.model_validate_json((reports / "cases" / f"{lb.case}.case.json").read_text()))
            for lb in labels]


@dataclass(frozen=True, slots=True)
class CaseScores:
    """The case figures (counts of cases)."""

    cases: int
    status_correct: int
    wrongly_complete: tuple[str, ...]
    physician_correct: int
    physician_expected: int
    pain_correct: int
    pain_expected: int
    mistakes: tuple[str, ...]

    @property
    def status_accuracy(self) -> float:
        """Share of cases with the labelled status (1.0 for no cases)."""
        return self.status_correct / self.cases if self.cases else 1.0


def score_cases(pairs: list[tuple[CaseLabel, CaseReport]]) -> CaseScores:
    """Score case reports against their labels; fields are scored on cases labelled complete."""
    status_ok = phys_ok = phys_n = pain_ok = pain_n = 0
    wrong: list[str] = []
    mistakes: list[str] = []
    for lb, r in pairs:
        exp = lb.expected
        if r.status is exp.status:
            status_ok += 1
        else:
            mistakes.append(f"{lb.case}: status expected {exp.status.value}, got {r.status.value}")
        if r.status is Status.COMPLETE and exp.status is not Status.COMPLETE:
            wrong.append(lb.case)
        if exp.status is not Status.COMPLETE:
            continue
        if exp.physician_name is not None:
            phys_n += 1
            got = r.fields.physician_name.value
            if got is not None and same_name(got, exp.physician_name):
                phys_ok += 1
            else:
                mistakes.append(f"{lb.case}: physician expected {exp.physician_name!r}, got {got!r}")
        if exp.pain_icd10 is not None:
            pain_n += 1
            if r.fields.pain_diagnosis.icd10 == exp.pain_icd10:
                pain_ok += 1
            else:
                mistakes.append(f"{lb.case}: pain code expected {exp.pain_icd10}, got "
                                f"{r.fields.pain_diagnosis.icd10}")
    return CaseScores(len(pairs), status_ok, tuple(wrong), phys_ok, phys_n, pain_ok, pain_n, tuple(mistakes))


def print_case_scores(scores: CaseScores, pairs: list[tuple[CaseLabel, CaseReport]], con: Console) -> None:
    """Per-case statuses, the case figures and every mistake."""
    table = Table(title=f"{scores.cases} cases")
    for col in ("case", "uploads", "expected", "status", "reasons"):
        table.add_column(col, overflow="fold")
    for lb, r in pairs:
        table.add_row(lb.case, str(len(lb.files)), lb.expected.status.value, r.status.value,
                      "; ".join(r.reasons)[:140])
    con.print(table, markup=False)
    con.print(f"Case status accuracy {scores.status_accuracy:.3f} ({scores.status_correct}/{scores.cases}); "
              f"physician {scores.physician_correct}/{scores.physician_expected}, pain code "
              f"{scores.pain_correct}/{scores.pain_expected} on cases labelled complete", markup=False)
    con.print(f"Cases wrongly marked complete: {len(scores.wrongly_complete)}"
              + (f" ({', '.join(scores.wrongly_complete)})" if scores.wrongly_complete else ""), markup=False)
    for m in scores.mistakes:
        con.print(f"  {m}", markup=False)


def case_below_thresholds(scores: CaseScores, *, min_status_accuracy: float, max_wrongly_complete: int) -> list[str]:
    """Each case figure below its threshold, as a sentence; empty when all pass."""
    failed = []
    if scores.status_accuracy < min_status_accuracy:
        failed.append(f"case status accuracy {scores.status_accuracy:.3f} < {min_status_accuracy}")
    if len(scores.wrongly_complete) > max_wrongly_complete:
        failed.append(f"{len(scores.wrongly_complete)} cases wrongly complete > {max_wrongly_complete}")
    return failed

