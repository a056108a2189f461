"""The name rules compiled once per `NameRules` into the regular expressions and lookups the finder matches with."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.names import Cue, NameRules, RoleWord, Section, TrailingCue, fold

# A specialty printed between a name and its care-team role: "Pain Medicine - Attending", "Family Medicine | PCP";
# one to four words of letters, then a separator.
_SPECIALTY = r"(?:[^\W\d_][^\W\d_'.]*(?:\s+&?\s*[^\W\d_][^\W\d_'.]*){0,3}\s*[-–—|:,]\s*)"


def _phrase_pattern(phrases: Iterable[str]) -> str:
    """One alternation, longest phrase first so "Patient Name" wins over "Patient"; spaces match any run."""
    alts = sorted({" ".join(p.split()) for p in phrases}, key=len, reverse=True)
    return "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in alts)


@dataclass(frozen=True)
class _Matcher:
    cue_re: re.Pattern[str]
    cue_by_phrase: dict[str, Cue]
    name_use_re: re.Pattern[str] | None  # "Legal:" printed before a name ("Performer: Legal: Jane DOE")
    mid_line_after: dict[str, frozenset[str]]  # cue id -> folded words that may precede a line-start cue mid-line
    mid_line_followed_by: dict[str, re.Pattern[str]]  # cue id -> what may follow its name when mid-line
    section_by_phrase: dict[str, Section]
    role_word_re: re.Pattern[str]
    role_word_by_phrase: dict[str, RoleWord]
    role_word_anywhere_re: re.Pattern[str]
    role_line_re: re.Pattern[str]
    trailing_re: re.Pattern[str] | None
    trailing_by_phrase: dict[str, TrailingCue]
    relation_re: re.Pattern[str]
    family_lead_re: re.Pattern[str]
    label_vocab: frozenset[str]
    column_label_words: frozenset[str]  # folded words a form's column label may consist of ("date of birth")
    column_header_words: frozenset[str] = frozenset()  # the name rules' `column_labels` alone, folded


_MATCHERS: dict[int, tuple[NameRules, _Matcher]] = {}


def _matcher(rules: NameRules) -> _Matcher:
    hit = _MATCHERS.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    cue_by_phrase = {fold(p): c for c in rules.cues for p in c.phrases}
    role_word_by_phrase = {fold(p): r for r in rules.role_words for p in r.phrases}
    relations = _phrase_pattern(rules.relations)
    vocab = {w for p in cue_by_phrase for w in p.split()} | set(rules.lexicon.blocking_qualifiers)
    trailing_by_phrase = {fold(p): t for t in rules.trailing_cues for p in t.phrases}
    role_words = _phrase_pattern(role_word_by_phrase)
    # A name-use word between a label and its colon ("Patient Legal:", "Patient Name (Legal):"): captured only when
    # the colon follows it.
    name_use = _phrase_pattern(rules.name_use_words) if rules.name_use_words else None
    qualifier = (rf"(?:\s*\(?\s*(?P<qual>{name_use})\s*\)?(?=\s*[:;]))?" if name_use else "")
    m = _Matcher(
        cue_re=re.compile(rf"(?<![\w])(?P<phrase>{_phrase_pattern(cue_by_phrase)})(?![\w]){qualifier}"
                          r"\s*(?P<colon>[:;,])?", re.IGNORECASE),
        cue_by_phrase=cue_by_phrase,
        name_use_re=(re.compile(rf"\s*(?:{name_use})\s*[:;]\s*", re.IGNORECASE) if name_use else None),
        mid_line_after={c.id: frozenset(fold(w) for w in c.mid_line_after) for c in rules.cues},
        mid_line_followed_by={c.id: re.compile(rf"^\s*[-–—|,•]?\s*(?:{_phrase_pattern(c.mid_line_followed_by)})"
                                               r"(?![\w])", re.IGNORECASE)
                              for c in rules.cues if c.mid_line_followed_by},
        section_by_phrase={fold(p): s for s in rules.sections for p in s.phrases},
        # A role word after a name: "— PCP", "(Referring)", ", Primary Care Provider"; text after it (a phone
        # number) is ignored.
        # A specialty may sit between the name and the role: "Jane Doe, DO Pain Medicine - Attending".
        role_word_re=re.compile(rf"^\s*[-–—|,•:]?\s*{_SPECIALTY}?\(?\s*(?P<phrase>{role_words})"
                                r"\s*\)?(?![\w])", re.IGNORECASE),
        role_word_by_phrase=role_word_by_phrase,
        role_word_anywhere_re=re.compile(rf"(?<![\w])(?P<phrase>{role_words})(?![\w])", re.IGNORECASE),
        # A care-team line holding only a role, perhaps after a specialty: "PCP", "Pain Medicine - Attending".
        role_line_re=re.compile(rf"^[\s\-–—•·*>|]*{_SPECIALTY}?\(?\s*(?P<phrase>{role_words})\s*\)?\s*:?\s*$",
                                re.IGNORECASE),
        trailing_re=(re.compile(rf"^\s*[-–—|,•]?\s*(?P<phrase>{_phrase_pattern(trailing_by_phrase)})(?![\w])",
                                re.IGNORECASE) if trailing_by_phrase else None),
        trailing_by_phrase=trailing_by_phrase,
        relation_re=re.compile(rf"^\s*[-–—|,•:]?\s*\(\s*(?P<rel>{relations})\s*\)", re.IGNORECASE),
        family_lead_re=re.compile(rf"(?<![\w])(?:her|his|their|the\s+patient's|patient's|pt's|pt)\s+"
                                  rf"(?P<rel>{relations})(?![\w])\s*,?\s*", re.IGNORECASE),
        label_vocab=frozenset(vocab),
        column_label_words=frozenset(vocab | {fold(w) for w in rules.column_labels} | rules.lexicon.not_name_words
                                     | {fold(w).rstrip(".") for w in rules.stop_words}),
        column_header_words=frozenset(fold(w) for w in rules.column_labels),
    )
    _MATCHERS[id(rules)] = (rules, m)
    return m
