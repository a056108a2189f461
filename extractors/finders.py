"""Runs every finder over one shared parse of a document; the one interface the NLP finders share."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from extractors.ccda import apply_policy
from extractors.diagnosis import find_diagnoses
from extractors.intake_search import (
    GLUED_NAME,
    IntakeHit,
    IntakeSearch,
    Position,
    Verdict,
    default_intake_search_rules,
    misread_initial,
    ocr_form,
    search_intake_name,
)
from extractors.model_info import ner_model_tag
from extractors.ner_model import get_recognizer
from extractors.nlp import ParsedText, get_pipeline
from extractors.people import (
    SAME_PERSON_THRESHOLD,
    SurnameOnly,
    choose_patient,
    choose_treating_physician,
    find_people,
    surname_only_physician,
)
from extractors.role_model import RankedChoice, rank_treating_physician
from pipeline.names import default_name_rules, fold, match_intake, normalize_person_name, same_person
from pipeline.policy import Policy
from pipeline.types import (
    Adjustment,
    CheckResult,
    Choice,
    DiagnosisMention,
    Document,
    Evidence,
    Findings,
    LinearText,
    PersonMention,
    Role,
    linearize,
)


class Finder[M: (PersonMention, DiagnosisMention)](Protocol):
    """A finder: every mention of one kind in one parsed document, in text order."""

    def __call__(self, parsed: ParsedText, /) -> tuple[M, ...]:
        """The mentions found in `parsed`; raises ConfigError when the finder's rule files are invalid."""
        ...


class Chooser(Protocol):
    """A choice among the people found: who holds one role, why, and whether the choice is doubtful."""

    def __call__(self, people: Sequence[PersonMention], /) -> Choice:
        """The chosen person (or None) with the reason."""
        ...


def find_all(document: Document, policy: Policy, *, ner_model: str | None, intake_name: str | None = None) -> Findings:
    """Parse the document once and find the people (with the chosen patient and physician) and diagnoses.

    A coded document (C-CDA) arrives with its findings read from the XML: those are used, classified by `policy`,
    and no NLP runs. `ner_model`: the bundled model of the diagnosis finder's recall layer (`Settings.ner_model_name`),
    None for none. With `intake_name`, the document is also searched for that person the way a coordinator does
    (extractors/intake_search.py): when the open extraction found no patient, or one who is not the intake's person,
    and the intake's person stands in a patient position, that hit is the patient (docs/POLICY.md "Status rule").
    A long record is read in page windows instead (extractors/windows.py), which ends in `choose_findings` too.
    """
    if document.structured is not None:
        return apply_policy(document.structured, policy)
    text = linearize(document)
    people, diagnoses = find_mentions(text, policy, ner_model=ner_model)
    return choose_findings(document, people, diagnoses, intake_name=intake_name,
                           surname_hint=lambda: surname_only_physician(text, default_name_rules()))


def find_mentions(text: LinearText, policy: Policy, *,
                  ner_model: str | None) -> tuple[tuple[PersonMention, ...], tuple[DiagnosisMention, ...]]:
    """One parse of `text` (a whole document, or one window of a long one) and every person and diagnosis in it."""
    parsed = get_pipeline().parse(text)
    people_finder: Finder[PersonMention] = find_people
    # the NER model is loaded (once per process) only when a document needs the recall layer
    diagnosis_finder: Finder[DiagnosisMention] = functools.partial(
        find_diagnoses, policy=policy, recognizer=functools.partial(get_recognizer, ner_model))
    return people_finder(parsed), diagnosis_finder(parsed)


