"""Person names: the name-rule lexicon, normalisation ("SMITH, JOHN A" → "John A Smith") and intake matching.

No NLP here: the lexicon (titles, credentials, labels, role cues) lives in `rules/name_rules.yaml`, validated strictly
on load; names are split with nameparser, nicknames come from the `nicknames` package and OCR noise is absorbed with
rapidfuzz ratios. Nothing in this module logs, and no message it raises contains a name (PHI).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from nameparser import HumanName
from nicknames import NickNamer
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from rapidfuzz import fuzz

from pipeline.errors import ConfigError
from pipeline.rulefiles import StrictRuleModel, load_yaml, nonempty_phrases, rule_path
from pipeline.types import CheckResult, Role

DEFAULT_NAME_RULES_PATH = rule_path("name_rules.yaml")

MAX_NAME_TOKENS = 6  # "Maria de la Cruz Garcia-Lopez Jr" is 6; longer runs are prose, not a name
MAX_NAME_CHARS = 80


# --------------------------------------------------------------------------------------------------------------
# The rule file
# --------------------------------------------------------------------------------------------------------------

class CredentialKind(StrEnum):
    """What a credential says about who holds it."""

    PHYSICIAN = "physician"
    ADVANCED_PRACTICE = "advanced_practice"
    NURSING = "nursing"
    OTHER = "other"


class Cue(StrictRuleModel):
    """A label or lead phrase that announces a person's role ("Patient Name:", "Electronically signed by")."""

    id: str = Field(min_length=1)
    role: Role
    weight: float = Field(ge=0.0, le=1.0)
    colon: Literal["required", "optional"]
    next_line: bool = False
    inherit_section: bool = False
    line_start: bool = False
    # "Patient Legal:", "Patient Name (Legal):": a name-use word (`name_use_words`) may sit between the phrase and
    # its colon.
    qualified: bool = False
    # A `colon: required` cue also fires without its colon when it opens a line: two-column headers printed without
    # colons ("Author Jane DOE, Authored On: …", "Patient Jeremy BATES Date of Birth: …"). Weaker: see people.py.
    bare_at_line_start: bool = False
    # A `line_start` cue may still fire mid-line right after one of these words (an OCR-glued portal header:
    # "MyHealth Portal Welcome, Ruth Abernathy") or when its name is followed by one of these phrases ("| Log out").
    mid_line_after: list[str] = Field(default_factory=list)
    mid_line_followed_by: list[str] = Field(default_factory=list)
    phrases: list[str]

    _check_phrases = field_validator("phrases")(nonempty_phrases)

    @model_validator(mode="after")
    def _check_bare(self) -> Cue:
        if self.bare_at_line_start and self.colon != "required":
            raise ValueError("bare_at_line_start applies only to colon: required cues")
        return self


class TrailingCue(StrictRuleModel):
    """A field label printed right after a name at the start of a line ("José Núñez DOB: 07/30/1971")."""

    id: str = Field(min_length=1)
    role: Role
    weight: float = Field(ge=0.0, le=1.0)
    phrases: list[str]

    _check_phrases = field_validator("phrases")(nonempty_phrases)


class Section(StrictRuleModel):
    """A heading line that gives the lines under it a role ("Emergency Contact", "Care Team", "MyChart")."""

    id: str = Field(min_length=1)
    role: Role
    weight: float = Field(ge=0.0, le=1.0)
    max_lines: int = Field(ge=1, le=50)
    # A bare name takes the section's role only with a title or credential ("Your visit⏎Sjoberg, Bjorn, MD").
    needs_credential: bool = False
    phrases: list[str]

    _check_phrases = field_validator("phrases")(nonempty_phrases)


class RoleWord(StrictRuleModel):
    """A role named next to a name in a care-team list ("Jane Doe, MD — PCP")."""

    id: str = Field(min_length=1)
    role: Role
    weight: float = Field(ge=0.0, le=1.0)
    phrases: list[str]

    _check_phrases = field_validator("phrases")(nonempty_phrases)


class RuleWeights(StrictRuleModel):
    """Base weights (0..1) of the people finder's rules that are not cues, sections, role words or trailing cues."""

    account_header: float = Field(ge=0.0, le=1.0)
    account_marker: float = Field(ge=0.0, le=1.0)
    account_title: float = Field(ge=0.0, le=1.0)
    family_lead: float = Field(ge=0.0, le=1.0)
    relation_marker: float = Field(ge=0.0, le=1.0)
    relation_in_emergency_contact: float = Field(ge=0.0, le=1.0)
    spacy_with_role_word: float = Field(ge=0.0, le=1.0)
    spacy_titled: float = Field(ge=0.0, le=1.0)


