"""Diagnosis-phrasing evaluation on hand-labeled MTSamples notes (`docverify eval-mtsamples`).

The notes are MTSamples transcriptions ("MTSamples.com via Kaggle (T. Boyle), CC0 as released"; see
evaluation/mtsamples/README.md for the licence caveat). They are read from the shared corpus at run time and never
copied into this repository; `evaluation/mtsamples/labels.jsonl` holds only ids, codes, short cue phrases and a
rationale per note. Labels were written by reading each note before the pipeline was run on it.

Selection rule (`select_notes`): every row whose `medical_specialty` (stripped) is one of `SPECIALTIES`, with a
non-empty transcription; texts are de-duplicated on the stripped transcription (a text keeps the first CSV row it
appears in, 0-based, as its `row`); a text filed under both specialties belongs to the first of `SPECIALTIES`;
within a specialty, texts are ordered by the SHA-1 of the stripped transcription and the first `PER_SPECIALTY` taken.

Each transcription is run through the real NLP as a one-page text-layer document (lines split on "\\n"; MTSamples
texts mostly arrive as one line with inline headers such as "ASSESSMENT:, 1. ..."; they are measured as they are).
The prediction is `pipeline.evaluate.choose_pain_diagnosis` over the diagnosis finder's mentions. Nothing here logs
or writes document text: the JSON summary holds ids, codes, categories, assertions, sections and counts.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import simple_icd_10_cm as cm
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from evaluation.scoring import FieldScore, read_jsonl
from pipeline.codes import icd10_category
from pipeline.errors import ConfigError
from pipeline.evaluate import choose_pain_diagnosis
from pipeline.policy import Policy, is_valid_code, load_policy
from pipeline.types import (
    Assertion,
    Category,
    DiagnosisMention,
    Document,
    MediaType,
    SectionKind,
    Source,
    page_from_lines,
)

DEFAULT_LABELS = Path(__file__).resolve().parent / "labels.jsonl"
SPECIALTIES: tuple[str, ...] = ("Pain Management", "Neurology")
PER_SPECIALTY = 25
# Held-out split (evaluation/mtsamples/README.md "after"): rules are developed on DEV and TEST is run once at the end.
SUBSETS: dict[str, frozenset[str]] = {
    "dev": frozenset({"Pain Management"}),
    "test": frozenset({"Neurology"}),
    "all": frozenset(SPECIALTIES),
}
ID_PREFIX_CHARS = 200  # the id hashes this many leading characters of the stripped transcription


# --------------------------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CorpusRow:
    """One CSV row as read: 0-based data-row index, stripped specialty, sample name, stripped transcription."""

    row: int
    specialty: str
    sample_name: str
    text: str


@dataclass(frozen=True, slots=True)
class Note:
    """One selected, de-duplicated note."""

    id: str
    row: int
    specialty: str
    sample_name: str
    text: str


def note_id(row: int, text: str) -> str:
    """Stable id of a note: "mts-<row>-<first 10 hex of sha1(first ID_PREFIX_CHARS chars)>"."""
    digest = hashlib.sha1(text[:ID_PREFIX_CHARS].encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    return f"mts-{row:04d}-{digest}"


def read_corpus(path: Path) -> list[CorpusRow]:
    """Rows of the MTSamples CSV. Raises ConfigError when the file is missing or lacks the expected columns."""
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = {"medical_specialty", "sample_name", "transcription"} - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(f"{path}: missing columns {sorted(missing)}")
            return [CorpusRow(i, (r["medical_specialty"] or "").strip(), (r["sample_name"] or "").strip(),
                              (r["transcription"] or "").strip()) for i, r in enumerate(reader)]
    except OSError as e:
        raise ConfigError(f"cannot read the MTSamples corpus {path}: {e.strerror}") from e


def select_notes(rows: Iterable[CorpusRow], specialties: Sequence[str] = SPECIALTIES,
                 per_specialty: int = PER_SPECIALTY) -> tuple[Note, ...]:
    """Apply the selection rule (module docstring): de-duplicate, assign to the first specialty, order by SHA-1."""
    first: dict[str, CorpusRow] = {}
    filed_under: dict[str, set[str]] = {}
    for r in rows:
        if not r.text:
            continue
        first.setdefault(r.text, r)
        filed_under.setdefault(r.text, set()).add(r.specialty)
    taken: set[str] = set()
    out: list[Note] = []
    for specialty in specialties:
        texts = sorted((t for t in first if specialty in filed_under[t] and t not in taken),
                       key=lambda t: hashlib.sha1(t.encode("utf-8"), usedforsecurity=False).hexdigest())
        for t in texts[:per_specialty]:
            taken.add(t)
            r = first[t]
            out.append(Note(note_id(r.row, t), r.row, specialty, r.sample_name, t))
    return tuple(out)


# --------------------------------------------------------------------------------------------------------------
# Labels (our own file: unknown keys rejected, every code checked against the table and the policy)
# --------------------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LabeledDiagnosis(_Strict):
    """A condition the note affirms for the patient now, as a careful coder would code it."""

    code: str  # ICD-10-CM, billable (leaf), with its dot
    category: Category  # policy.classify(code); may be `other` for pain-named conditions the policy excludes
    text: str  # a short cue phrase from the note (not the note)
    as_diagnosis: bool  # stated in a diagnosis/impression/assessment/problem/past-history section


class LabeledMention(_Strict):
    """A pain mention that is not an affirmed current diagnosis of the patient."""

    code: str
    category: Category  # a pain category
    text: str
    assertion: Assertion  # never `affirmed`


class NoteLabel(_Strict):
    """One labeled note (schema: evaluation/mtsamples/README.md)."""

    id: str
    row: int
    specialty: str
    sample_name: str
    pain_affirmed: bool
    affirmed: tuple[LabeledDiagnosis, ...] = ()
    mentions: tuple[LabeledMention, ...] = ()
    rationale: str


class LabelError(ConfigError):
    """The label file is missing, malformed or inconsistent."""

    code = "mtsamples_labels_invalid"


def load_labels(path: Path = DEFAULT_LABELS) -> tuple[NoteLabel, ...]:
    """Parse the JSONL label file. Raises LabelError on unreadable files, bad JSON or schema violations."""
    return tuple(read_jsonl(path, NoteLabel, LabelError))


def label_problems(labels: Sequence[NoteLabel], policy: Policy) -> list[str]:
    """Every inconsistency of `labels` (empty when valid): invalid or non-billable codes, categories that differ
    from the policy, `pain_affirmed` not equal to "some pain-category diagnosis stated as a diagnosis", affirmed
    assertions among the other mentions, non-pain categories among them, duplicate ids, ids not of the id form."""
    problems: list[str] = []
    seen: set[str] = set()
    for lab in labels:
        if lab.id in seen:
            problems.append(f"{lab.id}: duplicate id")
        seen.add(lab.id)
        if not lab.id.startswith(f"mts-{lab.row:04d}-"):
            problems.append(f"{lab.id}: id does not carry row {lab.row}")
        if not lab.rationale.strip():
            problems.append(f"{lab.id}: empty rationale")
        items: list[LabeledDiagnosis | LabeledMention] = [*lab.affirmed, *lab.mentions]
        for item in items:
            if not (is_valid_code(item.code) and cm.is_leaf(item.code.strip().upper())):
                problems.append(f"{lab.id}: {item.code} is not a billable ICD-10-CM code")
                continue
            if policy.classify(item.code) is not item.category:
                problems.append(f"{lab.id}: {item.code} is {policy.classify(item.code)}, labeled {item.category}")
        for m in lab.mentions:
            if m.assertion is Assertion.AFFIRMED:
                problems.append(f"{lab.id}: {m.code} listed as a mention but affirmed")
            if not m.category.is_pain:
                problems.append(f"{lab.id}: mention {m.code} is not a pain category")
        expected = any(a.as_diagnosis and a.category.is_pain for a in lab.affirmed)
        if lab.pain_affirmed is not expected:
            problems.append(f"{lab.id}: pain_affirmed={lab.pain_affirmed} but the affirmed list says {expected}")
    return problems


# --------------------------------------------------------------------------------------------------------------
# Prediction (the real NLP on the transcription as a text-layer page)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PredictedMention:
    """One diagnosis mention the finder reported (code-level, no document text)."""

    code: str | None
    category: Category
    assertion: Assertion
    section: SectionKind | None
    text: str  # the mention's own words, used only to pair it with a labeled mention; never written out


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the pipeline decided for one note."""

    pain_affirmed: bool
    code: str | None = None
    category: Category | None = None
    section: SectionKind | None = None
    weak_only: bool = False  # pain named only as a complaint, no diagnostic section (report: needs_review)
    complaint_only: bool = False  # pain named only as a complaint, contradicted by the diagnostic sections
    mentions: tuple[PredictedMention, ...] = ()


