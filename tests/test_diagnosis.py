"""extractors.diagnosis: lexicon classes, assertion cues, sections, printed-code precedence, OCR noise."""

from __future__ import annotations

import pytest
from fakes import linear_text, linear_text_from_rows

from extractors.diagnosis import find_diagnoses
from extractors.ner_model import DEFAULT_MODEL, get_recognizer
from extractors.nlp import get_pipeline
from pipeline.policy import load_policy
from pipeline.types import Assertion, Category, DiagnosisMention, SectionKind, Source


def _find(text: str, confidence: float = 1.0) -> tuple[DiagnosisMention, ...]:
    return find_diagnoses(get_pipeline().parse(linear_text(text, confidence)), load_policy(),
                          recognizer=get_recognizer(DEFAULT_MODEL))


def _one(text: str, needle: str, confidence: float = 1.0) -> DiagnosisMention:
    hits = [m for m in _find(text, confidence) if needle.lower() in m.text.lower()]
    assert len(hits) == 1, [(m.text, m.icd10) for m in hits]
    return hits[0]


LEXICON = [
    ("Diagnoses: complex regional pain syndrome", "complex", "G90.50", Category.CRPS),
    ("Diagnoses: RSD", "RSD", "G90.50", Category.CRPS),
    ("Diagnoses: reflex sympathetic dystrophy", "reflex", "G90.50", Category.CRPS),
    ("Diagnoses: causalgia", "causalgia", "G56.40", Category.CRPS),
    ("Diagnoses: CRPS type II", "CRPS", "G56.40", Category.CRPS),
    ("Diagnoses: CRPS 1", "CRPS", "G90.50", Category.CRPS),
    ("Diagnoses: CRPS of the left arm", "CRPS", "G90.512", Category.CRPS),
    ("Diagnoses: CRPS RLE", "CRPS", "G90.521", Category.CRPS),
    ("Diagnoses: causalgia, right leg", "causalgia", "G57.71", Category.CRPS),
    ("Diagnoses: fibromyalgia", "fibromyalgia", "M79.7", Category.FIBROMYALGIA),
    ("Diagnoses: FMS", "FMS", "M79.7", Category.FIBROMYALGIA),
    ("Diagnoses: migraine with aura", "migraine", "G43.109", Category.MIGRAINE),
    ("Diagnoses: migraine without aura", "migraine", "G43.009", Category.MIGRAINE),
    ("Diagnoses: chronic migraine", "migraine", "G43.709", Category.MIGRAINE),
    ("Diagnoses: intractable migraine", "migraine", "G43.919", Category.MIGRAINE),
    ("Diagnoses: status migrainosus", "status", "G43.901", Category.MIGRAINE),
    ("Diagnoses: menstrual migraine", "migraine", "G43.829", Category.MIGRAINE),
    ("Diagnoses: hemiplegic migraine", "migraine", "G43.409", Category.MIGRAINE),
    ("Diagnoses: PHN", "PHN", "B02.29", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: diabetic peripheral neuropathy", "diabetic", "E11.42", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: DPN", "DPN", "E11.42", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: tic douloureux", "tic", "G50.0", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: occipital neuralgia", "occipital", "M54.81", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: lumbar radiculopathy", "radiculopathy", "M54.16", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: sciatica", "sciatica", "M54.30", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: phantom limb pain", "phantom", "G54.6", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: central pain syndrome", "central", "G89.0", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: neuropathic pain", "neuropathic", "M79.2", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: chronic pain syndrome", "chronic", "G89.4", Category.OTHER_PAIN),
    ("Diagnoses: chronic pain", "chronic", "G89.29", Category.OTHER_PAIN),
    ("Diagnoses: low back pain", "back", "M54.50", Category.OTHER_PAIN),
    ("Diagnoses: myalgia", "myalgia", "M79.10", Category.OTHER_PAIN),
    ("Diagnoses: major depressive disorder", "major", "F32.9", Category.MENTAL_HEALTH),
    ("Diagnoses: MDD", "MDD", "F32.9", Category.MENTAL_HEALTH),
    ("Diagnoses: treatment-resistant depression", "depression", "F33.9", Category.MENTAL_HEALTH),
    ("Diagnoses: PTSD", "PTSD", "F43.10", Category.MENTAL_HEALTH),
    ("Diagnoses: GAD", "GAD", "F41.1", Category.MENTAL_HEALTH),
    ("Diagnoses: anxiety", "anxiety", "F41.9", Category.MENTAL_HEALTH),
    ("Diagnoses: bipolar disorder", "bipolar", "F31.9", Category.MENTAL_HEALTH),
    ("Diagnoses: suicidal ideation", "suicidal", "R45.851", Category.MENTAL_HEALTH),
    ("Diagnoses: hypertension", "hypertension", "I10", Category.OTHER),
    ("Diagnoses: type 2 diabetes", "diabetes", "E11.9", Category.OTHER),
    ("Diagnoses: insomnia", "insomnia", "G47.00", Category.OTHER),
]


@pytest.mark.parametrize(("text", "needle", "code", "category"), LEXICON)
def test_when_a_lexicon_term_is_named_then_it_links_to_its_code_and_category(text: str, needle: str, code: str,
                                                                             category: Category) -> None:
    m = _one(text, needle)
    assert (m.icd10, m.category, m.assertion) == (code, category, Assertion.AFFIRMED)


