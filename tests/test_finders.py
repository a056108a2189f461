"""extractors.finders: the finders over one parse, and the patient verified against the intake name."""

from __future__ import annotations

import pytest
from fakes import linear_text, person

from extractors.finders import find_all, second_opinion, verified_patient
from extractors.people.surname_only import surname_only_physician
from extractors.role_model import RankedChoice
from pipeline.evaluate import Intake, evaluate
from pipeline.names import default_name_rules
from pipeline.policy import load_policy
from pipeline.types import (
    Category,
    Choice,
    Document,
    MediaType,
    Payer,
    PersonMention,
    Role,
    Source,
    Status,
    page_from_lines,
)


def _doc(*lines: str) -> Document:
    page = page_from_lines(1, list(lines), source=Source.OCR, reason="test")
    return Document(sha256="0" * 64, media_type=MediaType.PNG, size_bytes=1, pages=(page,))


PORTAL = ("MO Maria Okafor ▾", "Visit Summary", "Diagnoses", "Fibromyalgia M79.7",
          "Care team", "Chiamaka Adeyemi, MD", "Pain Medicine")


@pytest.mark.parametrize(("lines", "intake", "patient", "ambiguous"), [
    (PORTAL, "maria okafor", "Maria Okafor", False),
    (("After Visit Summary", "PATIENT: DUBOIS JR, RENÉ A", "DOB: 03/04/1961", "Assessment: Migraine G43.909"),
     "Rene Dubois", "René A Dubois", False),
    (("Visit Summary", "Emergency contact: Maria Okafor (sister)", "Assessment: Fibromyalgia"),
     "Maria Okafor", None, False),
], ids=["portal-header", "caps-suffix-before-comma", "intake-only-as-emergency-contact"])
def test_when_an_intake_name_is_given_then_the_patient_is_the_intake_person_only_in_a_patient_position(
        lines: tuple[str, ...], intake: str, patient: str | None, ambiguous: bool) -> None:
    findings = find_all(_doc(*lines), load_policy(), ner_model=None, intake_name=intake)
    chosen = findings.patient.person
    if patient is None:
        assert chosen is None
    else:
        assert chosen is not None and set(patient.split()) <= set(chosen.normalized.split())
    assert findings.patient.ambiguous is ambiguous
    if chosen is not None:
        assert chosen.evidence and chosen.evidence[0].page == 1 and chosen.evidence[0].bbox is not None


def test_when_no_intake_name_is_given_then_open_extraction_alone_decides() -> None:
    with_intake = find_all(_doc(*PORTAL), load_policy(), ner_model=None, intake_name="Maria Okafor")
    without = find_all(_doc(*PORTAL), load_policy(), ner_model=None)
    assert with_intake.patient.person is not None
    assert without.patient.person is None or without.patient.person.normalized == "Maria Okafor"


def test_when_another_labelled_patient_is_in_the_upload_then_the_verified_patient_is_ambiguous() -> None:
    lines = ("RE: Ana K. Lindqvist DOB 3/4/1961", "Assessment: Migraine", "", "Patient: John Smith", "DOB: 1/1/1950")
    findings = find_all(_doc(*lines), load_policy(), ner_model=None, intake_name="Ana Lindqvist")
    assert findings.patient.person is not None and "Lindqvist" in findings.patient.person.normalized
    assert findings.patient.ambiguous


def test_when_only_the_intake_surname_is_printed_then_the_patient_is_absent_but_doubtful() -> None:
    findings = find_all(_doc("Visit Summary", "Ms. Okafor was seen today.", "Assessment: Fibromyalgia"),
                        load_policy(), ner_model=None, intake_name="Maria Okafor")
    assert findings.patient.person is None and findings.patient.ambiguous
    assert "surname" in findings.patient.reason