def text_document(text: str) -> Document:
    """A one-page text-layer Document of `text`: one visual line per "\\n"-separated line, words on whitespace."""
    raw = text.encode("utf-8")
    page = page_from_lines(1, text.split("\n"), source=Source.TEXT_LAYER, reason="mtsamples transcription")
    return Document(hashlib.sha256(raw).hexdigest(), MediaType.PDF, len(raw), (page,))


def prediction_from(diagnoses: tuple[DiagnosisMention, ...]) -> Prediction:
    """The pain decision `choose_pain_diagnosis` makes on `diagnoses`, with every mention kept for pairing."""
    choice = choose_pain_diagnosis(diagnoses)
    mentions = tuple(PredictedMention(d.icd10, d.category, d.assertion, d.section, d.text) for d in diagnoses)
    chosen = choice.chosen
    return Prediction(
        pain_affirmed=chosen is not None,
        code=chosen.icd10 if chosen else None,
        category=chosen.category if chosen else None,
        section=chosen.section if chosen else None,
        weak_only=choice.weak_only is not None,
        complaint_only=choice.complaint_only,
        mentions=mentions,
    )


def predict(text: str, policy: Policy, ner_model: str | None) -> Prediction:
    """Run the finders on `text` (the recall layer with bundled model `ner_model`, None for none) and apply the
    documentation rule's diagnosis part."""
    from extractors.finders import find_all  # spaCy loads on first use only

    return prediction_from(find_all(text_document(text), policy, ner_model=ner_model).diagnoses)