class Credentials(StrictRuleModel):
    """Credentials by kind; a credential may appear in one kind only."""

    physician: list[str]
    advanced_practice: list[str]
    nursing: list[str]
    other: list[str]


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """Lookup tables derived once from the rule file (keys are folded: see `_cred_key`, `fold`)."""

    titles: dict[str, str]
    physician_titles: frozenset[str]
    suffixes: frozenset[str]
    particles: frozenset[str]
    credentials: dict[str, tuple[str, CredentialKind]]
    credential_reads: dict[str, tuple[str, CredentialKind]]  # exact OCR misreadings ("mp") → the credential
    not_name_words: frozenset[str]
    stop_words: frozenset[str]
    blocking_qualifiers: frozenset[str]
    relations: frozenset[str]
    organization_words: frozenset[str]


class NameRules(StrictRuleModel):
    """The validated content of `rules/name_rules.yaml` (see the file for conventions and weights)."""

    version: Literal[1]
    titles: list[str]
    physician_titles: list[str]
    suffixes: list[str]
    particles: list[str]
    credentials: Credentials
    credential_ocr_reads: dict[str, str] = Field(default_factory=dict)
    not_name_words: list[str]
    stop_words: list[str]
    blocking_qualifiers: list[str]
    relations: list[str]
    organization_words: list[str] = Field(default_factory=list)
    name_use_words: list[str] = Field(default_factory=list)
    surname_only_blockers: list[str] = Field(default_factory=list)
    patronymic_endings: list[str] = Field(default_factory=list)
    surnames_not_given: list[str] = Field(default_factory=list)
    side_menu_words: list[str] = Field(default_factory=list)
    column_labels: list[str] = Field(default_factory=list)
    hypocorisms: dict[str, list[str]] = Field(default_factory=dict)
    sections: list[Section]
    role_words: list[RoleWord]
    cues: list[Cue]
    trailing_cues: list[TrailingCue] = Field(default_factory=list)
    weights: RuleWeights

    _lex: _Lexicon | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_consistency(self) -> NameRules:
        ids = ([c.id for c in self.cues] + [s.id for s in self.sections] + [r.id for r in self.role_words]
               + [t.id for t in self.trailing_cues])
        if len(ids) != len(set(ids)):
            raise ValueError("cue, section, role-word and trailing-cue ids must be unique")
        seen: set[str] = set()
        for kind_list in (self.credentials.physician, self.credentials.advanced_practice, self.credentials.nursing,
                          self.credentials.other):
            for cred in kind_list:
                key = _cred_key(cred)
                if key in seen:
                    raise ValueError("a credential is listed twice")
                seen.add(key)
        for read, cred in self.credential_ocr_reads.items():
            if _cred_key(cred) not in seen or _cred_key(read) in seen or not read.isalpha() or not (
                    read.islower() or (read.isupper() and len(read) >= 3)):
                raise ValueError("credential_ocr_reads: each a misreading in one case (capitals: three letters or "
                                 "more), no credential itself, of a listed credential")
        phrase_owner: dict[str, str] = {}
        for cue in self.cues:
            for p in cue.phrases:
                key = fold(p)
                if key in phrase_owner:
                    raise ValueError(f"cue phrase listed in two cues ({phrase_owner[key]}, {cue.id})")
                phrase_owner[key] = cue.id
        if any(not e or fold(e) != e or not e.isalpha() for e in self.patronymic_endings):
            raise ValueError("patronymic_endings must be folded letters (lowercase, no accents)")
        if any(not w or fold(w) != w or not w.isalpha() for w in self.surnames_not_given):
            raise ValueError("surnames_not_given must be folded letters (lowercase, no accents)")
        if len(set(self.surnames_not_given)) != len(self.surnames_not_given):
            raise ValueError("surnames_not_given lists a word twice")
        if any(not short or fold(name) != name or any(fold(s) != s for s in short)
               for name, short in self.hypocorisms.items()):
            raise ValueError("hypocorisms: each name and short form folded (lowercase, no accents), none empty")
        if not set(fold(t) for t in self.physician_titles) <= set(fold(t) for t in self.titles):
            raise ValueError("physician_titles must be a subset of titles")
        if any(c.qualified for c in self.cues) and not self.name_use_words:
            raise ValueError("a qualified cue needs name_use_words")
        return self

    @property
    def lexicon(self) -> _Lexicon:
        """Lookup tables built on first use."""
        if self._lex is None:
            creds: dict[str, tuple[str, CredentialKind]] = {}
            for kind in CredentialKind:
                for cred in getattr(self.credentials, kind.value):
                    creds[_cred_key(cred)] = (cred, kind)
            self._lex = _Lexicon(
                titles={_title_key(t): t for t in self.titles},
                physician_titles=frozenset(_title_key(t) for t in self.physician_titles),
                suffixes=frozenset(_title_key(s) for s in self.suffixes),
                particles=frozenset(fold(p) for p in self.particles),
                credentials=creds,
                credential_reads={read: creds[_cred_key(c)] for read, c in self.credential_ocr_reads.items()},
                not_name_words=frozenset(fold(w) for w in self.not_name_words),
                stop_words=frozenset(_title_key(w) for w in self.stop_words),
                blocking_qualifiers=frozenset(fold(w) for w in self.blocking_qualifiers),
                relations=frozenset(fold(w) for w in self.relations),
                organization_words=frozenset(fold(w) for w in self.organization_words),
            )
        return self._lex