ASSERTIONS = [
    ("Patient denies migraines.", "migraine", Assertion.NEGATED),
    ("No evidence of CRPS.", "CRPS", Assertion.NEGATED),
    ("Negative for fibromyalgia.", "fibromyalgia", Assertion.NEGATED),
    ("Review of Systems:\nMigraine: denies\nFibromyalgia: yes", "migraine", Assertion.NEGATED),
    ("Review of Systems:\nMigraine: denies\nFibromyalgia: yes", "fibromyalgia", Assertion.AFFIRMED),
    ("Mother has fibromyalgia.", "fibromyalgia", Assertion.FAMILY),
    ("Family history of migraine.", "migraine", Assertion.FAMILY),
    ("FHx: migraines", "migraine", Assertion.FAMILY),
    ("Sister: CRPS", "CRPS", Assertion.FAMILY),
    ("r/o fibromyalgia", "fibromyalgia", Assertion.UNCERTAIN),
    ("rule out CRPS", "CRPS", Assertion.UNCERTAIN),
    ("?CRPS", "CRPS", Assertion.UNCERTAIN),
    ("Possible CRPS of the right hand.", "CRPS", Assertion.UNCERTAIN),
    ("Probable fibromyalgia.", "fibromyalgia", Assertion.UNCERTAIN),
    ("Suspected trigeminal neuralgia.", "trigeminal", Assertion.UNCERTAIN),
    ("Migraines in adolescence, resolved.", "migraine", Assertion.HISTORICAL),
    ("Migraines, resolved.", "migraine", Assertion.HISTORICAL),
    ("No longer has migraines.", "migraine", Assertion.HISTORICAL),
    ("Patient with a history of fibromyalgia.", "fibromyalgia", Assertion.AFFIRMED),
    ("Hx of CRPS, on ketamine infusions.", "CRPS", Assertion.AFFIRMED),
    ("Return if migraine worsens.", "migraine", Assertion.HYPOTHETICAL),
    ("Fibromyalgia, stable.", "fibromyalgia", Assertion.AFFIRMED),
    ("Mother denies that she has migraines.", "migraine", Assertion.FAMILY),  # family > negated
    ("Possible migraines in adolescence, resolved.", "migraine", Assertion.HISTORICAL),  # historical > uncertain
]


@pytest.mark.parametrize(("text", "needle", "assertion"), ASSERTIONS)
def test_when_a_context_cue_applies_then_the_assertion_follows_it(text: str, needle: str,
                                                                  assertion: Assertion) -> None:
    assert _one(text, needle).assertion is assertion


SECTIONS = [
    ("Family History:\nmigraines", "migraine", "family_history", Assertion.FAMILY),
    ("Past Medical History:\nfibromyalgia", "fibromyalgia", "past_medical_history", Assertion.AFFIRMED),
    ("Past Medical History:\nmigraines, resolved", "migraine", "past_medical_history", Assertion.HISTORICAL),
    ("Problem List:\nCRPS", "CRPS", "problem_list", Assertion.AFFIRMED),
    ("Health Issues\nFibromyalgia", "fibromyalgia", "problem_list", Assertion.AFFIRMED),
    ("Current Problems:\nchronic migraine", "migraine", "problem_list", Assertion.AFFIRMED),
    ("Chief Complaint: nerve pain follow-up", "nerve pain", "chief_complaint", Assertion.AFFIRMED),
    ("Plan: ketamine infusion for CRPS", "CRPS", "plan", Assertion.AFFIRMED),
    ("Assessment and Plan:\n1. Fibromyalgia", "fibromyalgia", "assessment_and_plan", Assertion.AFFIRMED),
]


@pytest.mark.parametrize(("text", "needle", "section", "assertion"), SECTIONS)
def test_when_a_mention_sits_in_a_section_then_section_and_assertion_reflect_it(text: str, needle: str, section: str,
                                                                                assertion: Assertion) -> None:
    m = _one(text, needle)
    assert (m.section, m.assertion) == (section, assertion)


def test_when_a_pain_condition_is_in_a_plan_then_it_is_weaker_than_in_a_problem_list() -> None:
    plan = _one("Plan: ketamine infusion for CRPS", "CRPS")
    problem = _one("Problem List:\nCRPS", "CRPS")
    assert plan.confidence < problem.confidence == 1.0
    assert any("section plan" in a.reason for a in plan.evidence[0].adjustments)


PRINTED = [
    ("Diagnoses: CRPS (G90.512)", "CRPS", "G90.512"),
    ("Diagnoses: G57.72 causalgia", "causalgia", "G57.72"),
    ("Diagnoses: migraine (G43.709)", "migraine", "G43.709"),
    ("Diagnoses: fibromyalgia M79.7", "fibromyalgia", "M79.7"),
]


@pytest.mark.parametrize(("text", "needle", "code"), PRINTED)
def test_when_a_code_is_printed_next_to_a_term_then_the_printed_code_wins(text: str, needle: str, code: str) -> None:
    mentions = _find(text)
    assert len(mentions) == 1
    m = mentions[0]
    assert needle.lower() in m.text.lower() and m.icd10 == code and m.evidence[0].rule == "printed_code"


def test_when_a_code_is_printed_alone_then_it_is_a_mention_classified_by_policy() -> None:
    (m,) = _find("Encounter Diagnoses:\nG90.512")
    assert (m.icd10, m.category, m.description) == ("G90.512", Category.CRPS,
                                                   "Complex regional pain syndrome I of left upper limb")


def test_when_a_printed_code_is_not_in_icd10cm_then_the_term_keeps_its_lexicon_code() -> None:
    m = _one("Diagnoses: fibromyalgia (M79.99)", "fibromyalgia")
    assert m.icd10 == "M79.7" and m.evidence[0].rule.startswith("lexicon:")


OCR = [
    ("Problem List:\nfibromyalgla", "M79.7", Category.FIBROMYALGIA),
    ("Assessment:\nComplex regional paln syndrome", "G90.50", Category.CRPS),
    ("Diagnoses:\n1. Migrane, chronic insomnla", "G43.909", Category.MIGRAINE),
]


@pytest.mark.parametrize(("text", "code", "category"), OCR)
def test_when_ocr_noise_garbles_a_listed_diagnosis_then_the_linker_still_finds_it(text: str, code: str,
                                                                                 category: Category) -> None:
    hits = [m for m in _find(text) if m.icd10 == code]
    assert len(hits) == 1 and hits[0].category is category and hits[0].evidence[0].rule == "linker:char3gram"


@pytest.mark.parametrize("text", ["Problem List:\nPatient ambulating well", "Assessment:\nseen today, stable",
                                  "Blood pressure 120/80, follow up in 2 weeks"])
def test_when_list_items_are_not_diagnoses_then_nothing_is_found(text: str) -> None:
    assert _find(text) == ()


