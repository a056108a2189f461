"""MTSamples evaluation: the label file's schema and consistency, the scoring, and the selection rule."""

from __future__ import annotations

import corpus_paths
import pytest

from evaluation.mtsamples.evaluate import (
    DEFAULT_LABELS,
    CorpusRow,
    LabeledDiagnosis,
    LabeledMention,
    LabelError,
    NoteLabel,
    PredictedMention,
    Prediction,
    label_problems,
    labels_in_subset,
    load_labels,
    note_id,
    read_corpus,
    score,
    select_notes,
)
from pipeline.policy import load_policy
from pipeline.types import Assertion, Category, SectionKind

POLICY = load_policy()


def label(row: int, affirmed: tuple[LabeledDiagnosis, ...] = (), mentions: tuple[LabeledMention, ...] = (),
          pain: bool | None = None) -> NoteLabel:
    """A label for a constructed note; `pain` defaults to what `affirmed` implies."""
    implied = any(a.as_diagnosis and a.category.is_pain for a in affirmed)
    return NoteLabel(id=note_id(row, f"text {row}"), row=row, specialty="Neurology", sample_name="s",
                     pain_affirmed=implied if pain is None else pain, affirmed=affirmed, mentions=mentions,
                     rationale="constructed")


def dx(code: str, as_diagnosis: bool = True) -> LabeledDiagnosis:
    return LabeledDiagnosis(code=code, category=POLICY.classify(code), text="x", as_diagnosis=as_diagnosis)


def mention(code: str, assertion: Assertion, text: str = "x") -> LabeledMention:
    return LabeledMention(code=code, category=POLICY.classify(code), text=text, assertion=assertion)


def pred(code: str | None = None, section: SectionKind | None = SectionKind.DIAGNOSES,
         mentions: tuple[PredictedMention, ...] = ()) -> Prediction:
    return Prediction(pain_affirmed=code is not None, code=code,
                      category=POLICY.classify(code) if code else None, section=section if code else None,
                      mentions=mentions)


def pm(code: str, assertion: Assertion, text: str = "x",
       section: SectionKind | None = SectionKind.DIAGNOSES) -> PredictedMention:
    return PredictedMention(code, POLICY.classify(code), assertion, section, text)


# ---- the label file -------------------------------------------------------------------------------------------


def test_when_the_repository_label_file_is_loaded_then_it_validates_against_schema_codes_and_policy() -> None:
    labels = load_labels(DEFAULT_LABELS)
    assert len(labels) >= 40
    assert label_problems(labels, POLICY) == []
    assert {lab.specialty for lab in labels} == {"Pain Management", "Neurology"}


@pytest.mark.parametrize(("bad", "expected"), [
    (label(1, (LabeledDiagnosis(code="M54.5", category=Category.OTHER_PAIN, text="x", as_diagnosis=True),)),
     "not a billable"),
    (label(2, (LabeledDiagnosis(code="M79.7", category=Category.OTHER_PAIN, text="x", as_diagnosis=True),)),
     "labeled other_pain"),
    (label(3, (dx("M54.50"),), pain=False), "pain_affirmed=False"),
    (label(4, (dx("M54.50", as_diagnosis=False),), pain=True), "pain_affirmed=True"),
    (label(5, mentions=(mention("R51.9", Assertion.AFFIRMED),)), "listed as a mention but affirmed"),
    (label(6, mentions=(mention("I10", Assertion.NEGATED),)), "not a pain category"),
    (label(7, (dx("Z99.99"),)), "not a billable"),
])
def test_when_a_label_breaks_a_rule_then_label_problems_names_it(bad: NoteLabel, expected: str) -> None:
    problems = label_problems([bad], POLICY)
    assert any(expected in p for p in problems), problems


def test_when_a_label_has_an_unknown_key_then_the_schema_rejects_it() -> None:
    raw = label(1).model_dump(mode="json") | {"surprise": 1}
    with pytest.raises(ValueError, match="surprise"):
        NoteLabel.model_validate(raw)


# ---- scoring --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lab", "prediction", "outcome", "cause"), [
    (label(1, (dx("G43.909"),)), pred("G43.009"), "tp", None),
    (label(2, (dx("M54.17"),)), pred("M54.50"), "tp", "tp_category_mismatch"),
    (label(3), pred(), "tn", None),
    (label(4, (dx("M54.50"),)), pred(), "fn", "fn_pain_diagnosis_not_found"),
    (label(5, (dx("M79.7"),)), pred(mentions=(pm("M79.7", Assertion.NEGATED),)), "fn",
     "fn_pain_found_but_not_affirmed"),
    (label(6, (dx("M79.7"),)), Prediction(False, weak_only=True, mentions=(
        pm("M79.7", Assertion.AFFIRMED, section=SectionKind.CHIEF_COMPLAINT),)), "fn",
     "fn_pain_only_in_complaint_no_diagnostic_section"),
    (label(7, mentions=(mention("G43.909", Assertion.FAMILY),)), pred("G43.909"), "fp",
     "fp_non_affirmed_mention_read_as_affirmed"),
    (label(8, (dx("R51.9", as_diagnosis=False),)), pred("R51.9"), "fp",
     "fp_complaint_or_indication_taken_as_diagnosis"),
    (label(9, (dx("I83.813"),)), pred("I83.813"), "fp", "fp_policy_non_pain_condition"),
    (label(10), pred("M25.50"), "fp", "fp_unlabeled_pain_mention"),
])
def test_when_a_note_is_scored_then_its_outcome_and_cause_follow(lab: NoteLabel, prediction: Prediction,
                                                                 outcome: str, cause: str | None) -> None:
    scores = score([lab], {lab.id: prediction})
    assert scores.outcomes[0].outcome == outcome
    assert scores.outcomes[0].cause == cause