# --------------------------------------------------------------------------------------------------------------
# Scoring (pure: labels + predictions → figures and cause codes)
# --------------------------------------------------------------------------------------------------------------


def _code3(code: str | None) -> str | None:
    return icd10_category(code) if code else None


_GENERIC_WORDS = frozenset({"pain", "painful", "syndrome", "chronic", "acute", "history", "the", "and", "with"})


def _words(text: str) -> set[str]:
    """Content words of a phrase (generic words such as "pain" do not make two mentions the same)."""
    return {w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split()
            if len(w) > 2 and w not in _GENERIC_WORDS}


@dataclass(frozen=True, slots=True)
class NoteOutcome:
    """Per-note result (codes only)."""

    id: str
    specialty: str
    label: bool
    predicted: bool
    predicted_code: str | None
    predicted_category: str | None
    predicted_section: str | None
    outcome: str  # tp | fp | fn | tn
    cause: str | None  # why a miss or a false positive happened; category_mismatch on a wrong-category tp
    category_ok: bool | None  # tp only
    code3_ok: bool | None  # tp only


@dataclass(frozen=True, slots=True)
class Scores:
    """Figures of one run."""

    notes: int
    tp: int
    fp: int
    fn: int
    tn: int
    category_correct: int
    code3_correct: int
    assertion_labeled: int  # labeled non-affirmed pain mentions
    assertion_matched: int  # of those, paired with a predicted mention (by code, 3-char code or category)
    assertion_correct: int  # of the paired, same assertion
    assertion_pairs: Mapping[str, int]  # "labeled->predicted" → count
    causes: Mapping[str, int]
    outcomes: tuple[NoteOutcome, ...] = field(default=())

    @property
    def accuracy(self) -> float:
        """pain_affirmed accuracy over all notes."""
        return (self.tp + self.tn) / self.notes if self.notes else 0.0

    @property
    def pain_affirmed(self) -> FieldScore:
        """The pain_affirmed decision's counts, scored like every field (evaluation/scoring.py)."""
        return FieldScore(self.tp, self.fp, self.fn)

    @property
    def precision(self) -> float:
        """Of the notes predicted "pain affirmed", the share that are."""
        return self.pain_affirmed.precision

    @property
    def recall(self) -> float:
        """Of the notes labeled "pain affirmed", the share predicted so."""
        return self.pain_affirmed.recall

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        return self.pain_affirmed.f1

    def to_json(self) -> dict[str, object]:
        """The summary as JSON-able data (codes and counts only)."""
        return {
            "notes": self.notes, "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
            "accuracy": round(self.accuracy, 4), "precision": round(self.precision, 4),
            "recall": round(self.recall, 4), "f1": round(self.f1, 4),
            "false_positives_would_be_wrongly_complete": self.fp,
            "category_accuracy_on_tp": {"correct": self.category_correct, "of": self.tp},
            "code3_agreement_on_tp": {"correct": self.code3_correct, "of": self.tp},
            "assertion": {"labeled": self.assertion_labeled, "matched": self.assertion_matched,
                          "correct": self.assertion_correct, "pairs": dict(sorted(self.assertion_pairs.items()))},
            "causes": dict(sorted(self.causes.items())),
            "per_note": [{
                "id": o.id, "specialty": o.specialty, "label": o.label, "predicted": o.predicted,
                "predicted_code": o.predicted_code, "predicted_category": o.predicted_category,
                "predicted_section": o.predicted_section, "outcome": o.outcome, "cause": o.cause,
                "category_ok": o.category_ok, "code3_ok": o.code3_ok} for o in self.outcomes],
        }