def test_when_ocr_confidence_is_low_then_confidence_drops_and_says_why() -> None:
    m = _one("Problem List:\nfibromyalgia", "fibromyalgia", confidence=0.7)
    assert m.confidence == pytest.approx(0.7)
    assert any("ocr word confidence" in a.reason for a in m.evidence[0].adjustments)


def test_when_a_mention_is_found_then_its_evidence_points_at_the_words() -> None:
    m = _one("Problem List:\nfibromyalgia", "fibromyalgia")
    ev = m.evidence[0]
    assert (ev.finder, ev.page, ev.snippet, ev.original_score) == ("diagnosis", 1, "fibromyalgia", 1.0)
    assert ev.bbox is not None and ev.bbox.top == 12.0


def test_when_an_abbreviation_is_defined_then_its_later_uses_link_to_the_long_form() -> None:
    mentions = _find("HPI: complex regional pain syndrome (CRPS) since 2019.\nAssessment: CRPS, stable.")
    assert [m.icd10 for m in mentions] == ["G90.50", "G90.50"]  # the definition "(CRPS)" is one mention


# Regression: "Chest pain" under PROBLEMS (HL7 CCD) was not a lexicon term; the policy maps R07/R10/M54/M25.5/M79.6
# to other_pain, so the common symptom-pain phrasings are lexicon terms.
SYMPTOM_PAIN = [
    ("Problems:\nChest pain (onset Apr 14, 2007)", "chest pain", "R07.9"),
    ("Problems:\nAbdominal pain", "abdominal pain", "R10.9"),
    ("Problems:\nLower abdominal pain", "abdominal pain", "R10.30"),
    ("Problems:\nPelvic pain", "pelvic pain", "R10.20"),
    ("Problems:\nNeck pain", "neck pain", "M54.2"),
    ("Problems:\nBack pain", "back pain", "M54.9"),
    ("Problems:\nLow back pain", "back pain", "M54.50"),  # the longer term wins
    ("Problems:\nJoint pain", "joint pain", "M25.50"),
    ("Problems:\nArthralgia", "arthralgia", "M25.50"),
    ("Problems:\nLimb pain", "limb pain", "M79.609"),
    ("Problems:\nKnee pain", "knee pain", "M25.569"),
]


@pytest.mark.parametrize(("text", "needle", "code"), SYMPTOM_PAIN)
def test_when_a_symptom_pain_is_listed_then_it_links_to_its_code_as_other_pain(text: str, needle: str,
                                                                               code: str) -> None:
    m = _one(text, needle)
    assert (m.icd10, m.category, m.assertion) == (code, Category.OTHER_PAIN, Assertion.AFFIRMED)


# Regression: a denial right after a title's colon ("ROS: denies chest pain") was taken by the BACKWARD list-style
# cue (": denies", ": no"), which displaced the FORWARD one, so the symptom stayed affirmed.
DENIED_AFTER_TITLE = [
    ("ROS: denies chest pain", "chest pain"),
    ("Review of Systems: No chest pain, no abdominal pain", "chest pain"),
    ("Review of Systems: No chest pain, no abdominal pain", "abdominal pain"),
    ("ROS: denies fever, chills, chest pain", "chest pain"),
    ("ROS: denies migraines", "migraine"),
    ("HPI: Patient denies chest pain.", "chest pain"),
    ("ROS:\nChest pain: none.", "chest pain"),
    ("Review of Systems:\nChest pain: denies\nFibromyalgia: yes", "chest pain"),
]


@pytest.mark.parametrize(("text", "needle"), DENIED_AFTER_TITLE)
def test_when_a_denial_follows_a_title_colon_then_the_pain_stays_negated(text: str, needle: str) -> None:
    assert _one(text, needle).assertion is Assertion.NEGATED


# Regression (CCD 1): "Diagnosis Age At Onset", a table header inside FAMILY HISTORY, opened a diagnoses section and
# made the father's conditions the patient's.
def test_when_a_diagnosis_table_header_is_in_family_history_then_relatives_conditions_stay_family() -> None:
    m = _one("FAMILY HISTORY\nFather (deceased)\nDiagnosis Age At Onset\nMigraine 40\nPROBLEMS\nAsthma", "migraine")
    assert (m.section, m.assertion) == ("family_history", Assertion.FAMILY)


# Regression (EHR problem tables print "<SNOMED CT id> <display>"): a printed id of a mapped concept next to its own
# display links to the map's ICD-10-CM code, even when the display is not a lexicon term.
SNOMED_PRINTED = [
    ("Problems\n29857009 Chest pain active December 12, 2016", "chest pain", "R07.9"),
    ("Problems\n282743009 Malignant bone pain active", "malignant bone pain", "G89.3"),
    ("Problems\nLow back pain 279039007 active", "low back pain", "M54.50"),
    ("Problems\n57676002 Pain of joint (arthralgia)", "pain of joint", "M25.50"),
    ("Problems\n278860009 - Chronic low back pain", "chronic low back pain", "M54.50"),
]


@pytest.mark.parametrize(("text", "needle", "code"), SNOMED_PRINTED)
def test_when_a_printed_snomed_id_sits_next_to_its_display_then_the_mapped_code_is_used(text: str, needle: str,
                                                                                      code: str) -> None:
    m = _one(text, needle)
    assert (m.icd10, m.category, m.evidence[0].rule.startswith("printed_snomed:")) == (code, Category.OTHER_PAIN, True)


SNOMED_NOT_USED = [
    "Problems\n282743008 Malignant bone pain",  # check digit wrong
    "Problems\n282743009 Bone metastasis",  # the id's concept is not the printed words
    "Problems\nMalignant bone pain 22253000",  # words end with "pain", but the id (Pain) is not their concept
    "Problems\n2.16.840.1.282743009 Malignant bone pain",  # part of an OID
]


@pytest.mark.parametrize("text", SNOMED_NOT_USED)
def test_when_a_printed_snomed_id_is_invalid_or_not_next_to_its_display_then_it_is_not_used(text: str) -> None:
    assert not any(m.evidence[0].rule.startswith("printed_snomed:") for m in _find(text))