def choose_findings(document: Document, people: tuple[PersonMention, ...], diagnoses: tuple[DiagnosisMention, ...],
                    *, intake_name: str | None, surname_hint: Callable[[], SurnameOnly | None]) -> Findings:
    """The patient and the treating physician chosen among `people` of `document` (see `find_all`).

    `surname_hint`: the physician named by title and surname only, asked for only when nobody else is chosen."""
    patient_chooser: Chooser = choose_patient
    physician_chooser: Chooser = choose_treating_physician
    patient = patient_chooser(people)
    if intake_name:
        patient, people = verified_patient(document, intake_name, patient, people)
    pages = patient_pages(document, people, patient.person)
    # Two patients in one upload (docs/POLICY.md decision 5): the treating physician is the chosen patient's, named
    # on that patient's pages; a clinician of the other record is not theirs.
    clinicians = people if pages is None else tuple(p for p in people if _on_pages(p.evidence, pages))
    physician = second_opinion(physician_chooser(clinicians), rank_treating_physician(document, clinicians))
    if (physician.person is None or physician.person.role is Role.OTHER_CLINICIAN) and (
            hint := surname_hint()) is not None and _hint_stands(hint, physician.person, pages, people):
        # docs/POLICY.md "Policy decisions" 6: a physician named by surname only is doubtful, not absent (review).
        # The surname is reported, so the coordinator sees whom the document names.
        doubt = (f"a physician is named by title and surname only (page {hint.evidence.page}); a person must confirm "
                 "who treated the patient")
        named = PersonMention(value=hint.evidence.snippet, normalized=hint.surname, role=Role.TREATING_PHYSICIAN,
                              confidence=hint.evidence.original_score, evidence=(hint.evidence,),
                              reason="Treating physician? named by title and surname only; not a full name.")
        physician = Choice(named, doubt, ambiguous=True, doubt=doubt)
    return Findings(people=people, diagnoses=diagnoses, patient=patient, physician=physician, patient_pages=pages)


def _hint_stands(hint: SurnameOnly, chosen: PersonMention | None, pages: tuple[int, ...] | None,
                 people: Sequence[PersonMention]) -> bool:
    """Whether the "Dr. Surname" the document prints is reported instead of `chosen` (None, or an unlabelled clinician
    the rules fell back on): it must be on the chosen patient's pages, and not name `chosen` itself.

    An unlabelled clinician is a weaker answer than a "Dr. Surname" (a referrer in the care team, or a colleague named
    in the letter's prose, beside "Sincerely, Dr. Eze"), whether the ranker rejected the clinician or confirmed it:
    both go to review, and the report names whom the document shows as treating. (The ranker refitted on 1,800
    documents confirmed "I spoke with Dr. Holly Winslow" over the signer "Dr. Eze".) The same person is "Dr. Winslow"
    for Holly Winslow, or a provider card's "Dr. Sanjay⏎Bhattacharya" whose surname wrapped (fresh seeds 7500-8099,
    train_7787).

    Nor is it a surname-only mention when its "surname" is the given name of one of `people` read in full on the
    same line: "Dr. Maja @stergaard" is Maja Østergaard, whose surname OCR began with a sign (fresh seeds
    10500-11099, train_10927)."""
    if pages is not None and not _on_pages((hint.evidence,), pages):
        return False
    if any(_given_name_at(hint, p) for p in people):
        return False
    return chosen is None or not set(fold(hint.surname).split()[-1:]) <= set(fold(chosen.normalized).split())


def _given_name_at(hint: SurnameOnly, person: PersonMention) -> bool:
    """Whether `hint`'s surname is a given name (a word before the last) of `person`, named on the hint's line."""
    words = fold(person.normalized).split()
    if fold(hint.surname) not in words[:-1]:
        return False
    box = hint.evidence.bbox
    if box is None:
        return False
    return any(ev.page == hint.evidence.page and ev.bbox is not None
               and min(ev.bbox.bottom, box.bottom) > max(ev.bbox.top, box.top)  # the two boxes share a line
               for ev in person.evidence)


def _on_pages(evidence: Sequence[Evidence], pages: tuple[int, ...]) -> bool:
    """Whether any of `evidence` is on one of `pages` (evidence with no page counts as on every page)."""
    return any(ev.page is None or ev.page in pages for ev in evidence)