def _miss_cause(label: NoteLabel, pred: Prediction) -> str:
    """Why a labeled pain diagnosis was not chosen."""
    pain = [m for m in pred.mentions if m.category.is_pain]
    if not pain:
        wanted = {_code3(a.code) for a in label.affirmed if a.as_diagnosis and a.category.is_pain}
        if any(_code3(m.code) in wanted for m in pred.mentions):
            return "fn_found_but_not_pain_category"
        return "fn_pain_diagnosis_not_found"
    if not any(m.assertion is Assertion.AFFIRMED for m in pain):
        return "fn_pain_found_but_not_affirmed"
    if pred.weak_only:
        return "fn_pain_only_in_complaint_no_diagnostic_section"
    return "fn_pain_only_in_complaint_sections"


def _false_positive_cause(label: NoteLabel, pred: Prediction) -> str:
    """Why a pain diagnosis was chosen for a note whose label has none stated as a diagnosis."""
    c3 = _code3(pred.code)
    if any(_code3(m.code) == c3 or m.category is pred.category for m in label.mentions):
        return "fp_non_affirmed_mention_read_as_affirmed"
    if any(_code3(a.code) == c3 and not a.as_diagnosis for a in label.affirmed):
        return "fp_complaint_or_indication_taken_as_diagnosis"
    if any(_code3(a.code) == c3 and not a.category.is_pain for a in label.affirmed):
        return "fp_policy_non_pain_condition"
    return "fp_unlabeled_pain_mention"