def test_when_an_icd10_code_and_a_snomed_id_are_both_printed_then_the_icd10_code_wins() -> None:
    m = _one("Problems\nM54.16 Low back pain 279039007", "low back pain")
    assert (m.icd10, m.evidence[0].rule) == ("M54.16", "printed_code")


def test_when_a_printed_snomed_pain_is_in_family_history_then_it_stays_family() -> None:
    assert _one("Family History:\n29857009 Chest pain", "chest pain").assertion is Assertion.FAMILY


# Regression (discharge instructions): "Call your physician if you notice:\nAbdominal pain." became an affirmed pain
# diagnosis. A symptom named in words is a mention only in diagnostic or complaint/history/exam sections.
@pytest.mark.parametrize(("text", "found"), [
    ("Instructions:\nCall your physician if you notice:\nAbdominal pain.", False),
    ("Hospital Course\n4. For fever or onset of chest pain contact Emergency.", False),
    ("HPI: presents with chest pain", True),
    ("Problems:\nChest pain", True),
    ("Instructions:\nR07.9 Chest pain", True),  # a printed code is a coded problem wherever it is printed
])
def test_when_a_symptom_pain_is_named_outside_diagnosis_or_complaint_sections_then_it_is_not_a_mention(
        text: str, found: bool) -> None:
    assert any(m.category is Category.OTHER_PAIN for m in _find(text)) is found


# Regressions from evaluation/mtsamples (DEV half): missing terms and words read as the wrong condition.
DICTATION_LEXICON = [
    ("PREOPERATIVE DIAGNOSES,1. EMG-proven left carpal tunnel syndrome.", "carpal", "G56.02",
     Category.NEUROPATHIC_PAIN),
    ("Diagnoses: carpal tunnel syndrome", "carpal", "G56.00", Category.NEUROPATHIC_PAIN),
    ("Diagnoses: bilateral carpal tunnel syndrome", "carpal", "G56.03", Category.NEUROPATHIC_PAIN),
    ("POSTOPERATIVE DIAGNOSIS: , Severe post thoracotomy pain.", "thoracotomy", "G89.12", Category.OTHER_PAIN),
    ("Diagnoses: chronic post-thoracotomy pain", "thoracotomy", "G89.22", Category.OTHER_PAIN),
    ("DIAGNOSES:,1. Cervical dystonia.,2. Post cervical laminectomy pain syndrome.", "laminectomy", "M96.1",
     Category.OTHER_PAIN),
    ("Diagnoses: radiculopathy with history of post laminectomy pain", "laminectomy", "M96.1", Category.OTHER_PAIN),
    ("Diagnoses: failed back surgery syndrome", "failed", "M96.1", Category.OTHER_PAIN),
]


@pytest.mark.parametrize(("text", "needle", "code", "category"), DICTATION_LEXICON)
def test_when_a_dictated_note_names_a_post_procedural_or_entrapment_pain_then_it_links_to_its_code(
        text: str, needle: str, code: str, category: Category) -> None:
    m = _one(text, needle)
    assert (m.icd10, m.category, m.assertion) == (code, category, Assertion.AFFIRMED)


def test_when_an_indication_names_sacroiliac_joint_pain_then_it_is_other_pain_in_a_complaint_section() -> None:
    # an indication is the reason for the service: a pain named only there is a complaint, never a stated diagnosis
    # (regression: with M53.3 now other_pain, this MTSamples indication made a note "pain affirmed")
    found = _find("PROCEDURE: , Lateral branch block.,INDICATION: , Sacroiliac joint pain.,COMPLICATIONS: , None.")
    assert [(m.icd10, m.category, m.section) for m in found] == [
        ("M53.3", Category.OTHER_PAIN, SectionKind.CHIEF_COMPLAINT)]


def test_when_a_headache_is_under_an_inline_findings_title_then_it_is_not_a_diagnosis_mention() -> None:
    found = _find("POSTOPERATIVE DIAGNOSIS: , Intracerebral hematoma.,FINDINGS: , Hematoma with a history of "
                  "significant headache.")
    assert not any(m.icd10 == "R51.9" for m in found)


def test_when_a_consent_discussion_lists_headache_in_a_procedure_section_then_no_headache_diagnosis() -> None:
    found = _find("PREOPERATIVE DIAGNOSIS: , Lumbar radiculopathy.,DETAILS OF THE PROCEDURE: , Risks discussed "
                  "including post-dural puncture headache.")
    assert [(m.icd10, m.section) for m in found] == [("M54.16", SectionKind.DIAGNOSES)]


def test_when_an_operative_note_uses_bipolar_cautery_then_no_bipolar_disorder_is_found() -> None:
    found = _find("PROCEDURE: , Craniotomy.,DESCRIPTION: , Hemostasis was obtained with bipolar cautery; the "
                  "bipolar forceps were used.")
    assert not any(m.icd10.startswith("F31") for m in found)
    assert _one("Past Medical History: bipolar disorder", "bipolar").icd10 == "F31.9"


@pytest.mark.parametrize("item", ["Chronic", "chronic, severe", "Pain Medicine", "Pain Management follow up"])
def test_when_an_assessment_item_is_only_a_modifier_or_a_specialty_then_it_is_no_diagnosis(item: str) -> None:
    # regression: a bare "chronic" under an assessment linked to G89.29 (chronic pain) and made a document complete
    assert _find(f"Assessment:\n{item}\nHypertension") == () or all(
        not m.category.is_pain for m in _find(f"Assessment:\n{item}\nHypertension"))


@pytest.mark.parametrize("text", [
    "ED course:\nDifferential includes diabetic neuropathy; further workup pending.",
    "Visit notes:\nSymptoms may represent early migraine with aura.",
    "Discharge diagnosis:\nPossible diabetic neuropathy - Provisional",
    "Diagnoses:\nFibromyalgia - provisional",
    "Impression:\nFindings suspicious for CRPS of the left arm.",
    "Assessment:\nCRPS cannot be excluded at this time.",
], ids=["differential", "may-represent", "provisional-after-dash", "provisional-lowercase", "suspicious-for",
        "cannot-be-excluded"])