def load_name_rules(path: Path = DEFAULT_NAME_RULES_PATH) -> NameRules:
    """Load and validate a name-rule file. Raises ConfigError when it is unreadable or invalid."""
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"name rules unreadable: {path.name}") from e
    try:
        return NameRules.model_validate(raw)
    except ValidationError as e:
        # Field locations only (no input values): the rule file holds no PHI but we keep the habit.
        where = "; ".join(".".join(str(p) for p in err["loc"]) + ": " + err["type"] for err in e.errors())
        raise ConfigError(f"name rules invalid ({path.name}): {where}") from e


@functools.cache
def default_name_rules() -> NameRules:
    """The bundled rule file, loaded once. Raises ConfigError when it is invalid."""
    return load_name_rules()


# --------------------------------------------------------------------------------------------------------------
# Folding helpers
# --------------------------------------------------------------------------------------------------------------

# Latin letters that Unicode does not decompose into a base letter and an accent, written the way the names are
# spelled without them (Bjørn → Bjorn, Łukasz → Lukasz, Ærø → Aero, Weiß → Weiss): a portal or an intake form
# that cannot type them writes them so, and OCR often loses the stroke.
_UNDECOMPOSED = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
                               "ħ": "h", "Ħ": "H", "ı": "i", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                               "ß": "ss", "þ": "th", "Þ": "TH"})


def strip_accents(s: str) -> str:
    """`s` with its accents removed and its undecomposable letters spelled out (ø → o, æ → ae, ß → ss); case kept."""
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_UNDECOMPOSED)


def fold(s: str) -> str:
    """Casefolded, accents removed, whitespace collapsed: the comparison form of a word or phrase."""
    return " ".join(strip_accents(s).casefold().split())


def _cred_key(s: str) -> str:
    """Credential lookup key: "M.D.," → "MD", "Ph.D." → "PHD", "PA-C" stays."""
    return s.strip(" ,;:()").replace(".", "").upper()


def _title_key(s: str) -> str:
    """Title/suffix/stop-word lookup key: "Dr." → "dr"."""
    return fold(s.strip(" ,;:()").replace(".", ""))


def credential_of(token: str, rules: NameRules | None = None) -> tuple[str, CredentialKind] | None:
    """(canonical spelling, kind) when `token` is a credential of the rule file, else None."""
    return _credential((rules or default_name_rules()).lexicon, token)


def _credential(lex: _Lexicon, token: str) -> tuple[str, CredentialKind] | None:
    """The credential `token` spells, or one of its OCR misreadings exactly as read ("mp" for "MD")."""
    return lex.credentials.get(_cred_key(token)) or lex.credential_reads.get(token.strip(" ,;:()"))


def is_title(token: str, rules: NameRules | None = None) -> bool:
    """True when `token` is a courtesy or professional title ("Dr.", "Mrs")."""
    return _title_key(token) in (rules or default_name_rules()).lexicon.titles


# --------------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PersonName:
    """A name split into parts, without titles or credentials (which are kept apart)."""

    normalized: str  # "First Middle Last Suffix"
    given: str
    middle: str
    family: str
    suffix: str = ""
    titles: tuple[str, ...] = ()
    credentials: tuple[str, ...] = ()

    def credential_kinds(self, rules: NameRules | None = None) -> frozenset[CredentialKind]:
        """Kinds of the credentials this name carried."""
        lex = (rules or default_name_rules()).lexicon
        return frozenset(lex.credentials[_cred_key(c)][1] for c in self.credentials if _cred_key(c) in lex.credentials)

    def has_physician_title(self, rules: NameRules | None = None) -> bool:
        """True when printed with "Dr."/"Doctor"."""
        lex = (rules or default_name_rules()).lexicon
        return any(_title_key(t) in lex.physician_titles for t in self.titles)