def _pair_mentions(label: NoteLabel, pred: Prediction) -> list[tuple[LabeledMention, PredictedMention | None]]:
    """Pair each labeled non-affirmed mention with at most one predicted pain mention: same code, else same
    3-character code, else same category with a shared word; ties go to the most shared words, then the earlier
    mention. Each prediction is used once."""
    used: set[int] = set()
    out: list[tuple[LabeledMention, PredictedMention | None]] = []
    for lm in label.mentions:
        best: tuple[int, int, int] | None = None
        for i, pm in enumerate(pred.mentions):
            if i in used or not pm.category.is_pain:
                continue
            if pm.code and pm.code.upper() == lm.code.upper():
                level = 3
            elif _code3(pm.code) == _code3(lm.code):
                level = 2
            elif pm.category is lm.category and _words(pm.text) & _words(lm.text):
                level = 1  # same category only counts with a shared word ("headache" never pairs "joint pain")
            else:
                continue
            key = (level, len(_words(pm.text) & _words(lm.text)), -i)
            if best is None or key > best:
                best = key
        if best is None:
            out.append((lm, None))
        else:
            used.add(-best[2])
            out.append((lm, pred.mentions[-best[2]]))
    return out


def score(labels: Sequence[NoteLabel], predictions: Mapping[str, Prediction]) -> Scores:
    """Score `predictions` (by note id) against `labels`. Raises KeyError when a labeled note has no prediction."""
    tp = fp = fn = tn = cat_ok = code_ok = 0
    a_labeled = a_matched = a_correct = 0
    pairs: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    outcomes: list[NoteOutcome] = []
    for lab in labels:
        pred = predictions[lab.id]
        cause: str | None = None
        category_ok: bool | None = None
        code3_ok: bool | None = None
        if lab.pain_affirmed and pred.pain_affirmed:
            outcome = "tp"
            tp += 1
            stated = [a for a in lab.affirmed if a.as_diagnosis and a.category.is_pain]
            category_ok = pred.category in {a.category for a in stated}
            code3_ok = _code3(pred.code) in {_code3(a.code) for a in stated}
            cat_ok += category_ok
            code_ok += code3_ok
            if not category_ok:
                cause = "tp_category_mismatch"
        elif pred.pain_affirmed:
            outcome, cause = "fp", _false_positive_cause(lab, pred)
            fp += 1
        elif lab.pain_affirmed:
            outcome, cause = "fn", _miss_cause(lab, pred)
            fn += 1
        else:
            outcome = "tn"
            tn += 1
        if cause:
            causes[cause] += 1
        for lm, pm in _pair_mentions(lab, pred):
            a_labeled += 1
            if pm is None:
                pairs[f"{lm.assertion}->unmatched"] += 1
                continue
            a_matched += 1
            a_correct += pm.assertion is lm.assertion
            pairs[f"{lm.assertion}->{pm.assertion}"] += 1
        outcomes.append(NoteOutcome(
            lab.id, lab.specialty, lab.pain_affirmed, pred.pain_affirmed, pred.code,
            str(pred.category) if pred.category else None, str(pred.section) if pred.section else None,
            outcome, cause, category_ok, code3_ok))
    return Scores(len(labels), tp, fp, fn, tn, cat_ok, code_ok, a_labeled, a_matched, a_correct,
                  dict(pairs), dict(causes), tuple(outcomes))


# --------------------------------------------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------------------------------------------


def _ratio(n: int, d: int) -> str:
    return f"{n}/{d} = {n / d:.3f}" if d else "0/0"


