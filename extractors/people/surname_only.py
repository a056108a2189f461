"""A physician printed only as "Dr. Surname": not a full name for the claim, but a sign that a physician is named."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.people.weights import FINDER
from pipeline.names import NameRules, fold, is_patronymic, ocr_capital_i
from pipeline.types import Evidence, LinearText, evidence_from_span

# Possessive (`++`): "Dr. Itzel Ortega" must not match as the surname "Itze" by backing off one letter.
# Any script's letters ("Dr. Østergaard"): the capital is checked in code, as `re` has no class for it.
# Lowercase particles may open the surname ("Dr. von Bülow", "Dr. de la Vega").
_SURNAME_AFTER_TITLE = r"\b(?:{titles})\.?[ \t]+(?P<surname>(?:(?:{particles})[ \t]+)*[^\W\d_][\w'’\-]++)"
# The word after the surname; one that a colon follows is the next field's label ("Specialty:"), not a given name.
_NEXT_WORD = re.compile(r"[ \t]*,?[ \t]*([^\W\d_][\w'’\-]*)(?![\w'’\-]|[ \t]*:)")


@dataclass(frozen=True, slots=True)
class SurnameOnly:
    """Where a physician is named by title and surname alone, with its evidence."""

    surname: str
    evidence: Evidence


def surname_only_physician(text: LinearText, rules: NameRules) -> SurnameOnly | None:
    """The first "Dr. Surname" (no given name after it) on a line that names no addressee, copy, referrer, PCP or
    relative (`surname_only_blockers` and `relations` of rules/name_rules.yaml); None if none."""
    titles = "|".join(re.escape(t) for t in sorted(rules.physician_titles, key=len, reverse=True))
    particles = "|".join(re.escape(p) for p in sorted(rules.lexicon.particles, key=len, reverse=True))
    pattern = re.compile(_SURNAME_AFTER_TITLE.format(titles=titles, particles=particles))
    particle_surname = re.compile(rf"[ \t]+(?:(?:{particles})[ \t]+)+[^\W\d_]")  # " van der Linden" after a given name
    blockers = {fold(w) for w in (*rules.surname_only_blockers, *rules.relations)}
    not_names = {fold(w) for w in rules.not_name_words}
    start = 0
    for line in text.text.split("\n"):
        words = set(re.findall(r"[^\W\d_]+", fold(line)))
        if not words & blockers:
            for m in pattern.finditer(line):
                surname = ocr_capital_i(m.group("surname"), rules)  # "Dr. lyer": OCR's l for a capital I
                given = _NEXT_WORD.match(line, m.end())
                if given is not None and ocr_capital_i(given.group(1), rules)[:1].isupper() and \
                        not given.group(1)[:1].isupper():
                    # "Dr. Ananya lyer": OCR's l for the capital I of the surname; the title is followed by a full name
                    continue
                after = particle_surname.match(line, m.end())
                if after is not None and after.group()[-1].isupper():
                    continue  # "Dr. Wolfgang van der Linden": a given name, then a surname that opens with particles
                end = m.end()
                if (given is not None and is_patronymic(surname, rules) and given.group(1)[0].isupper()
                        and fold(given.group(1)) not in not_names):
                    # "Dr. Núñez Echeverría": two surnames, the first patronymic, no given name ("Dr. Ferreira
                    # Physical Medicine …": a specialty in the next cell, no second surname)
                    surname, end, given = f"{surname} {given.group(1)}", given.end(), None
                if not _capitalised_surname(surname.split()[-1], rules) or (
                        given is not None and given.group(1)[0].isupper() and fold(given.group(1)) not in not_names):
                    continue  # "Dr. jones" is no name; "Dr. Itzel Ortega" has a given name ("Dr. Iyer Pain" not)
                if fold(surname) in not_names:
                    continue
                s, e = start + m.start(), start + end
                return SurnameOnly(surname, evidence_from_span(text, s, e, finder=FINDER,
                                                                          rule="surname_only_physician", score=0.5))
        start += len(line) + 1
    return None


def _capitalised_surname(word: str, rules: NameRules) -> bool:
    """A surname's capital: "Ortega", or after a lowercase particle joined by a hyphen or an apostrophe ("el-Khoury",
    "al-Hassan"); "jones" is none."""
    if word[:1].isupper():
        return True
    head, sep, rest = _split_particle(word)
    return bool(sep) and head in rules.lexicon.particles and rest[:1].isupper()


def _split_particle(word: str) -> tuple[str, str, str]:
    """(head, separator, rest) at the first hyphen or apostrophe; (word, "", "") without one."""
    for i, ch in enumerate(word):
        if ch in "-'’":
            return word[:i], ch, word[i + 1:]
    return word, "", ""