@pytest.mark.parametrize(("lines", "doubtful"), [
    (("Patient: Maria Okafor", "Seen today by Dr. Ferreira in clinic.", "Assessment: Fibromyalgia"), True),
    (("Patient: Maria Okafor", "Sincerely,", "Dr. Ferreira", "Assessment: Fibromyalgia"), True),
    (("Patient: Maria Okafor", "Dear Dr. Ferreira,", "Assessment: Fibromyalgia"), False),
    (("Patient: Maria Okafor", "cc: Dr. Ferreira", "Assessment: Fibromyalgia"), False),
    (("Patient: Maria Okafor", "Referred by Dr. Ferreira", "Assessment: Fibromyalgia"), False),
], ids=["in-running-text", "signature", "addressee", "copy", "referrer"])
def test_when_a_physician_is_named_by_surname_only_then_the_surname_is_reported_as_doubtful_unless_someone_else(
        lines: tuple[str, ...], doubtful: bool) -> None:
    findings = find_all(_doc(*lines), load_policy(), ner_model=None)
    assert findings.physician.ambiguous is doubtful
    if doubtful:
        assert findings.physician.person is not None and findings.physician.person.normalized == "Ferreira"
        assert findings.physician.doubt is not None and "surname only" in findings.physician.doubt
        assert findings.physician.person.evidence[0].snippet == "Dr. Ferreira"
    else:
        assert findings.physician.person is None


def test_regression_a_titled_full_name_is_not_cut_into_a_surname_only_physician() -> None:
    # "Dr. Itzel Ortega" matched the surname pattern as "Dr. Itze" (the regex backed off one letter to dodge the
    # given-name check), and "Itze" was reported as the physician.
    findings = find_all(_doc("Patient: Maria Okafor", "Message from Dr. Itzel Ortega about your refill"), load_policy(),
                        ner_model=None)
    assert findings.physician.person is None or findings.physician.person.normalized != "Itze"
    assert surname_only_physician(linear_text("Message from Dr. Itzel Ortega"), default_name_rules()) is None


@pytest.mark.parametrize(("line", "surname"), [
    ("Seen today by Dr. Østergaard in clinic.", "Østergaard"),  # regression: [A-Z] missed a capital Ø
    ("Sincerely, Dr. Łukasiewicz", "Łukasiewicz"),
    ("Seen today by Dr. Østergaard Åsa in clinic.", None),  # a capitalised word after it: a given name, surname first
    ("seen by dr. jones today", None),  # no capital: no name
    ("Treating physician Dr. lyer Pain Medicine", "Iyer"),  # a specialty after it is no given name
    ("Treating physician Dr. Iyer Anand", None),  # a given name after it: surname first, not surname only
    ("Seen by Dr. lyer today", "Iyer"),  # regression: OCR's l for the capital I
    # regression (train_141): a particle surname, and the next cell's label is no given name
    ("Attending: Dr. von Bülow Specialty: Headache Medicine", "von Bülow"),
    ("Seen by Dr. de la Vega today", "de la Vega"),
    ("Seen by Dr. von Anna Bülow", None),
    # regression (fresh seeds 5400-5999: a letter and a referral form, both without a treating physician, went to
    # review): a given name, then a surname that opens with particles, was read as the surname "Wolfgang"
    ("Dr. Wolfgang van der Linden", None),
    ("Dr. Brigitte de la Croix Dr. Ebony R. Jefferson", None),
    ("Seen by Dr. van der Linden today", "van der Linden"),
    # regression (fresh seeds 6000-6599, train_6147): a patronymic-looking surname took the next cell's specialty
    # word as its second surname ("Ferreira Physical")
    ("Dr. Ferreira Physical Medicine and Rehabilitation / Pain", "Ferreira"),
    ("Dr. Núñez Echeverría", "Núñez Echeverría"),
])
def test_when_a_surname_only_physician_is_spelled_with_letters_outside_ascii_then_it_is_found(
        line: str, surname: str | None) -> None:
    found = surname_only_physician(linear_text(line), default_name_rules())
    assert (found.surname if found else None) == surname


def _ranked(person: PersonMention | None, p: float) -> RankedChoice:
    return RankedChoice(person, p, "ranker reason", 0.0)


def test_when_the_ranker_picks_someone_else_or_nobody_then_the_rules_choice_is_doubtful() -> None:
    doctor = person("Jane Doe", Role.TREATING_PHYSICIAN, 0.9)
    other = person("John Roe", Role.REFERRING_PHYSICIAN, 0.9)
    for ranked in (_ranked(other, 0.8), _ranked(None, 0.2)):
        choice = second_opinion(Choice(doctor, "rules", False), ranked)
        assert choice.person == doctor and choice.ambiguous and "disagrees" in choice.reason