def print_scores(scores: Scores, console: Console) -> None:
    """The figures as rich tables: headline, per-specialty counts, assertion pairs and causes."""
    fp_style = "bold red" if scores.fp else "green"
    head = Table(title=f"MTSamples pain diagnosis, {scores.notes} hand-labeled notes")
    head.add_column("measure")
    head.add_column("value", justify="right")
    head.add_row("[bold]false 'pain affirmed' (would be wrongly complete)[/bold]",
                 f"[{fp_style}]{scores.fp}[/{fp_style}] of {scores.fp + scores.tn} negatives")
    head.add_row("pain_affirmed accuracy", _ratio(scores.tp + scores.tn, scores.notes))
    head.add_row("precision / recall / F1", f"{scores.precision:.3f} / {scores.recall:.3f} / {scores.f1:.3f}")
    head.add_row("tp / fp / fn / tn", f"{scores.tp} / {scores.fp} / {scores.fn} / {scores.tn}")
    head.add_row("category accuracy on tp", _ratio(scores.category_correct, scores.tp))
    head.add_row("ICD-10 3-char agreement on tp", _ratio(scores.code3_correct, scores.tp))
    head.add_row("assertion accuracy (matched non-affirmed mentions)",
                 _ratio(scores.assertion_correct, scores.assertion_matched))
    head.add_row("non-affirmed mentions matched", _ratio(scores.assertion_matched, scores.assertion_labeled))
    console.print(head)
    by_spec = Table(title="by specialty")
    for col in ("specialty", "notes", "tp", "fp", "fn", "tn"):
        by_spec.add_column(col, justify="right" if col != "specialty" else "left")
    for spec in sorted({o.specialty for o in scores.outcomes}):
        c = Counter(o.outcome for o in scores.outcomes if o.specialty == spec)
        by_spec.add_row(spec, str(sum(c.values())), *(str(c[k]) for k in ("tp", "fp", "fn", "tn")))
    console.print(by_spec)
    if scores.causes or scores.assertion_pairs:
        detail = Table(title="causes and assertion pairs (labeled->predicted)")
        detail.add_column("code")
        detail.add_column("count", justify="right")
        for k, v in sorted(scores.causes.items(), key=lambda kv: (-kv[1], kv[0])):
            detail.add_row(k, str(v))
        for k, v in sorted(scores.assertion_pairs.items(), key=lambda kv: (-kv[1], kv[0])):
            detail.add_row(f"assertion {k}", str(v))
        console.print(detail)


def labels_in_subset(labels: Sequence[NoteLabel], subset: str) -> tuple[NoteLabel, ...]:
    """The labels of one split: "dev" (Pain Management), "test" (Neurology) or "all". Raises LabelError otherwise."""
    specialties = SUBSETS.get(subset)
    if specialties is None:
        raise LabelError(f"unknown subset {subset!r}; use one of {', '.join(sorted(SUBSETS))}")
    return tuple(lab for lab in labels if lab.specialty in specialties)


def evaluate_mtsamples(corpus: Path, labels_path: Path, out: Path | None, ner_model: str | None, console: Console,
                       subset: str = "all") -> Scores:
    """Select the notes, check them against the labels, predict the notes of `subset` (see `SUBSETS`), score, print
    and (with `out`) write OUT/mtsamples-eval.json. Raises ConfigError (LabelError) when the corpus or labels are
    unusable or disagree, or the subset is unknown."""
    policy = load_policy()
    all_labels = load_labels(labels_path)
    problems = label_problems(all_labels, policy)
    if problems:
        raise LabelError("; ".join(problems[:5]))
    labels = labels_in_subset(all_labels, subset)
    notes = {n.id: n for n in select_notes(read_corpus(corpus))}
    unknown = [lab.id for lab in labels if lab.id not in notes]
    if unknown:
        raise LabelError(f"{len(unknown)} labeled ids are not selected from this corpus (first: {unknown[0]})")
    predictions = {lab.id: predict(notes[lab.id].text, policy, ner_model) for lab in labels}
    scores = score(labels, predictions)
    print_scores(scores, console)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "mtsamples-eval.json").write_text(json.dumps(scores.to_json(), indent=2) + "\n", encoding="utf-8")
    return scores