def patient_pages(document: Document, people: Sequence[PersonMention],
                  patient: PersonMention | None) -> tuple[int, ...] | None:
    """The pages of `patient`'s record when another patient is named on other pages (docs/POLICY.md "Status rule":
    two patients in one upload), else None. A page belongs to the patient named on it; a page that names no patient
    continues the record of the page before it; a page naming both, or before any, is the chosen patient's."""
    if patient is None:
        return None
    named: dict[int, set[bool]] = {}  # page → {is the chosen patient} for each patient named on it
    for person in people:
        if person.role is Role.PATIENT and person.evidence and person.evidence[0].page is not None:
            ours = same_person(person.normalized, patient.normalized, SAME_PERSON_THRESHOLD)
            named.setdefault(person.evidence[0].page, set()).add(ours)
    if not any(False in marks and True not in marks for marks in named.values()):
        return None
    pages: list[int] = []
    owner_is_ours = True
    for page in (p.number for p in document.pages):
        marks = named.get(page)
        if marks:
            owner_is_ours = True in marks
        if owner_is_ours:
            pages.append(page)
    return tuple(pages)


def second_opinion(rules: Choice, ranked: RankedChoice) -> Choice:
    """The rules' physician choice checked by the learned ranker (extractors/role_model.py).

    The ranker never chooses on its own. When it would choose someone else, or nobody over a labelled or signing
    physician, the rules' choice is kept but made doubtful (review); when it finds nobody and the rules had only
    fallen back on an unlabelled clinician, no treating physician is shown. When the rules fell back to an
    unlabelled clinician (a titled or credentialed name with no role label, which the rules alone score below the
    review threshold) and the ranker picks the same person above its own threshold, the ranker's probability becomes
    the confidence, recorded on the evidence with its reason."""
    if rules.person is None:
        return rules
    if ranked.person is None and rules.person.role is Role.OTHER_CLINICIAN:
        # Both say no one is shown treating: the rules only fell back on an unlabelled clinician (an inside address,
        # a titled name in a letter's prose), and the ranker puts nobody above its threshold. On 720 varied
        # documents this held for 12, none of them showing that clinician as the treating physician.
        return Choice(None, "No treating physician: the only clinicians named carry no treating label or "
                            f"signature (the rules' fallback, confidence {rules.person.confidence:.2f}), and the "
                            f"learned ranker finds no one treating: {ranked.reason}")
    if ranked.person is None or not same_person(ranked.person.normalized, rules.person.normalized):
        return Choice(rules.person, f"{rules.reason} The learned ranker disagrees: {ranked.reason}", ambiguous=True)
    person = rules.person
    if person.role is Role.OTHER_CLINICIAN and ranked.probability > person.confidence:
        delta = round(ranked.probability - person.confidence, 3)
        first, *rest = person.evidence
        first = dataclasses.replace(first, adjustments=(
            *first.adjustments, Adjustment(f"{delta:+.2f} confirmed by the learned ranker", delta)))
        person = dataclasses.replace(person, confidence=ranked.probability, evidence=(first, *rest))
        return Choice(person, f"{rules.reason} The learned ranker confirms it: {ranked.reason}", rules.ambiguous)
    return rules