def test_when_a_pain_diagnosis_is_hedged_then_it_is_uncertain(text: str) -> None:
    # regression (varied dev split): hedged diagnoses read as affirmed made documents wrongly complete
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.UNCERTAIN for m in pain), [(m.text, m.assertion) for m in pain]


# Regression (fresh varied seeds 8700-9299, train_8973, a fax wrongly complete, scored blind): OCR read "Differential"
# as "Ditterential" and the hedge went unread. A long cue word matches within two edits; a short one stays exact.
@pytest.mark.parametrize("text", [
    "Ditterential includes fibromyalgia; furlher workup pending.",
    "Diflerential includes diabetic neuropathy; further workup pending.",
    "Findings suggestlve of CRPS of the left arm.",
])
def test_when_ocr_misreads_a_long_hedge_word_then_the_diagnosis_is_still_uncertain(text: str) -> None:
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.UNCERTAIN for m in pain), [(m.text, m.assertion) for m in pain]


def test_when_a_short_cue_word_is_one_edit_from_another_word_then_it_does_not_match() -> None:
    # "excluded" is two edits from "included": words of eight or nine letters are tolerated within one edit only
    pain = [m for m in _find("Assessment: Diagnoses included fibromyalgia, stable.") if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.AFFIRMED for m in pain), [(m.text, m.assertion) for m in pain]


# Regression (fresh varied seeds 9900-10499, train_10112, a fax wrongly complete, scored blind): OCR read the status
# "Resolved" after a dash as "Resalved" and the resolved neuropathy was read as affirmed. Cue words of eight letters
# or more match within one edit.
@pytest.mark.parametrize("text", [
    "Diagnosis 2\nDiabetic peripheral neuropathy - Resalved",
    "Problem list\nFibromyalgia - Inactlve",
])
def test_when_ocr_misreads_a_status_word_after_a_dash_then_the_diagnosis_is_still_historical(text: str) -> None:
    pain = [m for m in _find(text, 0.8) if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.HISTORICAL for m in pain), [(m.text, m.assertion) for m in pain]


# Regression (fresh varied seeds 9900-10499, train_10033, a letter wrongly complete, scored blind): a bracketed status
# closed a migraine's full ICD-10 title, wrapped over two lines, and did not reach back to the start of the title.
def test_when_a_bracketed_status_closes_a_long_icd_title_then_the_whole_title_takes_it() -> None:
    found = _find("Impression: Hyperlipidemia, unspecified; Hypothyroidism; Tobacco use disorder; Migraine without "
                  "aura, not\nintractable, without status migrainosus (resolved).")
    migraine = [m for m in found if m.text.startswith("Migraine")]
    assert migraine and migraine[0].assertion is Assertion.HISTORICAL, [(m.text, m.assertion) for m in found]
    assert not any(m.category.is_pain and m.assertion is Assertion.AFFIRMED for m in found)
    tobacco = [m for m in found if m.text.startswith("Tobacco")]
    assert tobacco and tobacco[0].assertion is Assertion.AFFIRMED  # the status stops at the item before (";")


# Regression (fresh varied seeds 12300-12899, train_12815, a photographed portal screen wrongly complete, scored blind):
# "Differential includes" was garbled past the OCR-tolerant cue, and "further workup pending" said nothing.
@pytest.mark.parametrize(("text", "expected"), [
    ("Correrernwal includes CRPS II; further workup pending.", Assertion.UNCERTAIN),
    ("Assessment: complex regional pain syndrome, pending further workup.", Assertion.UNCERTAIN),
    ("Assessment: Fibromyalgia, stable. Further workup pending for anemia.", Assertion.AFFIRMED),
], ids=["workup-pending", "pending-workup", "another-sentence"])
def test_when_workup_is_pending_for_a_diagnosis_then_it_is_uncertain(text: str, expected: Assertion) -> None:
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is expected for m in pain), [(m.text, m.assertion) for m in pain]


# Regression (fresh varied seeds 12300-12899, train_12656, a photographed note wrongly complete, scored blind):
# the problem list's "Resolved" cell was lost by OCR, and the resolved pain row read as affirmed.
@pytest.mark.parametrize(("rows", "expected"), [
    (["Insomnia | ‘Active", "Chronic pain syndrome", "Plan: Return to clinic in 4-6 weeks."], Assertion.UNCERTAIN),
    (["Insomnia | Active", "Chronic pain syndrome | Active", "Plan: Return to clinic."], Assertion.AFFIRMED),
    (["Insomnia | Active", "Chronic pain syndrome | Resolved", "Plan: Return to clinic."], Assertion.HISTORICAL),
], ids=["status-unread", "active", "resolved"])
def test_when_a_problem_lists_status_cell_is_unread_then_its_row_is_uncertain(rows: list[str],
                                                                               expected: Assertion) -> None:
    text = "\n".join(["Problem List", "Diagnosis ICD-10 Status", *rows])
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is expected for m in pain), [(m.text, m.assertion) for m in pain]


def test_when_a_pain_code_continues_a_row_whose_status_was_read_then_it_stays_affirmed() -> None:
    # the C-CDA test corpus (EMERGE__Patient-115): a problem's ICD-10 code on a line of its own under the row's first
    # line, which holds the status
    text = ("Problems\nGroup Description Code System Code Code Description Date and Time Status\n"
            "Nephropathy SNOMED- 46177005 End stage renal disease 05-02-2010 Active\nCT 10:00:00\n"
            "ICD-10-CM G58 Other mononeuropathies\nICD-9-CM 585.6 End stage renal disease\n")
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.AFFIRMED for m in pain), [(m.text, m.assertion) for m in pain]


def test_when_a_problem_list_has_no_status_column_then_a_row_without_status_stays_affirmed() -> None:
    pain = [m for m in _find("Problem List\nDiagnosis ICD-10\nInsomnia\nChronic pain syndrome\nPlan: Return.")
            if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.AFFIRMED for m in pain)