def test_when_a_set_is_scored_then_the_figures_add_up() -> None:
    labels = [label(1, (dx("G43.909"),)), label(2, (dx("M54.17"),)), label(3), label(4), label(5, (dx("M79.7"),))]
    preds = {labels[0].id: pred("G43.909"), labels[1].id: pred("M54.50"), labels[2].id: pred(),
             labels[3].id: pred("R51.9"), labels[4].id: pred()}
    s = score(labels, preds)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 1, 1)
    assert s.accuracy == pytest.approx(3 / 5)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    assert (s.category_correct, s.code3_correct) == (1, 2)  # M54.50 shares M54 with M54.17, not its category
    assert s.to_json()["false_positives_would_be_wrongly_complete"] == 1


@pytest.mark.parametrize(("mentions", "predicted", "pairs"), [
    ((mention("R51.9", Assertion.NEGATED),), (pm("R51.9", Assertion.NEGATED),), {"negated->negated": 1}),
    ((mention("G43.909", Assertion.FAMILY),), (pm("G43.109", Assertion.AFFIRMED),), {"family->affirmed": 1}),
    ((mention("R51.9", Assertion.HYPOTHETICAL, "risk of headache"),), (pm("M25.50", Assertion.AFFIRMED, "joint pain"),),
     {"hypothetical->unmatched": 1}),
    ((mention("G58.9", Assertion.NEGATED, "entrapment neuropathy"),),
     (pm("G62.9", Assertion.NEGATED, "neuropathy"),), {"negated->negated": 1}),
    ((mention("R07.9", Assertion.NEGATED),), (), {"negated->unmatched": 1}),
])
def test_when_non_affirmed_mentions_are_paired_then_code_then_category_with_a_shared_word_decides(
        mentions: tuple[LabeledMention, ...], predicted: tuple[PredictedMention, ...], pairs: dict[str, int]) -> None:
    lab = label(1, mentions=mentions)
    s = score([lab], {lab.id: pred(mentions=predicted)})
    assert dict(s.assertion_pairs) == pairs


def test_when_a_labeled_note_has_no_prediction_then_scoring_raises() -> None:
    with pytest.raises(KeyError):
        score([label(1)], {})


# ---- selection ------------------------------------------------------------------------------------------------


def _rows() -> list[CorpusRow]:
    return [CorpusRow(0, "Surgery", "a", "shared text"), CorpusRow(1, "Pain Management", "a2", "shared text"),
            CorpusRow(2, "Neurology", "b", "shared text"), CorpusRow(3, "Neurology", "c", "neuro only"),
            CorpusRow(4, "Neurology", "d", ""), CorpusRow(5, "Pain Management", "e", "pain only")]


@pytest.mark.parametrize(("per", "expected_rows"), [(5, {0, 3, 5}), (0, set())])
def test_when_rows_repeat_across_specialties_then_a_text_is_selected_once_at_its_first_row(
        per: int, expected_rows: set[int]) -> None:
    notes = select_notes(_rows(), per_specialty=per)
    assert {n.row for n in notes} == expected_rows
    assert len({n.text for n in notes}) == len(notes)
    assert all(n.text for n in notes)
    assert all(n.specialty == "Pain Management" for n in notes if n.text == "shared text")
    assert all(n.id == note_id(n.row, n.text) for n in notes)


def test_when_the_rows_are_shuffled_then_the_selection_is_the_same() -> None:
    rows = _rows()
    a = select_notes(rows, per_specialty=1)
    b = select_notes(list(reversed(rows)), per_specialty=1)
    assert {n.text for n in a} == {n.text for n in b}


@corpus_paths.needs("mtsamples")
def test_when_the_corpus_is_present_then_the_selection_reproduces_the_labeled_ids() -> None:
    labels = load_labels(DEFAULT_LABELS)
    notes = select_notes(read_corpus(corpus_paths.CORPORA / "mtsamples" / "mtsamples.csv"))
    assert [n.id for n in notes] == [lab.id for lab in labels]
    assert [n.row for n in notes] == [lab.row for lab in labels]


SUBSET_SIZES = [("dev", "Pain Management", 25), ("test", "Neurology", 25), ("all", None, 50)]


@pytest.mark.parametrize(("subset", "specialty", "size"), SUBSET_SIZES)
def test_when_a_subset_is_chosen_then_only_its_specialty_is_scored(subset: str, specialty: str | None,
                                                                   size: int) -> None:
    chosen = labels_in_subset(load_labels(DEFAULT_LABELS), subset)
    assert len(chosen) == size
    assert specialty is None or {lab.specialty for lab in chosen} == {specialty}


def test_when_an_unknown_subset_is_chosen_then_label_error_names_it() -> None:
    with pytest.raises(LabelError, match="heldout"):
        labels_in_subset(load_labels(DEFAULT_LABELS), "heldout")