def verified_patient(document: Document, intake_name: str, chosen: Choice,
                     people: tuple[PersonMention, ...]) -> tuple[Choice, tuple[PersonMention, ...]]:
    """The patient choice after searching the document for the intake's person, and the people list with that hit.

    Kept as it is when the open extraction already chose the intake's person (made ambiguous when a patient label
    elsewhere holds a different full name: two patients in one upload), or when the search confirms nobody in a
    patient position. Otherwise the confirmed hit becomes the patient; when a patient label elsewhere holds a different
    full name, the choice is marked ambiguous (two patients: review)."""
    search = search_intake_name(document, intake_name)
    matched = match_intake(intake_name, chosen.person.normalized) if chosen.person is not None else None
    if chosen.person is not None and matched is not None and matched.result is CheckResult.PASS:
        apart = [h for h in search.hits
                 if h.full_name and not h.inside_longer_name and h.position is not Position.PATIENT]
        own = any(h.full_name and not h.inside_longer_name and h.position is Position.PATIENT for h in search.hits)
        if "middle name used as first name" in matched.detail and (apart or not own):
            # "RE: Karim Omar Abu-Zeid" and, further down, "Omar Abu-Zeid (son)" for intake "Omar Abu-Zeid" (fresh
            # seeds 3600-4799, wrongly complete): the intake's name is the patient's middle name and surname, and
            # stands apart as someone else's. Printed nowhere apart it may still be a relative's name ("Sebastião
            # Gonçalo Assunção-Schröder" for intake "Gonçalo Assunção-Schröder", fresh seeds 6600-7199, wrongly
            # complete): some people go by their middle name, but which one this is a person must decide. Not when the
            # search reads the intake's whole name where the patient is named ("LIU R Zhiwei" for "Zhiwei R Liu",
            # which the open extraction parsed with "R" as the given name).
            if apart:
                pages = ", ".join(map(str, sorted({h.page for h in apart})))
                doubt = (f"the intake name is the patient's middle name and surname, and is printed apart as another "
                         f"person's (page {pages}): it may name a relative")
            else:
                doubt = ("the intake name is the patient's middle name and surname, not the given name printed: it "
                         "may name a relative, or the patient goes by the middle name")
            return Choice(chosen.person, f"{chosen.reason} {doubt[0].upper()}{doubt[1:]}.", ambiguous=True,
                          doubt=doubt), people
        verified = _corroborated(_in_intake_spelling(chosen.person, intake_name), search)
        chosen = dataclasses.replace(chosen, person=verified)
        other_pages = _pages_of_other_patients(search, verified)
        if other_pages and not chosen.ambiguous:
            pages = ", ".join(map(str, other_pages))
            return Choice(chosen.person, f"{chosen.reason} A patient label on page {pages} holds a different name.",
                          ambiguous=True), people
        return chosen, people
    if search.verdict is Verdict.SURNAME_ONLY and chosen.person is None:
        # docs/POLICY.md "Status rule": the intake's surname alone may be the patient's name cut off, or a relative's.
        return Choice(None, "only the intake name's surname is printed, not the full name", ambiguous=True), people
    if search.verdict is Verdict.NOT_FOUND and chosen.person is None and any(
            h.another_person and h.position is Position.PATIENT for h in search.hits):
        # "DD Dicèer van den Berg v_" for intake "Dieter van den Berg" (fresh seeds 2400-2999, train_2505): where the
        # document names its patient, the intake's surname with a first name beyond OCR's bounds -- a misreading or
        # another person of the family. Not "no patient": a person must look (docs/POLICY.md "Status rule").
        return Choice(None, "the intake surname is printed where the document names its patient, with another first "
                            "name", ambiguous=True), people
    if search.verdict is not Verdict.PATIENT_CONFIRMED and chosen.person is None and search.other_patients:
        # The open extraction missed the labelled patient, and the search read that label's name: someone other than
        # the intake's person. Reported as the patient, so the report says the names differ (review), not "no
        # patient" (docs/POLICY.md "Status rule": another patient's record is never complete).
        other = search.other_patients[0]
        person = PersonMention(value=other.value_as_printed,
                               normalized=normalize_person_name(other.value_as_printed) or other.value_as_printed,
                               role=Role.PATIENT, confidence=other.evidence.original_score, evidence=(other.evidence,),
                               reason="intake search: a patient label names someone other than the intake's person")
        ambiguous = len({fold(o.value_as_printed) for o in search.other_patients}) > 1
        return Choice(person, "a patient label names someone other than the intake's person", ambiguous), \
            (*people, person)
    if search.verdict is not Verdict.PATIENT_CONFIRMED:
        return chosen, people
    hit = max((h for h in search.hits if h.position is Position.PATIENT and h.full_name),
              key=lambda h: h.score, default=None)
    if hit is None:
        return chosen, people
    person = _in_intake_spelling(_person_of(hit), intake_name)
    if GLUED_NAME in hit.reason and (spelled := normalize_person_name(intake_name)) is not None:
        # "MaiLev": one printed word holds the whole name; it is reported as the intake spells it
        person = dataclasses.replace(person, normalized=spelled)
    # Another patient only counts when a patient label holds a different full name: the open extraction's own choice
    # may be a form title read as a name ("Referral Form"), which is no second patient.
    ambiguous = chosen.ambiguous or bool(search.other_patient_pages)
    reason = f"the intake's person found in a patient position ({hit.reason})"
    return Choice(person, reason, ambiguous), (*people, person)