# Regression (fresh varied seeds 11700-12299, train_11792, a consult letter wrongly complete, scored blind): the
# bracketed status on the line under an ICD-10 title, after the title's own synonym in brackets: the synonym took the
# status and the title above it stayed affirmed.
@pytest.mark.parametrize("text", [
    "Impression: Severe persistent asthma, uncomplicated; Other postherpetic nervous system involvement\n"
    "(postherpetic neuralgia) (resolved).",
    "Impression: Other postherpetic nervous system involvement\n(postherpetic neuralgia) (B02.29) (resolved).",
], ids=["synonym", "synonym-and-code"])
def test_when_a_bracketed_status_follows_a_titles_bracketed_synonym_then_the_title_takes_it_too(text: str) -> None:
    found = _find(text)
    pain = [m for m in found if m.category.is_pain]
    assert any(m.text.startswith("Other postherpetic") for m in pain), [(m.text, m.assertion) for m in found]
    assert all(m.assertion is Assertion.HISTORICAL for m in pain), [(m.text, m.assertion) for m in found]


@pytest.mark.parametrize("text", [
    "Assessment: Fibromyalgia; Migraine (resolved).",
    "Assessment: Fibromyalgia; Migraine - Resolved",
    "Assessment: Fibromyalgia; Migraine, resolved.",
], ids=["bracketed", "dash", "bare"])
def test_when_a_status_closes_the_last_item_of_a_semicolon_list_then_earlier_items_keep_theirs(text: str) -> None:
    found = {m.text.lower(): m.assertion for m in _find(text)}
    assert found.get("fibromyalgia") is Assertion.AFFIRMED, found
    assert found.get("migraine") is Assertion.HISTORICAL, found


@pytest.mark.parametrize("text", ["ED course:\nRSD ruled out.", "Assessment:\nCRPS was ruled out last year."],
                         ids=["ruled-out-after", "was-ruled-out"])
def test_when_a_pain_diagnosis_is_ruled_out_after_it_is_named_then_it_is_negated(text: str) -> None:
    # regression (varied dev split): "RSD ruled out." read as an affirmed CRPS made a document complete
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.NEGATED for m in pain), [(m.text, m.assertion) for m in pain]


@pytest.mark.parametrize(("text", "expected"), [
    ("Diagnoses:\n2. Causalgia of left upper limb (G56.42) - Resolved", Assertion.HISTORICAL),
    ("Diagnoses:\n3. Complex regional pain syndrome I of right upper limb (G90.511) - Provisional",
     Assertion.UNCERTAIN),
    ("Diagnoses:\n4. Migraine without aura (G43.009) - Active", Assertion.AFFIRMED),
], ids=["resolved", "provisional", "active"])
def test_regression_a_status_after_a_dash_asserts_the_whole_list_item_code_included(
        text: str, expected: Assertion) -> None:
    # train_536 (fresh train seeds): "- Resolved" was 9 tokens from "Causalgia", beyond the bare word's scope of 8,
    # and the resolved CRPS read as affirmed
    pain = [m for m in _find(text) if m.category.is_pain]
    assert pain and all(m.assertion is expected for m in pain), [(m.text, m.assertion) for m in pain]


@pytest.mark.parametrize(("rows", "expected"), [
    ("Occipital neuralgia, bilateral\nResolved\nM54.81", Assertion.HISTORICAL),  # status, then the code line
    ("Occipital neuralgia, bilateral\nM54.81\nInactive", Assertion.HISTORICAL),  # code, then the status line
    ("Occipital neuralgia, bilateral\nActive\nM54.81", Assertion.AFFIRMED),
    # train seeds 1200-1799, wrongly complete: the row's code and status on one line (train_1761), OCR's "O" in the
    # code (train_1759), and the item wrapped onto a lower-case line before its status (train_1581)
    ("Occipital neuralgia, bilateral\nM54.81 Resolved", Assertion.HISTORICAL),
    ("Occipital neuralgia, bilateral\nM54.81 Inactive", Assertion.HISTORICAL),
    ("Other postherpetic nervous system\ninvolvement (postherpetic neuralgia)\nBO2.29 Resolved", Assertion.HISTORICAL),
    ("Occipital neuralgia,\nbilateral, chronic\nResolved", Assertion.HISTORICAL),
    ("Occipital neuralgia, bilateral\nM54.81 Active", Assertion.AFFIRMED),
    # train_902 (train seeds 600-1199, wrongly complete): the status in brackets on the line under a superbill's item
    ("D - Occipital neuralgia, bilateral\n(Resolved)\nTotal Charges", Assertion.HISTORICAL),
])
def test_when_a_problem_list_status_is_read_on_its_own_line_then_it_asserts_the_item_above(
        rows: str, expected: Assertion) -> None:
    found = _find("Diagnosis Code Status\n" + rows + "\nNotes from your visit")
    pain = [d for d in found if d.category is Category.NEUROPATHIC_PAIN]
    assert pain and {d.assertion for d in pain} == {expected}


def test_when_a_status_word_follows_prose_then_it_does_not_assert_the_sentence_above() -> None:
    found = _find("The patient reports occipital neuralgia flaring twice a week since the accident in March this "
                  "year despite treatment\nPast\nPlan: nerve block")
    assert {d.assertion for d in found if d.category is Category.NEUROPATHIC_PAIN} == {Assertion.AFFIRMED}


@pytest.mark.parametrize("org", ["Riverbend Headache Center", "Lakeside Migraine Clinic",
                                 "Summit Pain & Spine Institute"])
def test_regression_a_diagnosis_word_in_a_clinics_name_is_no_diagnosis(org: str) -> None:
    # train_325 was wrongly complete: the clinic's name under the signature fell inside the Impression section and
    # "Headache" was taken for an affirmed pain diagnosis (the only pain in the letter was a resolved migraine)
    text = ("Impression: Gastro-esophageal reflux disease without esophagitis.\n"
            f"Sincerely,\nBjørn Søndergaard, MD\n{org}\n")
    assert not [m for m in _find(text) if m.category.is_pain]


def test_when_a_diagnosis_word_is_followed_by_prose_then_it_is_still_a_diagnosis() -> None:
    assert _one("Impression: Headache center of the forehead, daily.", "Headache").category is Category.OTHER_PAIN


