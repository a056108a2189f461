"""Accuracy against labeled samples: per-field precision/recall/F1, status accuracy and confusion, and the count of
documents wrongly marked complete (the costliest error).

Counting convention for a name or category field: a predicted value that matches the label is a true positive; a
predicted value that does not match is a false positive AND, when a value was expected, a false negative; an
expected value with no prediction is a false negative.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import ConfigError
from pipeline.names import fold
from pipeline.report import Report
from pipeline.types import Category, Field, Payer, Status


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabelIntake(_Model):
    patient_name: str | None = None
    payer: Payer = Payer.UNKNOWN


class Expected(_Model):
    status: Status
    patient_name: str | None = None
    physician_name: str | None = None
    pain_category: Category | None = None
    pain_icd10: str | None = None
    error_code: str | None = None


class Distractor(_Model):
    """A person the document names who is not the patient or the treating physician (varied documents only)."""

    name: str
    role: str


class Label(_Model):
    file: str
    kind: str
    purpose: str
    intake: LabelIntake
    expected: Expected
    # Varied documents (evaluation/varied/) also record their split, seed and distractors.
    split: str | None = None
    seed: int | None = None
    distractors: tuple[Distractor, ...] = ()


def read_jsonl[M: BaseModel](path: Path, model: type[M], error: type[ConfigError] = ConfigError) -> list[M]:
    """The rows of a JSON-lines file, each validated as `model` (blank lines skipped). Raises `error` naming the
    file, the line and the field at fault — never the line's content, which may be a document's."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise error(f"cannot read {path.name}: {e.strerror}") from e
    rows: list[M] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(model.model_validate(json.loads(line)))
        except ValidationError as e:
            first = e.errors()[0]
            raise error(f"{path.name} line {n}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from e
        except ValueError as e:
            raise error(f"{path.name} line {n}: {type(e).__name__}") from e
    return rows


def load_labels(path: Path) -> list[Label]:
    """Labels from a JSON-lines file; raises ConfigError naming the line that is invalid."""
    return read_jsonl(path, Label)


def _name_key(name: str | None) -> str | None:
    """Names compare equal when they differ only in case, accents, punctuation spacing or word order."""
    if not name:
        return None
    folded = fold(name)  # case and accents, ø/æ/ß spelled out (pipeline.names.strip_accents)
    return " ".join(sorted(folded.replace(",", " ").replace(".", " ").split()))


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two names are the same by the scoring's rule (case, accents, punctuation and word order ignored)."""
    return _name_key(a) is not None and _name_key(a) == _name_key(b)


@dataclass(frozen=True, slots=True)
class FieldScore:
    """Counts of one field or decision. With nothing to count, precision and recall are 1.0 (no wrong claim, nothing
    missed); F1 is 0.0 only when both are 0."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Mistake:
    file: str
    what: str
    expected: str
    got: str


@dataclass(frozen=True, slots=True)
class Scores:
    fields: dict[Field, FieldScore]
    status_accuracy: float
    confusion: dict[tuple[Status, Status], int]  # (expected, predicted) → count
    wrongly_complete: tuple[str, ...]
    mistakes: tuple[Mistake, ...]
    documents: int


def _predicted(report: Report, field: Field) -> str | None:
    f = report.fields
    if field is Field.PATIENT_NAME:
        return f.patient_name.value
    if field is Field.PHYSICIAN_NAME:
        return f.physician_name.value
    return f.pain_diagnosis.category.value if f.pain_diagnosis.category else None


def _expected(label: Label, field: Field) -> str | None:
    e = label.expected
    if field is Field.PATIENT_NAME:
        return e.patient_name
    if field is Field.PHYSICIAN_NAME:
        return e.physician_name
    return e.pain_category.value if e.pain_category else None


def score(pairs: list[tuple[Label, Report]]) -> Scores:
    """Score reports against their labels."""
    counts = {f: Counter[str]() for f in Field}
    confusion: Counter[tuple[Status, Status]] = Counter()
    mistakes: list[Mistake] = []
    wrongly_complete: list[str] = []
    for label, report in pairs:
        for field in Field:
            exp, got = _expected(label, field), _predicted(report, field)
            if field is Field.PAIN_DIAGNOSIS:
                exp_k, got_k = exp, got
            else:
                exp_k, got_k = _name_key(exp), _name_key(got)
            if got_k is not None and got_k == exp_k:
                counts[field]["tp"] += 1
                continue
            if got_k is not None:
                counts[field]["fp"] += 1
            if exp_k is not None:
                counts[field]["fn"] += 1
            if got_k != exp_k:
                mistakes.append(Mistake(label.file, field.value, str(exp), str(got)))
        confusion[(label.expected.status, report.status)] += 1
        if label.expected.status is not report.status:
            mistakes.append(Mistake(label.file, "status", label.expected.status.value, report.status.value))
        if report.status is Status.COMPLETE and label.expected.status is not Status.COMPLETE:
            wrongly_complete.append(label.file)
        if label.expected.error_code and (report.error is None or report.error.code != label.expected.error_code):
            mistakes.append(Mistake(label.file, "error_code", label.expected.error_code,
                                    report.error.code if report.error else "none"))
    n = len(pairs)
    correct = sum(v for (e, p), v in confusion.items() if e is p)
    return Scores(
        fields={f: FieldScore(c["tp"], c["fp"], c["fn"]) for f, c in counts.items()},
        status_accuracy=correct / n if n else 0.0,
        confusion=dict(confusion),
        wrongly_complete=tuple(wrongly_complete),
        mistakes=tuple(mistakes),
        documents=n,
    )