_NAME_WORD = re.compile(r"[^\W\d_][\w'’\-]*")


def _folded_words(name: str) -> set[str]:
    return {fold(w) for w in _NAME_WORD.findall(name)}


def _pages_of_other_patients(search: IntakeSearch, patient: PersonMention) -> tuple[int, ...]:
    """Pages where a patient label holds someone other than `patient`. A label whose words are all words of the
    patient's name is that name cut at the line's end ("Patient name: Deborah Elizabeth⏎Haskett-Adeyemi DOB: …",
    which the intake search reads one line at a time), not a second patient."""
    words = _folded_words(patient.normalized)
    pages = [o.evidence.page for o in search.other_patients if not _folded_words(o.value_as_printed) <= words]
    return tuple(dict.fromkeys(page for page in pages if page is not None))


def _corroborated(person: PersonMention, search: IntakeSearch) -> PersonMention:
    """The open extraction's patient, who is the intake's person, at the confidence of the search's best hit in a
    patient position when that is higher: the rules' confidence carries the OCR's doubt about the glyphs, which a
    reading that matches the intake's own spelling answers (extractors/intake_search.py `_hit`)."""
    best = max((h.score for h in search.hits if h.position is Position.PATIENT and h.full_name), default=0.0)
    if best <= person.confidence:
        return person
    delta = round(best - person.confidence, 3)
    first, *rest = person.evidence
    first = dataclasses.replace(first, adjustments=(
        *first.adjustments, Adjustment(f"{delta:+.2f} the intake search found this name in a patient position", delta)))
    return dataclasses.replace(person, confidence=best, evidence=(first, *rest))


def _in_intake_spelling(person: PersonMention, intake_name: str) -> PersonMention:
    """The verified patient named as the intake spells it when the document prints the same words, only misread by
    OCR ("Nufez" for "Núñez", "Xuv" for "Xu ▾", "Balogun Dubois" for "Balogun-Dubois"), without accents, in another
    case or in another order; the evidence keeps what is printed. Printed words the intake does not give (a middle
    name or initial, a given name the intake gives as a nickname) are kept as printed, and an intake word not printed
    is left out: those are facts of the document, not reading errors."""
    # A word OCR garbled past what a name may hold ("Weif&mann" for "Weißmann") fails to normalize: its words as read
    printed = normalize_person_name(person.normalized) or " ".join(person.normalized.split())
    wanted = normalize_person_name(intake_name)
    if wanted is None or printed == wanted:
        return person
    words: list[str | None] = list(printed.split())
    keys = [_spelling_key(w) for w in printed.split()]
    paired = [False] * len(words)
    for word in wanted.split():
        key = _spelling_key(word)
        at = next((i for i, k in enumerate(keys) if not paired[i] and _misread(k, key)), None)
        # a hyphenated surname whose hyphen OCR lost: two printed words, when they are closer to it than the one
        # word ("Krishnamurthy Sfo" for "Krishnamurthy-Seo": train_9107; not "A Al-Sayed" for "Al-Sayed")
        pair = next((i for i in range(len(keys) - 1) if "-" in key and not paired[i] and not paired[i + 1]
                     and _misread(f"{keys[i]}-{keys[i + 1]}", key)), None)
        if pair is not None and (at is None or Levenshtein.distance(f"{keys[pair]}-{keys[pair + 1]}", key)
                                 < Levenshtein.distance(keys[at], key)):
            words[pair], words[pair + 1], paired[pair], paired[pair + 1] = word, None, True, True
        elif at is not None:
            # the printed word stands where it spells the intake's accents the intake left out ("RENÉ" for "Rene")
            printed_accents = keys[at] == key and not (words[at] or "").isascii() and word.isascii()
            words[at], paired[at] = (words[at] if printed_accents else word), True
        # else the intake word is not printed (a middle name left out, a nickname printed in its place)
    if not any(paired):
        return person
    if all(paired) and len(keys) == len(wanted.split()):
        spelled = wanted  # the intake's words and order ("OKAFOR MARIA" in a header of capitals)
    else:
        # The printed words, each the intake's word where it is that word misread ("Ngoc Vuyv" for intake "Ngoc Thi
        # Vu": "Ngoc Vu"; "Oluwaseun Nwosuv" for "Seun Nwosu": "Oluwaseun Nwosu"; fresh seeds 8700-9299, train_8840,
        # train_9096); a printed word the intake lacks stays as printed.
        spelled = " ".join(w for w in words if w is not None)
    if spelled == printed:
        return person
    return dataclasses.replace(person, normalized=spelled,
                               reason=f"{person.reason}; reported as the intake spells it (the printed words differ "
                                      "only by reading errors, accents, case or order)")