def test_regression_a_status_in_brackets_after_a_diagnosis_is_no_abbreviation_of_it() -> None:
    # train_1393 (train seeds 1200-1799, wrongly complete): "Migraine (resolved)" made "resolved" a short form of
    # migraine, and every later "resolved" an affirmed migraine
    found = _find("Impression: GERD; Migraine (resolved).\nPast migraines, resolved; asymptomatic for years.")
    pain = [m for m in found if m.category.is_pain]
    assert pain and all(m.assertion is Assertion.HISTORICAL for m in pain), [(m.text, m.assertion) for m in pain]
    assert all(m.text.lower() != "resolved" for m in found)


def test_when_a_document_defines_a_short_form_then_it_still_counts() -> None:
    found = _find("Assessment: Postherpetic neuralgia (PHN) of the left T6 dermatome.\nPlan: PHN stable on gabapentin.")
    assert any(m.text == "PHN" and m.category.is_pain for m in found)


# regressions (varied train seeds 1800-2399, scans wrongly complete): a resolved pain diagnosis read as affirmed
def test_regression_a_status_cell_on_the_diagnosis_row_makes_it_and_its_wrapped_words_historical() -> None:
    # train_2114: the linker's span took the whole row, status cell included, so ConText's "resolved" was inside the
    # target; the cell's words wrapped onto the next line had no status of their own
    found = _find("Problem List\n| Diagnosis | ICD-10 | Status\nType 2 diabetes | Active\n"
                  "| Other postherpetic nervous system involvement | Resolved\n(postherpetic neuralgia) |\n"
                  "Plan: Return to clinic in 4-6 weeks.")
    pain = [d for d in found if d.category is Category.NEUROPATHIC_PAIN]
    assert pain and all(d.assertion is Assertion.HISTORICAL for d in pain)


def test_regression_a_bracketed_status_glued_to_the_item_makes_it_historical() -> None:
    # train_2285: "(Resolved)" glued to the item's full stop was one token with it, and no cue matched
    found = _find("ICD-10-CM Diagnosis\nA E03.9 Hypothyroidism, unspecified\n"
                  "B |E11.42 Painful diabetic polyneuropathy (type 2 DM).(Resolved)\nTotal Charges")
    pain = [d for d in found if d.category is Category.NEUROPATHIC_PAIN]
    assert pain and all(d.assertion is Assertion.HISTORICAL for d in pain)


def _rows(rows: list[list[tuple[float, str]]]) -> tuple[DiagnosisMention, ...]:
    return find_diagnoses(get_pipeline().parse(linear_text_from_rows(rows, Source.OCR)), load_policy(),
                          recognizer=get_recognizer(DEFAULT_MODEL))


def test_regression_a_status_column_read_without_its_rules_makes_the_row_historical() -> None:
    # fresh seeds 3600-4799, train_4155 (a scan, wrongly complete): OCR dropped the table's rules, so the status
    # "Resolved" stood apart only by its column on the migraine's row
    found = _rows([[(40, "Assessment and Plan")], [(40, "Diagnosis"), (420, "Status")],
                   [(40, "Hyperlipidemia"), (420, "Active")],
                   [(40, "Migraine, unspecified, not intractable, without status"), (420, "Resolved")],
                   [(40, "migrainosus")]])
    pain = [d for d in found if d.category is Category.MIGRAINE]
    assert pain and all(d.assertion is not Assertion.AFFIRMED for d in pain)
    # The same words in one run of text (no column apart) are no status cell.
    prose = _rows([[(40, "Assessment: Migraine, unspecified, not intractable. Resolved to start propranolol.")]])
    assert any(d.category is Category.MIGRAINE and d.assertion is Assertion.AFFIRMED for d in prose)


def test_when_a_row_has_an_active_status_cell_then_the_diagnosis_stays_affirmed() -> None:
    found = _find("Problem List\n| Migraine without aura | G43.009 | Active\n| Occipital neuralgia | M54.81 | Resolved")
    by_code = {d.icd10: d.assertion for d in found}
    assert by_code.get("G43.009") is Assertion.AFFIRMED and by_code.get("M54.81") is Assertion.HISTORICAL


# Regression (fresh varied seeds 4800-5399, a scanned superbill wrongly complete): "Notes: Family history: Mother:
# Complex regional pain syndrome | of left lower limb; Brother:⏎Chronic low back pain." — the brother's diagnosis
# wrapped onto the next line, the line break ended ConText's sentence, and it was read as the patient's.
def test_when_a_relatives_label_ends_the_line_above_then_the_diagnosis_under_it_is_family() -> None:
    text = ("Notes: Family history: Mother: Complex regional pain syndrome | of left lower limb; Brother:\n"
            "Chronic low back pain.\nReferred by: Dr. Hervé Desrosiers")
    assert _one(text, "low back pain").assertion is Assertion.FAMILY


@pytest.mark.parametrize("text", [
    "Seen today.\nChronic low back pain.",                # no label above
    "Emergency contact: Brother\nChronic low back pain.",  # a relative, but no label ending the line
    "Brother: healthy.\nChronic low back pain.",           # the relative's value is on its own line
    "Assessment:\nChronic low back pain.",                 # a label, not a relative's
])
def test_when_the_line_above_is_not_a_relatives_label_then_the_diagnosis_is_the_patients(text: str) -> None:
    assert _one(text, "low back pain").assertion is Assertion.AFFIRMED


# Regression (fresh varied seeds 6000-6599, a scanned consult letter wrongly complete): "Impression: … Complex
# regional pain⏎syndrome | of left upper limb (resolved)." — the diagnosis wrapped onto the next line, and the
# "(resolved)" cue's scope, which counts the line break as a token, reached the wrapped words but not the mention.
def test_when_a_diagnosis_wraps_onto_the_next_line_then_a_cue_after_the_wrapped_words_still_applies() -> None:
    text = ("Impression: Obesity; Type 2 diabetes; Complex regional pain\n"
            "syndrome | of left upper limb (resolved).\nPlan: Return to clinic in 4-6 weeks.")
    assert _one(text, "Complex regional pain").assertion is Assertion.HISTORICAL