def test_when_the_ranker_finds_no_one_and_the_rules_only_fell_back_on_an_unlabelled_clinician_then_none_is_shown(
) -> None:
    # 8 incomplete documents of the fresh train seeds 2400-2999 and dev_101 went to review instead: a PCP in a
    # letter's inside address, a titled name in prose, chosen by the rules' fallback at 0.17-0.35 and rejected by the
    # ranker. None of the 12 such documents of 720 showed that clinician as treating.
    fallback = person("Jane Doe", Role.OTHER_CLINICIAN, 0.35)
    choice = second_opinion(Choice(fallback, "rules", True), _ranked(None, 0.22))
    assert choice.person is None and not choice.ambiguous
    assert "fallback" in choice.reason and "ranker reason" in choice.reason
    # The ranker preferring someone else keeps the fallback, in doubt.
    other = person("John Roe", Role.OTHER_CLINICIAN, 0.3)
    kept = second_opinion(Choice(fallback, "rules", False), _ranked(other, 0.7))
    assert kept.person == fallback and kept.ambiguous


def test_when_the_ranker_confirms_an_unlabelled_clinician_then_its_probability_is_the_confidence() -> None:
    fallback = person("Jane Doe", Role.OTHER_CLINICIAN, 0.35)
    choice = second_opinion(Choice(fallback, "rules", False), _ranked(fallback, 0.82))
    assert choice.person is not None and choice.person.confidence == 0.82 and not choice.ambiguous
    assert choice.person.evidence[0].adjustments[-1].delta == pytest.approx(0.47)
    assert "confirms" in choice.reason


def test_when_the_ranker_agrees_with_a_labelled_physician_then_nothing_changes() -> None:
    doctor = person("Jane Doe", Role.TREATING_PHYSICIAN, 0.7)
    assert second_opinion(Choice(doctor, "rules", False), _ranked(doctor, 0.95)) == Choice(doctor, "rules", False)


def test_when_the_intake_patient_is_found_but_another_page_labels_a_different_patient_then_it_is_ambiguous() -> None:
    # regression (varied dev split): a two-page scan, William Brantley on page 1 and "Name: Graça da Silva" on page 2,
    # came back complete (OCR read "Graça" as "Gra¢a", which the people finder does not take for a name)
    first = page_from_lines(1, ["Statement of Services", "Name: William Brantley", "DOB: 1/2/1960",
                                "Assessment: Fibromyalgia"], source=Source.OCR, reason="test")
    second = page_from_lines(2, ["Statement of Services", "Name: Gra¢a da Silva", "DOB: 5/13/1981"],
                             source=Source.OCR, reason="test")
    document = Document(sha256="0" * 64, media_type=MediaType.PDF, size_bytes=1, pages=(first, second))
    findings = find_all(document, load_policy(), ner_model=None, intake_name="WILLIAM BRANTLEY")
    assert findings.patient.person is not None and findings.patient.person.normalized == "William Brantley"
    assert findings.patient.ambiguous and "page 2" in findings.patient.reason