def _spelling_key(word: str) -> str:
    return fold(word).replace(".", "")


def _misread(printed: str, wanted: str) -> bool:
    """One printed word is the intake word as OCR may read it: equal, one edit per four letters (after the rule file's
    OCR confusions, "rn" for "m", "g" for "ø"), or a trailing caret."""
    compiled = default_intake_search_rules().compiled
    carets = compiled.caret_letters  # the account caret as OCR reads it
    lost = next((r for r in compiled.fragile_reads.get(wanted[:1], ()) if r and printed.startswith(r)), None)
    if lost is not None and printed[len(lost):len(lost) + 1] != wanted[:1]:
        printed = wanted[:1] + printed[len(lost):]  # a fragile capital read in lower case ("lyer" for "Iyer")
    if printed == wanted or (1 <= len(printed) - len(wanted) <= 2 and printed.startswith(wanted)
                             and all(c in carets for c in printed[len(wanted):])):
        return True
    if len(wanted) < 4:
        return False
    bound = max(1, len(wanted) // 4)
    return (Levenshtein.distance(printed, wanted) <= bound
            or Levenshtein.distance(ocr_form(printed, compiled.confusions),
                                    ocr_form(wanted, compiled.confusions)) <= bound)


def _initial_of(printed: str) -> str:
    """The middle initial a misread glyph stands for: its capital ("1B." → "B."), else "I." ("|,", "[.")."""
    return f"{next((c for c in printed if c.isupper()), 'I')}."


# OCR debris glued to a name's word ("@YSTEIN" for "ØYSTEIN", "K_" for "K"): not part of the name.
_DEBRIS = "_~@"


def _person_of(hit: IntakeHit) -> PersonMention:
    glyphs = default_intake_search_rules().compiled.initial_glyphs  # "£." read for the middle initial "Ł."
    words = [w for w in (w.strip(_DEBRIS) for w in hit.value_as_printed.split()) if w]
    cleaned = " ".join(_initial_of(w) if 0 < i < len(words) - 1 and misread_initial(w) else glyphs.get(w.rstrip("."), w)
                       for i, w in enumerate(words))
    return PersonMention(value=hit.value_as_printed,
                         normalized=normalize_person_name(cleaned) or cleaned,
                         role=Role.PATIENT, confidence=hit.score, evidence=(hit.evidence,),
                         reason=f"intake search: {hit.reason}")


def model_versions(ner_model: str | None) -> dict[str, str]:
    """Name and version of the spaCy model and of the NER recall layer's model ("off" when none) in use."""
    meta = get_pipeline().nlp.meta
    return {"spacy_model": f"{meta.get('lang', 'en')}_{meta.get('name', '?')}-{meta.get('version', '?')}",
            "ner_model": ner_model_tag(ner_model)}