@pytest.mark.parametrize("text", [
    "Impression: Complex regional pain\nsyndrome | of left upper limb.\nHistory of migraine, resolved.",  # next line
    "Impression: Complex regional pain\nSyndrome, worsening. Migraine resolved.",  # a new sentence, not a wrap
    "Impression: Complex regional pain syndrome of the left arm\nand hand; asthma, resolved in childhood.",
])
def test_when_the_cue_speaks_of_another_line_or_phrase_then_the_wrapped_diagnosis_stays_affirmed(text: str) -> None:
    assert _one(text, "Complex regional pain").assertion is Assertion.AFFIRMED


# Regression (fresh varied seeds 6000-6599, train_6547, a superbill photo): the line above the assessment ended with a
# colon of OCR noise ("$303.00 … :"), and a family cue further DOWN the page ("Caregiver: Lihua Xu (wife)") was taken
# for that line's relative's label, so the patient's CRPS was read as family history.
def test_when_a_family_cue_comes_after_the_diagnosis_then_a_colon_ending_the_line_above_makes_no_relatives_label(
) -> None:
    text = ("Total Charges Copay Amount Due Balance\n$303.00 ee : : $0.00 : eee $303.00 :\n"
            "Notes: Assessment: CRPS type 1, right upper extremity, ongoing.\nCaregiver: Lihua Xu (wife)")
    assert _one(text, "CRPS type 1").assertion is Assertion.AFFIRMED


# Regressions (fresh varied seeds 6600-7199, train_7088 and train_7105: a photo of a letter and a faxed letter, both
# wrongly complete): the diagnosis ended the impression's line, and its status in brackets opened the next line, after
# the code or with it — a new sentence, which ConText's "resolved" could not reach across.
@pytest.mark.parametrize("text", [
    "Impression: Hypothyroidism, unspecified (E03.9); Nicotine dependence, cigarettes, uncomplicated\n(F17.210); "
    "Type 2 diabetes (E11.9); Type 2 diabetes mellitus with diabetic polyneuropathy (E11.42)\n(resolved).\n"
    "Plan: Return to clinic in 4-6 weeks.",
    "Impression: Type 2 diabetes (E11.9); Reflex sympathetic dystrophy of right lower limb\n(690.521) (resolved).\n"
    "Plan: Return to clinic in 4 6 weeks.",
])
def test_when_a_bracketed_status_opens_the_line_after_a_diagnosis_that_ends_its_line_then_it_applies(
        text: str) -> None:
    found = _find(text, 0.9)
    pain = [d for d in found if d.category.is_pain]
    assert pain and all(d.assertion is Assertion.HISTORICAL for d in pain)


@pytest.mark.parametrize("text", [
    # the status belongs to the next line's own item
    "Impression: Diabetic polyneuropathy (E11.42)\n(resolved) asthma is listed for the record.",
    # prose goes on after the diagnosis on its line: the bracket below is not its status
    "Assessment: Diabetic polyneuropathy is stable today, and we reviewed the labs and the plan with her in detail\n"
    "(resolved).",
])
def test_when_the_bracketed_status_below_is_not_the_diagnosis_own_then_it_stays_affirmed(text: str) -> None:
    found = _find(text, 0.9)
    assert any(d.category.is_pain and d.assertion is Assertion.AFFIRMED for d in found)


# Regression (fresh varied seeds 7200-7499, train_7309, a faxed letter wrongly complete, scored blind):
# "Radiculopathy,⏎lumbar region (resolved)." — a comma after the diagnosis at its line's end stopped the wrapped
# words from counting.
def test_when_a_comma_follows_the_diagnosis_at_its_line_end_then_the_wrapped_words_cue_still_applies() -> None:
    text = ("Impression: Hypertension; Other long term (current) drug therapy; Hyperlipidemia, unspecified; "
            "Radiculopathy,\nlumbar region (resolved).\nPlan: Return to clinic in 4-6 weeks.")
    assert _one(text, "Radiculopathy").assertion is Assertion.HISTORICAL


# Regression (fresh varied seeds 7500-8099, train_8079, a photo of a letter wrongly complete, scored blind): the
# diagnosis wrapped onto the next line and left its code and its status there, "Complex regional pain syndrome | of
# right upper⏎limb (G90.511) (resolved)." — the code was read as resolved, the term above it as affirmed.
def test_when_a_wrapped_diagnosis_leaves_its_code_and_status_on_the_next_line_then_the_term_takes_the_status() -> None:
    text = ("Impression: Obesity (E66.9); Type 2 diabetes (E11.9); Complex regional pain syndrome | of right upper\n"
            "limb (G90.511) (resolved).\nPlan: Return to clinic in 4-6 weeks.")
    pain = [d for d in _find(text, 0.9) if d.category.is_pain]
    assert pain and all(d.assertion is Assertion.HISTORICAL for d in pain)


# Regression (fresh varied seeds 8700-9299, train_8872, a portal screenshot wrongly complete, scored blind): a
# parenthesised qualifier wrapped between the term and its code's status, "Painful diabetic polyneuropathy (type 2⏎DM)⏎
# E11.42 Resolved".
def test_when_a_wrapped_qualifier_stands_between_a_term_and_its_resolved_code_then_the_term_takes_the_status() -> None:
    text = ("Conditions\nAsthma\nJ45.909\nPainful diabetic polyneuropathy (type 2\nDM)\nE11.42 Resolved\n"
            "Notes from your visit\nPresents for medication review; no new complaints.")
    pain = [d for d in _find(text, 0.9) if d.category.is_pain]
    assert pain and all(d.assertion is Assertion.HISTORICAL for d in pain), [(d.text, d.assertion) for d in pain]


@pytest.mark.parametrize("text", [
    # a code and status of a later sentence
    "Impression: Complex regional pain syndrome of right upper limb. Left side, seen in 2019\n(G90.512) (resolved).",
    # another category's code with a status
    "Impression: Complex regional pain syndrome of right upper\nlimb, migraine (G43.909) (resolved).",
])
def test_when_the_resolved_code_is_not_the_terms_own_then_the_term_stays_affirmed(text: str) -> None:
    found = _find(text, 0.9)
    assert any(d.text.startswith("Complex regional") and d.assertion is Assertion.AFFIRMED for d in found)