def test_regression_the_intake_surname_in_the_account_header_with_another_first_name_needs_review_not_no_patient(
) -> None:
    # fresh seeds 2400-2999, train_2505: OCR read "Dieter" as "Dicèer" (two edits) in the account header, and the
    # document came back incomplete ("no patient name found") though it names the patient where a portal does
    document = _doc("9:43", "DD Dicèer van den Berg v_ Healthtarbor", "Health Summary", "Provider: Jane Doe, MD",
                    "Assessment: Fibromyalgia")
    # The search's own verdict, for when the open extraction misses the header (it reads this one since
    # session 15's marker variants, and the intake check then fails on the first name: review either way)
    chosen, _ = verified_patient(document, "DIETER VAN DEN BERG", Choice(None, "no patient label"), ())
    assert chosen.person is None and chosen.ambiguous
    assert "another first name" in chosen.reason
    findings = find_all(document, load_policy(), ner_model=None, intake_name="DIETER VAN DEN BERG")
    report = evaluate(document, findings, Intake("DIETER VAN DEN BERG", Payer.COMMERCIAL), load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    # The surname with another first name outside a patient position is no such hint.
    elsewhere = find_all(_doc("Visit Summary", "Assessment: Fibromyalgia", "Emergency contact: Anna van den Berg",
                              "(sister)"), load_policy(), ner_model=None, intake_name="Dieter van den Berg")
    assert "another first name" not in elsewhere.patient.reason


def test_regression_an_intake_naming_a_relative_who_shares_the_patients_middle_name_is_review_not_complete() -> None:
    # fresh seeds 3600-4799, train_3997 (a letter, wrongly complete): intake "Omar Abu-Zeid" (the son), the letter
    # about "Karim Omar Abu-Zeid"; the intake matched the patient's middle name and surname
    letter = ["7/20/2023", "RE: Karim Omar Abu-Zeid DOB 4/10/1996", "Dear Dr. Yoon,",
              "Assessment: Right-sided sciatica, ongoing.", "Emergency contact on file: Omar Abu-Zeid (son).",
              "Sincerely,", "Inès Beaumont, MD"]
    intake = Intake("Omar Abu-Zeid", Payer.COMMERCIAL)
    findings = find_all(_doc(*letter), load_policy(), ner_model=None, intake_name=intake.patient_name)
    assert findings.patient.person is not None and findings.patient.person.normalized == "Karim Omar Abu-Zeid"
    report = evaluate(_doc(*letter), findings, intake, load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW
    assert any("may name a relative" in r for r in report.reasons)
    assert "several different patient names in one document" not in report.reasons
    # Printed nowhere apart, the intake may still name a relative who has the patient's middle name as given name
    # (fresh seeds 6600-7199, train_6763, wrongly complete): review, with the reason, though the patient is named.
    alone = [line for line in letter if "Emergency contact" not in line]
    findings = find_all(_doc(*alone), load_policy(), ner_model=None, intake_name=intake.patient_name)
    report = evaluate(_doc(*alone), findings, intake, load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW and report.fields.patient_name.value == "Karim Omar Abu-Zeid"
    assert any("goes by the middle name" in r for r in report.reasons)
    # dev_036: "LIU R Zhiwei" parsed with "R" as the given name; the intake's hit is the patient's own label
    label = ["Patient: LIU R Zhiwei DOB: 11/22/1963", "Assessment: Migraine, ongoing.", "Provider: Jane Doe, MD",
             "Family present: Wei Liu (partner)"]
    own = Intake("Zhiwei R Liu", Payer.COMMERCIAL)
    findings = find_all(_doc(*label), load_policy(), ner_model=None, intake_name=own.patient_name)
    assert evaluate(_doc(*label), findings, own, load_policy(), {}).status is Status.COMPLETE


@pytest.mark.parametrize(("printed", "intake", "reported"), [
    ("Patient: José Echeverria Nufez", "josé echeverría núñez", "José Echeverría Núñez"),  # OCR lost the tildes
    ("Patient: Katrin WeiSmann", "Katrin Weißmann", "Katrin Weißmann"),
    # regression (fresh seeds 2400-2999, train_2482, train_2730): "ß" read as "f&" or "&", no name to normalize
    ("Patient: Maarten Weif&mann", "maarten weißmann", "Maarten Weißmann"),
    ("Patient: Stefan Wei&mann", "Stefan Weißmann", "Stefan Weißmann"),
    ("Patient: DAHL, Bigrn", "BJØRN DAHL", "Bjørn Dahl"),  # dev_027: "ø" read "g" on a fax, an OCR confusion
    ("Patient: HAKON OSTERGAARD", "Håkon Østergaard", "Håkon Østergaard"),
    ("Patient: William Thompson", "Bill Thompson", "William Thompson"),  # a nickname is what the document says
    # a middle name the intake leaves out stays as printed; the intake's words take its spelling
    ("Patient: Sanne Liesbeth Schroder", "Sanne Schröder", "Sanne Liesbeth Schröder"),
    # regressions (fresh seeds 6000-6599): a middle initial misread as a glyph, a hyphen lost, a glyph glued before
    ("Patient: Chiamaka |, Balogun", "Chiamaka Balogun", "Chiamaka I Balogun"),
    ("Patient: Ikechukwu 1B. Balogun Dubois", "ikechukwu balogun-dubois", "Ikechukwu B Balogun-Dubois"),
    ("Patient: Bridgel Deirdre O'Brien", "Bridget O'Brien", "Bridget Deirdre O'Brien"),
    ("Patient: Venkatesh lyer", "Venkatesh Iyer", "Venkatesh Iyer"),  # the capital I read as a lower-case l
    # regressions (fresh seeds 8700-9299): an intake word not printed no longer keeps the printed words' misreadings
    # (train_8840: "Ngoc Vuyv", the caret glued; train_9096: a nickname at intake); a hyphen lost on a surname one of
    # whose halves alone is within the edit bound (train_9107); a middle initial is not half of a hyphenated surname
    ("Patient: Ngoc Vuyv", "Ngoc Thi Vu", "Ngoc Vu"),
    ("Patient: Oluwaseun Nwosuv", "Seun Nwosu", "Oluwaseun Nwosu"),
    ("Patient: Pranav Krishnamurthy Sfo", "Krishnamurthy-Seo, Pranav", "Pranav Krishnamurthy-Seo"),
    ("Patient: Khalid A Al-Sayed", "Al-Sayed, Khalid", "Khalid A Al-Sayed"),
    ("Patient: DUBOIS JR, RENÉ A", "Rene Dubois", "René A Dubois Jr"),  # accents the intake left out stay
])
def test_when_the_intake_person_is_verified_then_reading_errors_are_reported_in_the_intake_spelling(
        printed: str, intake: str, reported: str) -> None:
    findings = find_all(_doc(printed, "Assessment: Fibromyalgia"), load_policy(), ner_model=None, intake_name=intake)
    assert findings.patient.person is not None
    assert findings.patient.person.normalized == reported
    assert findings.patient.person.value.endswith(printed.split(": ")[1].split()[-1])  # the printed form is kept


def test_when_a_portal_header_caret_is_read_as_a_letter_then_the_intake_person_is_still_the_patient() -> None:
    doc = _doc("JX Jian Xuv MyCarePath", "Care Team", "Assessment: Other chronic pain")
    findings = find_all(doc, load_policy(), ner_model=None, intake_name="JIAN XU")
    assert findings.patient.person is not None and findings.patient.person.normalized == "Jian Xu"


def test_regression_a_labelled_patient_who_is_not_the_intake_person_is_reported_so_the_names_differ() -> None:
    # Varied train split: the open extraction missed "Patient: JEFFERSON III, DESHAWN C" (suffix before the comma)
    # and the report said "no patient name found" (incomplete) for another person's record, which needs review.
    from pipeline.evaluate import NAME_DIFFERS, Intake, evaluate

    doc = _doc("Progress note", "Patient: JEFFERSON III, DESHAWN C DOB: Jan 6, 1969",
               "Emergency contact: Imani Jefferson (Sister)", "Assessment: Fibromyalgia M79.7",
               "Electronically signed by Jerome Beaumont, MD")
    findings = find_all(doc, load_policy(), ner_model=None, intake_name="Liesbeth Schröder-Liu")
    person = findings.patient.person
    assert person is not None and person.normalized == "Deshawn C Jefferson III"
    # found by the patient label itself since a suffix or a second surname before the comma keeps the name whole
    assert person.evidence[0].rule in ("other_patient", "patient_label")
    assert "JEFFERSON III, DESHAWN C" in person.evidence[0].snippet
    report = evaluate(doc, findings, Intake("Liesbeth Schröder-Liu"), load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW and NAME_DIFFERS in report.reasons


@pytest.mark.parametrize(("printed", "intake", "reported"), [
    ("RE: BJØRNSTAD, @YSTEIN DOB: Jul 9, 1941", "Øystein Bjørnstad", "Øystein Bjørnstad"),  # "@" read for "Ø"
    ("Name: Miroslav £.. Procházka DOB: March 13, 1993", "Procházka, Miroslav", "Miroslav Ł Procházka"),
    ("RE: Østergaard, Håkon Søren DOB 11/16/1938", "HÅKON ØSTERGAARD", "Håkon Søren Østergaard"),
], ids=["at-sign-for-o-slash", "pound-sign-for-l-stroke-initial", "middle-name-after-last-first"])
def test_regression_the_verified_patient_is_reported_without_ocr_debris_and_with_the_printed_middle_name(
        printed: str, intake: str, reported: str) -> None:
    findings = find_all(_doc("Progress note", printed, "Assessment: Fibromyalgia"), load_policy(), ner_model=None,
                        intake_name=intake)
    assert findings.patient.person is not None and findings.patient.person.normalized == reported


def test_when_the_chosen_patient_is_read_with_low_ocr_confidence_but_matches_the_intake_then_it_is_confident() -> None:
    page = page_from_lines(1, ["Progress note", "Patient: Maria Okafor", "Assessment: Fibromyalgia"],
                           source=Source.OCR, reason="test", confidence=0.3)
    doc = Document(sha256="0" * 64, media_type=MediaType.PNG, size_bytes=1, pages=(page,))
    without = find_all(doc, load_policy(), ner_model=None).patient.person
    verified = find_all(doc, load_policy(), ner_model=None, intake_name="Maria Okafor").patient.person
    assert without is not None and without.confidence < 0.5  # the rules carry tesseract's doubt ...
    assert verified is not None and verified.confidence >= 0.9  # ... which the intake's own spelling answers
    assert "patient position" in verified.evidence[0].adjustments[-1].reason


def test_regression_a_particle_surname_beside_the_next_fields_label_is_a_surname_only_physician() -> None:
    # train_141 was wrongly complete: spaCy read "Dr. von Bülow Specialty" as a full name ("von" the given name,
    # the next cell's label "Specialty:" the surname), so a physician named by surname only passed as a full name.
    findings = find_all(_doc("Patient name: Bjørn H. Dahl", "Attending: Dr. von Bülow Specialty: Headache Medicine",
                             "Assessment: Chronic migraine without aura"), load_policy(), ner_model=None)
    physician = findings.physician
    assert physician.ambiguous and physician.doubt is not None and "surname only" in physician.doubt
    assert physician.person is not None and physician.person.normalized == "von Bülow"


def test_regression_a_role_printed_after_a_titled_name_is_its_role_not_part_of_the_name() -> None:
    # train_159: spaCy read "Dr. Yusuf Haddad Primary" as one name, the fallback chose him as the treating physician
    # (needs review); the document names only the patient's primary care provider.
    findings = find_all(_doc("Patient: Maria Okafor", "Your care team", "Dr. Yusuf Haddad Primary care provider",
                             "Assessment: Fibromyalgia"), load_policy(), ner_model=None)
    named = {p.normalized: p.role for p in findings.people}
    assert named.get("Yusuf Haddad") is Role.PCP
    assert not any("Primary" in n for n in named)
    assert findings.physician.person is None


def test_regression_a_section_heading_under_a_surname_only_physician_is_not_joined_to_the_name() -> None:
    # train_160: "Attending: Dr. Vu" wrapped onto the next line read "Vu Subjective" as a full name.
    findings = find_all(_doc("Patient: Omar el-Khoury", "Attending: Dr. Vu", "Subjective",
                             "Right foot pain since the fracture; CRPS type I."), load_policy(), ner_model=None)
    assert findings.physician.person is not None and findings.physician.person.normalized == "Vu"
    assert findings.physician.ambiguous


@pytest.mark.parametrize("footer", ["St. Mary's Medical Center | Confidential Page 1",
                                    "Lakeside Comprehensive Pain Center",
                                    # train_660, 691, 829, 873, 890 (train seeds 600-1199, wrongly complete): the next
                                    # field's label word joined to the surname ("Lin Printed", "Dvořák Reason")
                                    "Printed by: Søren Åberg, MA", "Reason for visit: CRPS follow-up"])
def test_regression_a_surname_only_signature_is_not_joined_to_the_clinic_footer_below_it(footer: str) -> None:
    # train_419, train_505 (fresh train seeds, wrongly complete): "Dr. Beaumont" and the footer's "St. Mary's" were
    # joined into one full name, so the surname-only physician no longer asked for review
    findings = find_all(_doc("Name: TRAN Van Long", "Assessment: Fibromyalgia M79.7",
                             "Provider signature: Dr. Beaumont", footer), load_policy(), ner_model=None)
    assert findings.physician.person is not None and findings.physician.person.normalized == "Beaumont"
    assert findings.physician.doubt is not None and "surname only" in findings.physician.doubt


@pytest.mark.parametrize(("lines", "surnames"), [
    # train_726 (train seeds 600-1199, wrongly complete): "Dr. Núñez Echeverría" read as given name Núñez
    (["Your visit", "Dr. Núñez Echeverría", "Pain Medicine"], "Núñez Echeverría"),
    # fresh seeds 3000-3599 (train_3298) and 2400-2999 (train_2537), wrongly complete: a common surname that is no
    # given name (name rules' surnames_not_given) first
    (["Rendering provider: Dr. García Zúñiga NPI: 1449034652", "Provider signature: Dr. García Zúñiga"],
     "García Zúñiga"),
    (["Your visit", "Dr. Echeverría Villaseñor", "Pain Medicine"], "Echeverría Villaseñor"),
], ids=["patronymic", "common-surname-labelled", "common-surname-visit-card"])
def test_regression_a_title_and_two_surnames_is_a_surname_only_physician(lines: list[str], surnames: str) -> None:
    findings = find_all(_doc("Patient: Elizabeth Brantley", *lines, "Assessment: Fibromyalgia M79.7"), load_policy(),
                        ner_model=None)
    assert findings.physician.person is not None and findings.physician.person.normalized == surnames
    assert findings.physician.doubt is not None and "surname only" in findings.physician.doubt


@pytest.mark.parametrize("name", ["Dr. Santiago Ortega", "Dr. Itzel Montoya", "Dr. Cruz Zúñiga"])
def test_when_a_titled_name_opens_with_a_given_name_that_is_also_a_surname_then_it_is_a_full_name(name: str) -> None:
    findings = find_all(_doc("Patient: Elizabeth Brantley", f"Attending: {name}", "Assessment: Fibromyalgia M79.7"),
                        load_policy(), ner_model=None)
    assert findings.physician.person is not None and findings.physician.doubt is None
    assert findings.physician.person.normalized == name.removeprefix("Dr. ")


def test_when_a_titled_name_has_a_given_name_then_it_is_not_taken_for_two_surnames() -> None:
    findings = find_all(_doc("Patient: Elizabeth Brantley", "Attending: Dr. Inés López",
                             "Assessment: Fibromyalgia M79.7"), load_policy(), ner_model=None)
    assert findings.physician.person is not None and findings.physician.person.normalized == "Inés López"
    assert findings.physician.doubt is None


def test_regression_a_surname_only_signer_is_reported_instead_of_a_rejected_unlabelled_clinician() -> None:
    # train_1429 (train seeds 1200-1799): the rules fell back on a referrer named in running text, the ranker rejected
    # it, and the letter's "Sincerely, Dr. Eze" was never reported
    findings = find_all(_doc("RE: Yan Xu DOB 1/2/1960", "Assessment: Fibromyalgia M79.7",
                             "I spoke with Dr. Holly Winslow about the plan.", "Sincerely,", "Dr. Eze"),
                        load_policy(), ner_model=None)
    assert findings.physician.person is not None and findings.physician.person.normalized == "Eze"
    assert findings.physician.doubt is not None and "surname only" in findings.physician.doubt


def test_when_a_provider_cards_surname_wraps_under_dr_and_the_given_name_then_that_card_is_not_a_surname_only_doubt(
) -> None:
    # Regression (fresh seeds 7500-8099, train_7787): "Dr. Sanjay⏎Bhattacharya" on a provider card; once the ranker
    # confirms the card's clinician, the line "Dr. Sanjay" alone is the same person, not a second, surname-only one
    findings = find_all(_doc("MyCarePath JR Jamal Rucker v", "Care Team", "Dr. Sanjay", "Bhattacharya",
                             "Pain Medicine", "Lakeside Pain Center", "Phone (555) 011-2233", "Message Schedule",
                             "Diagnoses", "Chronic migraine without aura G43.709"),
                        load_policy(), ner_model=None)
    assert findings.physician.person is not None
    assert findings.physician.person.normalized == "Sanjay Bhattacharya"
    assert findings.physician.doubt is None


def test_regression_a_given_name_before_an_ocr_lowered_surname_is_not_a_surname_only_physician() -> None:
    # Varied train_2166: "Dr. Ananya lyer" (OCR's l for the I of Iyer) was reported as the surname-only "Dr. Ananya"
    assert surname_only_physician(linear_text("Dr. Ananya lyer\nPrimary care provider"), default_name_rules()) is None


def test_regression_a_surname_opening_with_a_lowercase_particle_is_a_surname_only_physician() -> None:
    # Varied train_2222: "Dr. el-Khoury" starts with a lowercase letter, so no surname-only physician was found and
    # the document was called incomplete instead of needing review
    found = surname_only_physician(linear_text("ED attending: Dr. el-Khoury Disposition: Discharged home"),
                                   default_name_rules())
    assert found is not None and found.surname == "el-Khoury"


def test_regression_a_patient_name_cut_at_its_line_end_is_not_a_second_patient() -> None:
    # Varied train_2195: "Patient name: Deborah Elizabeth⏎Haskett-Adeyemi DOB: …" — the intake search reads the label's
    # line alone, took "Deborah Elizabeth" for a different patient and sent the document to review
    findings = find_all(_doc("Statement of Services", "Patient name: Deborah Elizabeth",
                             "Haskett-Adeyemi DOB: March 30, 1956", "Rendering provider: Pieter von Bülow, MD"),
                        load_policy(), ner_model=None, intake_name="Deb Haskett-Adeyemi")
    assert findings.patient.person is not None
    assert findings.patient.person.normalized == "Deborah Elizabeth Haskett-Adeyemi"
    assert not findings.patient.ambiguous


def test_when_a_patient_label_names_someone_else_then_the_verified_patient_is_still_doubtful() -> None:
    findings = find_all(_doc("Patient name: Deborah Haskett-Adeyemi DOB: March 30, 1956", "Visit notes",
                             "Patient name: Rahul Subramanian DOB: 1/2/1960"),
                        load_policy(), ner_model=None, intake_name="Deborah Haskett-Adeyemi")
    assert findings.patient.ambiguous


def _pages(*pages: list[str]) -> Document:
    return Document(sha256="0" * 64, media_type=MediaType.PDF, size_bytes=1,
                    pages=tuple(page_from_lines(n, lines, source=Source.OCR, reason="test")
                                for n, lines in enumerate(pages, start=1)))


# Regression (fresh varied seeds 6000-6599: train_6223, train_6472, train_6524): two patients' records in one upload,
# and the pain diagnosis reported was the other patient's (sciatica on page 2 for the page-1 patient's low back pain).
def test_when_an_upload_holds_two_patients_records_then_the_pain_diagnosis_comes_from_the_chosen_patients_pages(
) -> None:
    doc = _pages(["Progress Note", "Patient name: Maria Okafor DOB: 3/4/1961", "Assessment: Low back pain, ongoing.",
                  "Electronically signed by Jane Doe, MD"],
                 ["Assessment (continued): stable."],
                 ["Progress Note", "Patient name: Thomas Colby DOB: 7/19/1978", "Assessment: Sciatica, right side.",
                  "Electronically signed by Jane Doe, MD"])
    intake = Intake("Maria Okafor", Payer.COMMERCIAL)
    findings = find_all(doc, load_policy(), ner_model=None, intake_name=intake.patient_name)
    assert findings.patient_pages == (1, 2)  # page 2 names no patient: it continues page 1's record
    report = evaluate(doc, findings, intake, load_policy(), {})
    assert report.status is Status.NEEDS_REVIEW  # two patients in one upload
    assert report.fields.pain_diagnosis.category is Category.OTHER_PAIN
    check = report.check("pain_diagnosis_affirmed")
    assert check is not None and "page 3, another patient's record, not counted" in check.detail
    # With one patient, every page counts.
    alone = _pages(["Patient name: Maria Okafor"], ["Assessment: Sciatica, right side."])
    assert find_all(alone, load_policy(), ner_model=None, intake_name=intake.patient_name).patient_pages is None


def test_when_an_upload_holds_two_patients_records_then_the_physician_is_the_one_on_the_chosen_patients_pages(
) -> None:
    # Issue #12 item 4: each field tied to the chosen patient's pages; the other record's physician is not theirs.
    doc = _pages(["Progress Note", "Patient name: Thomas Colby DOB: 7/19/1978", "Assessment: Sciatica, right side.",
                  "Electronically signed by Aisha Rahman, MD"],
                 ["Progress Note", "Patient name: Maria Okafor DOB: 3/4/1961", "Assessment: Low back pain, ongoing.",
                  "Electronically signed by Jane Doe, MD"])
    for intake_name, physician in (("Maria Okafor", "Jane Doe"), ("Thomas Colby", "Aisha Rahman")):
        findings = find_all(doc, load_policy(), ner_model=None, intake_name=intake_name)
        assert findings.physician.person is not None
        assert findings.physician.person.normalized == physician


def test_regression_a_given_name_after_dr_whose_surname_ocr_garbled_is_not_a_surname_only_physician() -> None:
    # Fresh seeds 10500-11099, train_10927: the care team's "Dr. Maja @stergaard" (Ø read as @) was found in full as
    # the primary care provider, yet "Dr. Maja" was also taken for a physician named by surname only and reported
    # instead of the card's pain physician
    findings = find_all(_doc("MG Marcus Gaines v MyCarePath", "Care Team", "Dr. Katherine Lindley", "Pain Medicine",
                             "Tri-County Regional Medical Center", "Health Issues",
                             "Type 2 diabetes mellitus with diabetic polyneuropathy E11.42", "Care Team",
                             "Dr. Maja @stergaard", "Primary care provider", "Ingrid Dahl, BSN, RN", "Nurse"),
                        load_policy(), ner_model=None)
    assert [p.normalized for p in findings.people if p.role is Role.PCP] == ["Maja Østergaard"]
    assert findings.physician.person is not None
    assert findings.physician.person.normalized == "Katherine Lindley" and findings.physician.doubt is None