# One word of a name: letters (any script) with inner hyphens/apostrophes, optionally ending with a period ("A.",
# "Jr.", "St.").
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['\-][^\W\d_]+)*\.?$")
_STRIP_CHARS = " \t,;:!?-–—|•*()[]{}\"<>"


def _is_initial(tok: str) -> bool:
    return len(tok.rstrip(".")) == 1


def is_avatar_initials(token: str, following: list[str]) -> bool:
    """True when `token` ("SW", "Sw") is the initials of the name words `following` ("Samuel", "Whitfield").

    Portal headers draw the account holder's initials in a circle before the name, and OCR reads them as a word.
    Only 1–2 letters without a period count, at least two name words must follow, and a token that is itself a
    known given name ("Al Adams Lee", "Ed Evans Davis") is kept.
    """
    words = [w for w in following if w and w[0].isalpha()]
    if not 1 <= len(token) <= 2 or not token.isalpha() or len(words) < 2:
        return False
    key = fold(token)
    # the surname's initial is its capitalised word's, past particles and a marker after the name ("LC Lucien de la
    # Croix v": fresh seeds 7500-8099, train_7688, reported "Lucien de la Croix Lc")
    # and OCR's l for a capital I counts as the I ("SI Suresh lyer")
    capitals = [w for w in map(ocr_capital_i, words[1:]) if w[0].isupper()] or words[1:]
    # Some portals draw the initial of the word after the given name instead, a particle included ("VD Vasco dos
    # Santos", "JV Joost von Bulow": fresh seeds 8700-9299, train_8906, train_9251, reported "Vasco dos Santos VD")
    seconds = {fold(capitals[-1][0]), fold(words[1][0])} if len(token) == 2 else {""}
    if key not in {fold(words[0][0]) + second for second in seconds}:
        return False
    nn = _nicknamer()
    return not (nn.canonicals_of(key) or nn.nicknames_of(key))


_NOT_AFTER_L = frozenset("aeioul")  # "la", "lee", "llama": parts that may start with a lowercase l
_INITIAL_GLYPHS = frozenset("}]|’")  # what OCR makes of the period after a middle initial
# Glyphs OCR reads for an initial's capital J or I, with the initial's period after them.
_GLYPH_FOR_INITIAL = {"}.": "J.", "].": "J.", "|.": "I."}


def ocr_capital_i(word: str, rules: NameRules | None = None) -> str:
    """`word` with a capital I that OCR read as a lowercase l put back, per hyphen part: "lvan" → "Ivan", "Zuniga-
    lbarra" → "Zuniga-Ibarra", "lyer" → "Iyer". Only where no name part can start: an l, then a letter that is no
    vowel, in a part of three or more lowercase letters that is not a particle. Likewise "@stergaard" → "Østergaard"
    and "@Østergaard" → "Østergaard"; a capital and a glyph ("J}") is an initial ("J."); "li" is read "Il".
    Anything else is returned as is."""
    particles = (rules or default_name_rules()).lexicon.particles
    parts = word.split("-")
    return "-".join(_as_printed(p, whole=len(parts) == 1, particles=particles) for p in parts)


def _as_printed(p: str, *, whole: bool, particles: frozenset[str]) -> str:
    """One hyphen part of a name word as printed, for the OCR misreadings `ocr_capital_i` knows; `whole`: the part is
    the whole word."""
    if len(p) >= 3 and p[0] == "l" and p[1:].isalpha() and p[1:].islower() and p[1] not in _NOT_AFTER_L \
            and fold(p) not in particles:
        return "I" + p[1:]
    # "@stergaard", "@YSTEIN": OCR's "@" for the capital Ø, which no other word opens with (fresh seeds 8100-8699,
    # train_8324: "ÅBERG, @YSTEIN L MD" was no name)
    if len(p) >= 4 and p[0] == "@" and p[1:].isalpha() and (p[1:].islower() or p[1:].isupper()):
        return "Ø" + p[1:]
    # ... or glued before the Ø it was also read as ("@Østergaard": fresh seeds 8700-9299, train_8909)
    if len(p) >= 4 and p[0] == "@" and p[1] in "ØøÖö" and p[1:].isalpha():
        return p[1:]
    # a middle initial whose period OCR read as a glyph: "HÅKANSSON, NILS J} MD", "TAMSIN J’" (train_8996)
    if whole and len(p) == 2 and p[0].isupper() and p[1] in _INITIAL_GLYPHS:
        return p[0] + "."
    # a speck read as a period after a whole name word ("Élodie. Desrosiers, MD" under "Sincerely,": fresh seeds
    # 11700-12299, train_12226); five letters at least, so no title ("Prof.", "Mrs.") loses its period
    if whole and len(p) >= 6 and p.endswith(".") and p[0].isupper() and p[1:-1].isalpha() and p[1:-1].islower():
        return p[:-1]
    # a capital Ł read as a lower-case t in a name printed in capitals ("DVOŘÁK-SUBRAMANIAN, tUKASZ MBBS": fresh seeds
    # 11700-12299, train_12122)
    if len(p) >= 3 and p[0] == "t" and p[1:].isalpha() and p[1:].isupper():
        return "Ł" + p[1:]
    # a middle initial's letter read as a bracket or a bar, its period kept: "Dr. Efrain }. López Zúñiga" (fresh seeds
    # 11700-12299, train_12241)
    if whole and p in _GLYPH_FOR_INITIAL:
        return _GLYPH_FOR_INITIAL[p]
    # an l glued before a capital I ("Nunez-lIbarra": fresh seeds 9300-9899, train_9682)
    if len(p) >= 4 and p[:2] == "lI" and p[2:].isalpha() and p[2:].islower():
        return p[1:]
    # the suffix II read "li" ("MacNeil li, Kieran": train_8761): "Il", which `_roman_suffix_read` takes for II where
    # a suffix may stand
    if whole and p == "li":
        return "Il"
    return p


# A roman-numeral suffix as OCR reads its capital I's: "Ill" or "lll" for "III", "Il" for "II".
_ROMAN_MISREAD = re.compile(r"(?=[Il]*l)[Il]{2,3}\.?")


def _roman_suffix_read(tokens: list[str]) -> list[str]:
    """`tokens` with a generational suffix OCR misread ("Declan M Fitzgerald Ill") spelled in capitals, when it
    follows at least two name words (last, or right before a comma: "FITZGERALD Ill, DECLAN")."""
    out = list(tokens)
    for i, tok in enumerate(out):
        end_of_part = i + 1 == len(out) or out[i + 1] == ","
        if end_of_part and i >= 1 and _ROMAN_MISREAD.fullmatch(tok) and out[i - 1] != "," and (
                i >= 2 or (i + 1 < len(out))):
            out[i] = "I" * len(tok.rstrip("."))
    return out


def is_patronymic(word: str, rules: NameRules | None = None) -> bool:
    """True when `word` is a surname that no given name is: a patronymic ending ("Núñez", "López": rule file's
    `patronymic_endings`) or a common Iberian surname that is not also a given name ("García", "Zúñiga":
    `surnames_not_given`), so "Dr. Núñez Echeverría" and "Dr. García Zúñiga" are a title and two surnames."""
    key = fold(word).strip(".,")
    rules = rules or default_name_rules()
    return len(key) > 3 and key.isalpha() and (any(key.endswith(e) for e in rules.patronymic_endings)
                                               or key in rules.surnames_not_given)


def _parse(raw: str, rules: NameRules) -> PersonName | None:
    lex = rules.lexicon
    text = unicodedata.normalize("NFC", raw).replace("’", "'").replace("‘", "'")
    text = " ".join(text.split()).strip(_STRIP_CHARS)
    if not text or len(text) > MAX_NAME_CHARS:
        return None
    tokens = [ocr_capital_i(t, rules) for t in re.findall(r"[^\s,]+|,", text)]
    tokens = _roman_suffix_read(tokens)

    titles: list[str] = []
    while tokens and _title_key(tokens[0]) in lex.titles:
        titles.append(lex.titles[_title_key(tokens.pop(0))])
    while tokens and tokens[0] == ",":
        tokens.pop(0)

    def name_count(toks: list[str]) -> int:
        return sum(1 for t in toks if t != ",")

    credentials: list[str] = []
    # Credentials trail the name ("Jane Doe, MD, PhD"); strip them only while two name words remain so that a
    # surname spelled like a credential ("Jane Ma", "John Do") survives.
    while tokens:
        if tokens[-1] == ",":
            tokens.pop()
            continue
        cred = _credential(lex, tokens[-1])
        if cred is not None and name_count(tokens[:-1]) >= 2:
            credentials.insert(0, cred[0])
            tokens.pop()
            continue
        break

    # "Bhattacharya, MBBS": a surname and its credential, no given name (the "Last, First" reading would make the
    # credential a given name). Credentials of two letters stay ambiguous ("NGUYEN, DO": Do is a given name too).
    if (len(tokens) >= 3 and tokens[1] == "," and name_count(tokens) >= 2
            and all(t == "," or (len(_cred_key(t)) >= 3 and _cred_key(t) in lex.credentials) for t in tokens[2:])):
        return None
    # A title or credential printed before or after the name rather than in its usual place: "Albert DAVIS Dr",
    # "MD Albert DAVIS". Taken only while two name words remain, and a leading credential only in capitals before
    # a name that is not itself all capitals ("DO THI LAN" stays a name).
    while len(tokens) > 2 and _title_key(tokens[-1]) in lex.titles and name_count(tokens[:-1]) >= 2:
        titles.append(lex.titles[_title_key(tokens.pop())])
        while tokens and tokens[-1] == ",":
            tokens.pop()
    lead = lex.credentials.get(_cred_key(tokens[0])) if tokens else None
    if (lead is not None and tokens[0].isupper() and name_count(tokens[1:]) >= 2
            and not all(t.isupper() for t in tokens[1:] if t != "," and not _is_initial(t))):
        credentials.insert(0, lead[0])
        tokens.pop(0)

    words = [t for t in tokens if t != ","]
    if not 2 <= len(words) <= MAX_NAME_TOKENS or tokens.count(",") > 2:
        return None
    for w in words:
        if not _NAME_WORD.match(w) or fold(w.rstrip(".")) in lex.not_name_words:
            return None
    if all(_is_initial(w) or _title_key(w) in lex.suffixes for w in words):
        return None
    if all(_cred_key(w) in lex.credentials for w in words):
        return None  # "MD, FAAPMR": a credential line wrapped under its name, not a "Last, First" name

    if "," not in tokens:
        tokens = _family_in_capitals_last(tokens, lex)
    rebuilt = " ".join(tokens).replace(" ,", ",")
    name = HumanName(rebuilt)
    significant = [w for w in words if fold(w) not in lex.particles and not _is_initial(w)]
    if not significant:
        return None  # "Dr. van der": particles cut from their surname at a line's end, no name
    # Force capitalisation only for text printed in one case (ALL-CAPS headers, lowercase OCR); mixed case such
    # as "DeAndre" or "McKenzie" is kept as printed.
    if any(w.isupper() for w in significant) or all(w.islower() for w in significant):
        name.capitalize(force=True)

    titles.extend(t for t in name.title_list if t)
    suffix_parts: list[str] = []
    for s in name.suffix_list:
        cred = lex.credentials.get(_cred_key(s))
        if cred is not None:
            credentials.append(cred[0])
        elif s:
            suffix_parts.append(s.rstrip("."))
    given = _clean_initials(name.first)
    middle = _clean_initials(name.middle)
    if suffix_parts == ["I"] and not middle and tokens.count(",") == 1 and tokens[-1].rstrip(".") == "I":
        # "MAGALHÃES, BEATRIZ I": after a family-first name's given name a lone I is the middle initial, not the
        # suffix "the First" (fresh seeds 9900-10499, train_10218); "Smith, John II" keeps its suffix
        middle, suffix_parts = "I", []
    # OCR's period for the comma before the credentials ("Margaret Whitfield. MD": fresh seeds 7500-8099,
    # train_7555) is no part of the surname
    family = name.last if _is_initial(name.last) else name.last.rstrip(".")
    if not given or not family or _is_initial(family):
        return None
    if given.islower() and fold(given) in lex.particles and not middle:
        return None  # "von Bülow", "de Souza": a surname with its particle, no given name
    if titles and not credentials and not middle and is_patronymic(given, rules):
        return None  # "Dr. Núñez Echeverría": a title and two surnames, no given name
    if all(w.islower() and fold(w) in lex.particles for w in family.split()):
        return None  # "Maarten van den": cut at the line's end before the surname
    suffix = " ".join(suffix_parts)
    normalized = " ".join(p for p in (given, middle, family, suffix) if p)
    return PersonName(normalized=normalized, given=given, middle=middle, family=family, suffix=suffix,
                      titles=tuple(titles), credentials=tuple(dict.fromkeys(credentials)))


def _family_in_capitals_last(words: list[str], lex: _Lexicon) -> list[str]:
    """ "NEWMAN Alice Jones" → "Alice Jones NEWMAN": a mixed-case name that opens with its only word in capitals
    is printed family first (the HL7 CDA stylesheet and many EHR headers print the family name in capitals, in the
    order the record holds the parts). Suffixes stay last; names in one case, several words in capitals, or the
    capitals elsewhere ("Alice NEWMAN Jones": no way to tell) are left as printed."""
    suffixes = [w for w in words if _title_key(w) in lex.suffixes]
    rest = [w for w in words if _title_key(w) not in lex.suffixes]
    significant = [w for w in rest if not _is_initial(w) and fold(w) not in lex.particles]
    caps = [w for w in significant if w.isupper() and len(w.rstrip(".")) > 1]
    if len(caps) != 1 or len(significant) < 2 or rest[0] is not caps[0]:
        return words
    return [w for w in rest if w is not caps[0]] + [caps[0], *suffixes]


def _clean_initials(part: str) -> str:
    """ "A." → "A" inside a given or middle name."""
    return " ".join(w.rstrip(".") if _is_initial(w) else w for w in part.split())


@functools.lru_cache(maxsize=4096)
def _parse_default(raw: str) -> PersonName | None:
    return _parse(raw, default_name_rules())


def parse_person_name(raw: str, rules: NameRules | None = None) -> PersonName | None:
    """Split `raw` into a PersonName, or None when it does not look like a person's full name."""
    if rules is None or rules is default_name_rules():
        return _parse_default(raw)
    return _parse(raw, rules)


def normalize_person_name(raw: str, rules: NameRules | None = None) -> str | None:
    """ "SMITH, JOHN A" → "John A Smith"; titles and credentials dropped; None when not a person's full name."""
    parsed = parse_person_name(raw, rules)
    return parsed.normalized if parsed else None


# --------------------------------------------------------------------------------------------------------------
# Intake matching
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NameMatch:
    """Whether a found name is the intake's person; `detail` says why in a short phrase without any name."""

    result: CheckResult
    score: float  # 0..1
    detail: str


@functools.cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@functools.lru_cache(maxsize=65_536)  # pure; called for every pair of names compared (people of long records)
def _word_key(w: str) -> str:
    """Comparison form of one name word: folded, apostrophes and periods removed ("O'Neil" ≡ "ONeil")."""
    return fold(w).replace("'", "").replace(".", "")


def _parts(s: str, rules: NameRules) -> list[str]:
    """Words of a name part, hyphens split, particles dropped: "de la Cruz-Ruiz" → ["cruz", "ruiz"]."""
    out = [_word_key(w) for w in re.split(r"[\s\-]+", s) if w]
    kept = [w for w in out if w and w not in rules.lexicon.particles]
    return kept or [w for w in out if w]


def _ratio(a: str, b: str) -> float:
    return fuzz.ratio(a, b) / 100.0


# A short form printed as the start of the full given name ("Wolf" for "Wolfgang", "Alex" for "Alejandro") is at
# least this long and at least two letters shorter ("Dan" is not "Dana").
MIN_SHORT_FORM = 3


@functools.cache
def _hypocorisms() -> dict[str, frozenset[str]]:
    """Short form → the names it stands for, from the rule file's `hypocorisms` (both directions looked up)."""
    out: dict[str, set[str]] = {}
    for name, shorts in default_name_rules().hypocorisms.items():
        for short in shorts:
            out.setdefault(short, set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


def are_nicknames(a: str, b: str) -> bool:
    """True when two folded given names are the same name or nicknames of one another: the `nicknames` tables, the
    rule file's `hypocorisms`, or one the leading short form of the other ("Wolf", "Wolfgang")."""
    nn = _nicknamer()
    if b in nn.nicknames_of(a) or a in nn.nicknames_of(b):
        return True
    if (nn.canonicals_of(a) | {a}) & (nn.canonicals_of(b) | {b}):
        return True
    extra = _hypocorisms()
    if a in extra.get(b, ()) or b in extra.get(a, ()):
        return True
    short, full = sorted((a, b), key=len)
    return len(short) >= MIN_SHORT_FORM and len(full) >= len(short) + 2 and full.startswith(short)


@dataclass(frozen=True, slots=True)
class _PartResult:
    result: CheckResult
    score: float
    note: str  # "" when the part matched plainly


def _compare_surnames(a: PersonName, b: PersonName, threshold: float, rules: NameRules) -> _PartResult:
    pa, pb = _parts(a.family, rules), _parts(b.family, rules)
    whole = _ratio(" ".join(pa), " ".join(pb))
    if whole >= threshold:
        return _PartResult(CheckResult.PASS, whole, "" if whole == 1.0 else "surname matches allowing small "
                                                                            "spelling differences")
    # "deVries" for "de Vries": a particle joined to the surname, by the print or by OCR (fresh seeds 11700-12299,
    # train_11785)
    joined = _ratio(*("".join(_word_key(w) for w in re.split(r"[\s\-]+", n.family) if w) for n in (a, b)))
    if joined >= threshold:
        return _PartResult(CheckResult.PASS, joined, "surname matches with its particle joined to it")
    best = max((_ratio(x, y) for x in pa for y in pb), default=0.0)
    if best >= threshold and (len(pa) > 1 or len(pb) > 1):
        return _PartResult(CheckResult.PASS, 0.9 * best, "one part of a hyphenated or compound surname matches")
    # "Ana Garcia Lopez" (no hyphen) parses with "Garcia" as a middle name; a maiden or married surname alone
    # on the other side matches that part.
    ma = [_word_key(w) for w in a.middle.split() if not _is_initial(w)]
    mb = [_word_key(w) for w in b.middle.split() if not _is_initial(w)]
    cross = max([_ratio(x, y) for x in pa for y in mb] + [_ratio(x, y) for x in pb for y in ma], default=0.0)
    if cross >= threshold:
        return _PartResult(CheckResult.PASS, 0.85 * cross, "surname matches one part of a compound surname")
    return _PartResult(CheckResult.FAIL, whole, "surname differs")


def _compare_given(a: PersonName, b: PersonName, threshold: float) -> _PartResult:
    ga, gb = _word_key(a.given.split()[0]), _word_key(b.given.split()[0])
    full_a, full_b = _word_key(a.given), _word_key(b.given)
    r = _ratio(full_a, full_b)
    if r >= threshold:
        return _PartResult(CheckResult.PASS, r, "" if r == 1.0 else "first name matches allowing small spelling "
                                                                    "differences")
    mids_a = [_word_key(w) for w in a.middle.split() if not _is_initial(w)]
    mids_b = [_word_key(w) for w in b.middle.split() if not _is_initial(w)]
    if any(_ratio(gb, m) >= threshold for m in mids_a) or any(_ratio(ga, m) >= threshold for m in mids_b):
        return _PartResult(CheckResult.PASS, 0.85, "matched on a middle name used as first name")
    if len(ga) == 1 or len(gb) == 1:
        if ga[0] == gb[0]:
            return _PartResult(CheckResult.UNKNOWN, 0.5, "first name given only as an initial")
        return _PartResult(CheckResult.FAIL, 0.0, "first initial differs")
    parts_a, parts_b = set(re.split(r"[\s\-]+", full_a)), set(re.split(r"[\s\-]+", full_b))
    # "Jean-Pierre" and "Jean": one side's parts all within the other's. "Hyun-woo" and "Dong-hyun" share a syllable
    # but are different names.
    if (len(parts_a) > 1 or len(parts_b) > 1) and (parts_a <= parts_b or parts_b <= parts_a):
        return _PartResult(CheckResult.PASS, 0.9, "one part of a hyphenated or double first name matches")
    if are_nicknames(ga, gb):
        return _PartResult(CheckResult.PASS, 0.9, "matched via nickname")
    return _PartResult(CheckResult.FAIL, r, "first name differs")


def _middle_with_extra_initial(a: PersonName, b: PersonName, threshold: float) -> _PartResult | None:
    """PASS when the middle parts differ only by an initial printed on one side, the full words matching ("L
    Montoya" and "Montoya": "Ximena L. Montoya Echeverría" typed "Ximena Montoya Echeverria"); None otherwise."""
    wa = [_word_key(w) for w in a.middle.split()]
    wb = [_word_key(w) for w in b.middle.split()]
    full_a, full_b = [w for w in wa if len(w) > 1], [w for w in wb if len(w) > 1]
    init_a, init_b = [w for w in wa if len(w) == 1], [w for w in wb if len(w) == 1]
    if len(full_a) != len(full_b) or not full_a or (init_a and init_b) or not (init_a or init_b):
        return None
    if all(_ratio(x, y) >= threshold for x, y in zip(full_a, full_b, strict=True)):
        return _PartResult(CheckResult.PASS, 1.0, "middle initial on one side only")
    return None


def _compare_middle(a: PersonName, b: PersonName, threshold: float) -> _PartResult:
    if not a.middle or not b.middle:
        return _PartResult(CheckResult.PASS, 1.0, "" if a.middle == b.middle else "middle name on one side only")
    ma, mb = _word_key(a.middle.split()[0]), _word_key(b.middle.split()[0])
    extra = _middle_with_extra_initial(a, b, threshold)
    if extra is not None:
        return extra
    if len(ma) == 1 or len(mb) == 1:
        if ma[0] == mb[0]:
            return _PartResult(CheckResult.PASS, 1.0, "" if ma == mb else "middle initial matches middle name")
        return _PartResult(CheckResult.FAIL, 0.0, "middle initial differs")
    if _ratio(ma, mb) >= threshold or are_nicknames(ma, mb):
        return _PartResult(CheckResult.PASS, 1.0, "")
    return _PartResult(CheckResult.FAIL, 0.0, "middle name differs")


def _compare(a: PersonName, b: PersonName, threshold: float, rules: NameRules) -> NameMatch:
    sur = _compare_surnames(a, b, threshold, rules)
    if sur.result is CheckResult.FAIL:
        return NameMatch(CheckResult.FAIL, round(sur.score / 2, 3), sur.note)
    given = _compare_given(a, b, threshold)
    # A given name or surname matched against the other side's middle name ("J. Michael Smith" vs "Michael
    # Smith", "Ana Garcia Lopez" vs "Ana Garcia") already used the middle names: they are not compared again.
    middle_used = given.note.startswith("matched on a middle") or sur.note.startswith("surname matches one part")
    middle = _PartResult(CheckResult.PASS, 1.0, "") if middle_used else _compare_middle(a, b, threshold)
    if a.suffix and b.suffix and _title_key(a.suffix) != _title_key(b.suffix):
        return NameMatch(CheckResult.FAIL, 0.0, "generational suffix differs")
    notes = [p.note for p in (sur, given, middle) if p.note]
    score = round((sur.score + given.score) / 2, 3)
    for part in (given, middle):
        if part.result is CheckResult.FAIL:
            return NameMatch(CheckResult.FAIL, min(score, part.score), part.note)
    if given.result is CheckResult.UNKNOWN:
        return NameMatch(CheckResult.UNKNOWN, score, "; ".join(notes))
    return NameMatch(CheckResult.PASS, score, "; ".join(notes) or "same name")


def _swapped(n: PersonName) -> PersonName:
    """The name read surname-first without a comma ("SMITH JOHN"): first and last exchanged."""
    return PersonName(normalized=n.normalized, given=n.family, middle=n.middle, family=n.given, suffix=n.suffix,
                      titles=n.titles, credentials=n.credentials)


def match_intake(intake_name: str, found_name: str, threshold: float = 0.85,
                 rules: NameRules | None = None) -> NameMatch:
    """Whether `found_name` names the intake's person (threshold: rapidfuzz ratio 0..1 per name part).

    Passes for word order, missing middle names or initials, accents, one part of a hyphenated surname, common
    nicknames and small OCR noise; fails for a different first name or surname; unknown when either side is not
    a readable full name or the first name is only an initial. Raises ValueError for a threshold outside 0..1.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be within 0..1")
    rules = rules or default_name_rules()
    a, b = parse_person_name(intake_name, rules), parse_person_name(found_name, rules)
    if a is None or b is None:
        return NameMatch(CheckResult.UNKNOWN, 0.0, "name could not be read as a full person name")
    direct = _compare(a, b, threshold, rules)
    if direct.result is CheckResult.PASS:
        return direct
    swapped = _compare(a, _swapped(b), threshold, rules)
    if swapped.result is CheckResult.PASS:
        detail = "first and last name printed in reverse order"
        if swapped.detail != "same name":
            detail += "; " + swapped.detail
        return NameMatch(CheckResult.PASS, round(0.95 * swapped.score, 3), detail)
    return direct


def same_person(a: str, b: str, threshold: float = 0.85, rules: NameRules | None = None) -> bool:
    """True when two printed names are the same person by `match_intake`'s rules (either direction)."""
    return (match_intake(a, b, threshold, rules).result is CheckResult.PASS
            or match_intake(b, a, threshold, rules).result is CheckResult.PASS)
