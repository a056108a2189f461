"""Find every person a document names and the role each one plays; choose the patient and the treating physician.

Layout rules come first (the linear text keeps visual lines: words of a line joined by spaces, lines by "\\n"):
key-value labels on the same or the next line, lead phrases ("Electronically signed by"), section headings
("Emergency Contact", "Care Team", "MyChart") and care-team role words ("Jane Doe, MD — PCP"). spaCy PERSON
entities are a low-confidence fallback, kept only when a "Dr." title or a credential sits next to them. Every
mention carries Presidio-style evidence: the rule that fired, its base weight and each adjustment with its reason.

Confidence = cue weight × minimum OCR confidence of the cue and name words + adjustments, clamped to 0..1. The
weights live in `pipeline/rules/name_rules.yaml` (the cues' own, and `weights` for the other rules); the adjustments
are the constants below.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum, auto

from extractors.nlp import ParsedText
from pipeline.names import (
    MAX_NAME_TOKENS,
    CredentialKind,
    Cue,
    NameRules,
    RoleWord,
    Section,
    TrailingCue,
    credential_of,
    default_name_rules,
    fold,
    is_avatar_initials,
    is_title,
    parse_person_name,
    same_person,
)
from pipeline.types import (
    Adjustment,
    Choice,
    Evidence,
    LinearText,
    PersonMention,
    Role,
    evidence_from_span,
    ocr_confidence,
)

FINDER = "people"

# Adjustments (deltas on the 0..1 confidence scale), each recorded on the evidence with its reason.
NO_CREDENTIAL_PENALTY = -0.2  # a treating-physician label on a name printed without credential or "Dr."
ADVANCED_PRACTICE_PENALTY = -0.05  # NP/PA-C: may render the visit, but is not a physician
PATIENT_WITH_TITLE_PENALTY = -0.3  # a "patient" printed as "Dr. X, MD" is more likely a mislabelled provider
REPEAT_BONUS = 0.05  # per further mention of the same person in the same role
REPEAT_BONUS_CAP = 0.1
FALLBACK_TREATING_FACTOR = 0.7  # an unlabelled clinician chosen as treating keeps 70 % of its confidence
# A label printed without its colon at the start of a line ("Author Jane DOE, Authored On: …") is a weaker cue than
# "Author: Jane Doe": a table cell of a rendered header, but also the first word of a sentence.
BARE_LABEL_PENALTY = -0.1

NEAR_TIE_MARGIN = 0.05  # two different people whose confidences differ by less than this are a near-tie
SAME_PERSON_THRESHOLD = 0.85

_SEPARATORS = frozenset({"-", "–", "—", "|", "•", "·", "/", ":", "*", ">"})
_TOKEN = re.compile(r"\S+")
_BULLET = re.compile(r"^[\s\-–—•·*>|]*")
_TITLE_BEFORE = re.compile(r"(?:(?<![\w])(?:dr|doctor)\.?)\s*$", re.IGNORECASE)
_CRED_AFTER = re.compile(r"^\s*,?\s*([A-Za-z][A-Za-z.\-]*)")
# A specialty printed between a name and its care-team role: "Pain Medicine - Attending", "Family Medicine | PCP";
# one to four words of letters, then a separator.
_SPECIALTY = r"(?:[^\W\d_][^\W\d_'.]*(?:\s+&?\s*[^\W\d_][^\W\d_'.]*){0,3}\s*[-–—|:,]\s*)"
# What may follow a bare name in a section line: a phone number ("555-123-4567", "Cell: (312) 555-0177 x12").
_PHONE_REST = re.compile(r"^\s*[-–—|,•:]?\s*(?:[A-Za-z]{1,6}\.?:?\s*)?\+?[\d(][\d\s().\-]{6,}\d"
                         r"(?:\s*(?:x|ext\.?)\s*\d+)?\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------------------
# Compiled rules
# --------------------------------------------------------------------------------------------------------------

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
    )
    _MATCHERS[id(rules)] = (rules, m)
    return m


# --------------------------------------------------------------------------------------------------------------
# Candidates: a name span, the cue that gave it a role, and why
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int  # name span in the linear text
    end: int
    cue_start: int  # evidence span starts at the cue (label) and ends with the name
    role: Role
    rule: str
    weight: float
    why: str
    fallback: bool = False
    bare_label: bool = False  # the cue was printed without its colon (BARE_LABEL_PENALTY)


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int

    def text(self, full: str) -> str:
        return full[self.start:self.end]


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for part in text.split("\n"):
        out.append(_Line(pos, pos + len(part)))
        pos += len(part) + 1
    return out


@dataclass(frozen=True, slots=True)
class _Token:
    """A whitespace-delimited token of a name run: its span in the region read and its text."""

    start: int
    end: int
    text: str


class _Step(Enum):
    """What one token does to a name run (`_classify`)."""

    SKIP = auto()  # a separator before the name starts: ignored
    LABEL = auto()  # "Date:", the next field's label: the run ends, and that label's words are dropped
    STOP = auto()  # a separator, bracket, digit, stop word, lowercase or non-name word: the run ends before it
    ORGANIZATION = auto()  # an organisation word: the words before it name an organisation, not a person
    TITLE = auto()  # "Dr", "Mrs" before the first name word
    CREDENTIAL = auto()  # "MD", "RN" after a name word; everything after it must be credentials too
    PARTICLE = auto()  # "de", "van" inside a name
    NAME = auto()  # a capitalised name word or initial


@dataclass(frozen=True, slots=True)
class _RunState:
    """Where a name run stands: name words so far, "LAST," commas used, and whether credentials have started."""

    names: int = 0
    commas: int = 0
    in_creds: bool = False


_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['\-][^\W\d_]+)*\.?$")


def _classify(tok: str, accepted: Sequence[_Token], state: _RunState, rules: NameRules) -> _Step:
    """The step one token makes in a name run, by the first rule that applies (see `_Step`)."""
    lex = rules.lexicon
    if not accepted and (tok in _SEPARATORS or tok == ","):
        return _Step.SKIP
    if tok.endswith(":"):
        return _Step.LABEL
    if tok in _SEPARATORS or tok.startswith(("(", "[", "<", "\"")) or any(ch.isdigit() for ch in tok):
        return _Step.STOP
    core = tok.rstrip(",.!?;)").lstrip("'")
    if not core:
        return _Step.STOP
    key = fold(core)
    if is_title(core, rules) and state.names == 0 and not state.in_creds:
        return _Step.TITLE
    if state.names >= 1 and credential_of(core, rules) is not None and (
            state.in_creds or core.isupper() or "." in tok or accepted[-1].text.endswith(",")):
        return _Step.CREDENTIAL
    if key in lex.organization_words and not state.in_creds:
        return _Step.ORGANIZATION
    if key.replace(".", "") in lex.stop_words or key in lex.not_name_words or state.in_creds:
        return _Step.STOP
    if state.names >= 1 and key in lex.particles and core.islower():
        return _Step.PARTICLE
    if _NAME_WORD.match(core) and core[0].isupper():
        return _Step.NAME
    return _Step.STOP


def _name_run(text: str, start: int, end: int, rules: NameRules, m: _Matcher) -> tuple[int, int] | None:
    """The longest run of name-like tokens in text[start:end] from its beginning: titles, name words, particles,
    initials, one "LAST," comma and trailing credentials. Stops at the next field ("DOB", "Date:"), a digit, a
    lowercase word, a separator or a bracket. Returns the span without trailing punctuation, or None."""
    toks = [_Token(t.start(), t.end(), t.group()) for t in _TOKEN.finditer(text[start:end])]
    accepted: list[_Token] = []
    name_words: list[int] = []  # indexes into `accepted` of the tokens counted as name words
    state = _RunState()
    broke_on_label = False
    for k, token in enumerate(toks):
        tok = token.text
        step = _classify(tok, accepted, state, rules)
        if step is _Step.SKIP:
            continue
        if step is _Step.LABEL:
            broke_on_label = True
            break
        if step is _Step.STOP:
            break
        if step is _Step.ORGANIZATION:
            # "Neighborhood Physicians Practice", "MU CERTIFY HOSPITAL", "Generic EHR Factory": the words before an
            # organisation word are part of its name, not a person's, unless a title or credential marks a person
            # ("Dr. Jane Doe Clinic" does not occur; "Jane Doe, MD" ends with its credential).
            if accepted and not accepted[-1].text.endswith(",") and not any(
                    is_title(t.text.rstrip(",."), rules) for t in accepted):
                return None
            break
        if step is _Step.CREDENTIAL:
            state = dataclasses.replace(state, in_creds=True)
        elif step is _Step.NAME:
            state = dataclasses.replace(state, names=state.names + 1)
            name_words.append(len(accepted))
            if state.names > MAX_NAME_TOKENS:
                return None
        trimmed = len(tok) - len(tok.rstrip(",;!?)"))
        accepted.append(_Token(token.start, token.end - trimmed, tok))
        if tok.endswith(("!", "?", ";", ")")):
            break
        if tok.endswith(","):
            nxt = toks[k + 1].text if k + 1 < len(toks) else ""
            if nxt and credential_of(nxt.rstrip(",."), rules) is not None:
                continue
            if state.names == 1 and state.commas == 0:
                state = dataclasses.replace(state, commas=state.commas + 1)
                continue
            break
    if broke_on_label:
        # "John Smith Date of Service:" — the words of the next label are not part of the name.
        while accepted and fold(accepted[-1].text.rstrip(",.")) in m.label_vocab:
            accepted.pop()
    while accepted and accepted[-1].text.rstrip(",") in {"", ","}:
        accepted.pop()
    if not accepted or state.names == 0:
        return None
    # Portal headers draw the account holder's initials before the name ("SW Samuel Whitfield"): drop them.
    if name_words and name_words[0] == 0 and is_avatar_initials(
            accepted[0].text, [accepted[i].text.rstrip(",.") for i in name_words[1:] if i < len(accepted)]):
        accepted.pop(0)
    return start + accepted[0].start, start + accepted[-1].end


def _rest_after(text: str, pos: int, line: _Line) -> str:
    """What follows a name on its line (a role word, a relation, a phone number)."""
    return text[pos:line.end]


@dataclass(frozen=True, slots=True)
class _Printed[R: (RoleWord, TrailingCue)]:
    """A role word or trailing cue found next to a name, and its phrase as printed."""

    rule: R
    phrase: str


def _line_role_word(rest: str, m: _Matcher) -> _Printed[RoleWord] | None:
    """The role word printed after a name on its line ("— PCP", "Pain Medicine - Attending") and its phrase."""
    hit = m.role_word_re.match(rest)
    rw = m.role_word_by_phrase.get(fold(hit.group("phrase"))) if hit else None
    return _Printed(rw, " ".join(hit.group("phrase").split())) if rw is not None and hit is not None else None


def _relation_after(rest: str, m: _Matcher) -> str | None:
    hit = m.relation_re.match(rest)
    return fold(hit.group("rel")) if hit else None


def _section_of(line_text: str, m: _Matcher) -> Section | None:
    return m.section_by_phrase.get(fold(line_text.strip().rstrip(":").strip()))


def _is_role_only(line_text: str, m: _Matcher) -> _Printed[RoleWord] | None:
    """The role word of a line holding only a role ("PCP", "Pain Medicine - Attending") and its printed phrase."""
    hit = m.role_line_re.match(line_text)
    rw = m.role_word_by_phrase.get(fold(hit.group("phrase"))) if hit else None
    return _Printed(rw, hit.group("phrase")) if rw is not None and hit is not None else None


def _trailing_cue(rest: str, m: _Matcher) -> _Printed[TrailingCue] | None:
    """The field label right after a name ("DOB:", "Date of Birth", "MRN") and its printed phrase."""
    hit = m.trailing_re.match(rest) if m.trailing_re is not None else None
    if hit is None:
        return None
    return _Printed(m.trailing_by_phrase[fold(hit.group("phrase"))], hit.group("phrase"))


class _Placement(Enum):
    """Where a cue sits on its line, which decides what its name must look like."""

    LINE_START = auto()  # at the start (after bullets), or anywhere for a cue that is not `line_start`
    AFTER_HEADER = auto()  # mid-line right after a portal header word ("… Portal Welcome, Ruth Abernathy")
    MID_LINE = auto()  # mid-line otherwise: its name must be followed by "| Log out" or end the line


@dataclass(frozen=True, slots=True)
class _CueHit:
    """A cue that fired on a line: the match, the cue, where it sits, and whether it was printed without its colon."""

    match: re.Match[str]
    cue: Cue
    placement: _Placement
    bare: bool


def _cue_hits(line_text: str, rules: NameRules, m: _Matcher) -> list[_CueHit]:
    """The cues on a line that may announce a name (colon, line position and blocking words checked)."""
    lex = rules.lexicon
    hits: list[_CueHit] = []
    for hit in m.cue_re.finditer(line_text):
        cue = m.cue_by_phrase.get(fold(hit.group("phrase")))
        if cue is None:
            continue
        colon = hit.group("colon")
        before = line_text[:hit.start()]
        prev_words = before.split()
        if hit.group("qual") is not None and not cue.qualified:
            continue  # "Provider Legal:" on a cue that takes no name-use word
        bare = False
        if cue.colon == "required" and colon not in (":", ";"):
            if not (cue.bare_at_line_start and hit.group("qual") is None and not _BULLET.sub("", before).strip()):
                continue
            bare = True
        placement = _Placement.LINE_START
        if cue.line_start and _BULLET.sub("", before).strip():
            # Not at the line start: allowed right after a portal header word ("… Portal Welcome, Ruth Abernathy",
            # an OCR-glued header band), or when the name is followed by "| Log out" (checked by the caller).
            after_header = fold(prev_words[-1].strip(",.;:|")) in m.mid_line_after.get(cue.id, frozenset())
            if not after_header and cue.id not in m.mid_line_followed_by:
                continue
            placement = _Placement.AFTER_HEADER if after_header else _Placement.MID_LINE
        if prev_words and fold(prev_words[-1].strip(",.;:")) in lex.blocking_qualifiers:
            continue  # "Ordering Provider:", "Contact Name:" — a different field
        hits.append(_CueHit(hit, cue, placement, bare))
    return hits


def _label_candidates(text: str, line: _Line, next_line: _Line | None, section: Section | None, rules: NameRules,
                      m: _Matcher) -> tuple[list[_Candidate], bool]:
    """Candidates from cues on `line`; the flag says the next line was read as a label's value."""
    line_text = line.text(text)
    hits = _cue_hits(line_text, rules, m)
    out: list[_Candidate] = []
    used_next = False
    for i, cue_hit in enumerate(hits):
        hit, cue, bare = cue_hit.match, cue_hit.cue, cue_hit.bare
        value_start = line.start + hit.end()
        value_end = line.start + hits[i + 1].match.start() if i + 1 < len(hits) else line.end
        use = m.name_use_re.match(text, value_start, value_end) if m.name_use_re is not None else None
        if use is not None:
            value_start = use.end()  # "Performer: Legal: Jane DOE": the name-use word is not part of the name
        label = " ".join(hit.group(0).rstrip(" :;,").split())
        role, why = cue.role, f"named after '{label}'" + (" (printed without a colon)" if bare else "")
        if cue_hit.placement is _Placement.AFTER_HEADER:
            why += " right after the portal header"
        if cue.inherit_section and section is not None:
            role, why = section.role, f"{why} under the heading of section '{section.id}'"
        span = _name_run(text, value_start, value_end, rules, m)
        cue_start = line.start + hit.start()
        if span is None and cue.next_line and next_line is not None and not text[value_start:value_end].strip():
            nxt = next_line.text(text)
            if not _starts_with_label(nxt, m) and _section_of(nxt, m) is None:
                nxt_end = next_line.end
                first_cue = m.cue_re.search(nxt)
                if first_cue is not None and _cues_on(nxt, m):
                    nxt_end = next_line.start + first_cue.start()  # "DAVIS Albert Dr, Performer: DAVIS Tracy"
                nxt_start = next_line.start
                use_next = m.name_use_re.match(text, nxt_start, nxt_end) if m.name_use_re is not None else None
                if use_next is not None:
                    nxt_start = use_next.end()  # "Patient⏎Legal: Jane DOE": label and value in different OCR lines
                span = _name_run(text, nxt_start, nxt_end, rules, m)
                if span is not None:
                    used_next = not _cues_on(nxt, m)  # a line holding further labels is still read for them
                    why += " (value on the next line)"
        elif (not bare and i + 1 == len(hits) and next_line is not None
              and _wrapped(text, value_start, span, line, rules)
              and not _starts_with_label(next_line.text(text), m)):
            # "Performer: Dr⏎Henry SEVEN, Performer: …": a header value wrapped onto the next line.
            first_cue = m.cue_re.search(next_line.text(text))
            joined_end = next_line.start + first_cue.start() if first_cue is not None else next_line.end
            joined = _name_run(text, value_start, joined_end, rules, m)
            if joined is not None and joined[1] > line.end and parse_person_name(text[joined[0]:joined[1]],
                                                                                 rules) is not None:
                span = joined
                why += " (wrapped onto the next line)"
        if span is None:
            continue
        if bare and not text[span[1]:line.end].strip() and line_text.isupper():
            continue  # "PATIENT TREATMENT PLAN": a heading in capitals, not a label and its value
        if cue_hit.placement is _Placement.MID_LINE:
            after = text[span[1]:line.end] if span[1] <= line.end else "x"
            if m.mid_line_followed_by[cue.id].match(after):
                why += f" followed by '{' '.join(after.split()[:3])}'"
            elif not after.strip(" !.") and not _titled_or_credentialed(text[span[0]:span[1]], rules):
                why += " at the end of the line"  # "… Cascade Health  Welcome, Ruth Abernathy"
            else:
                continue  # "Thanks again. Hi Dr. Jane Doe" inside a message body
        relation = _relation_after(_rest_after(text, span[1], line if span[1] <= line.end else next_line or line), m)
        if relation is not None:
            why += f", marked '({relation})'"
            if role is Role.PATIENT:
                role = Role.FAMILY_MEMBER
        out.append(_Candidate(span[0], span[1], cue_start, role, cue.id, cue.weight, why, bare_label=bare))
    return out, used_next


def _wrapped(text: str, value_start: int, span: tuple[int, int] | None, line: _Line, rules: NameRules) -> bool:
    """True when a label's value is cut by the line end: only a title or a partial name (one word) fills the rest
    of the line ("Performer: Dr", "Performer: Albert")."""
    rest = text[value_start:line.end].strip(" ,")
    if not rest:
        return False
    if span is None:
        return all(is_title(t, rules) for t in rest.split())
    return not text[span[1]:line.end].strip(" ,") and parse_person_name(text[span[0]:span[1]], rules) is None


def _starts_with_label(line_text: str, m: _Matcher) -> bool:
    """True when a line opens with a field label ("Performer: …", "Author Jane DOE"): it is a field of its own, not
    the value of the label before it."""
    hit = m.cue_re.match(_BULLET.sub("", line_text))
    if hit is None:
        return False
    cue = m.cue_by_phrase.get(fold(hit.group("phrase")))
    return cue is not None and (hit.group("colon") in (":", ";") or cue.bare_at_line_start)


def _titled_or_credentialed(raw: str, rules: NameRules) -> bool:
    name = parse_person_name(raw, rules)
    return name is None or bool(name.titles) or bool(name.credentials)


def _cues_on(line_text: str, m: _Matcher) -> list[Cue]:
    """Cues printed as labels (with a colon) on a line; used to refuse a next line that is itself a field."""
    out: list[Cue] = []
    for hit in m.cue_re.finditer(line_text):
        cue = m.cue_by_phrase.get(fold(hit.group("phrase")))
        if cue is not None and hit.group("colon") in (":", ";"):
            out.append(cue)
    return out


def _family_lead_candidates(text: str, line: _Line, rules: NameRules, m: _Matcher) -> list[_Candidate]:
    out: list[_Candidate] = []
    line_text = line.text(text)
    for hit in m.family_lead_re.finditer(line_text):
        span = _name_run(text, line.start + hit.end(), line.end, rules, m)
        if span is not None:
            out.append(_Candidate(span[0], span[1], line.start + hit.start(), Role.FAMILY_MEMBER, "family_mention",
                                  rules.weights.family_lead, f"named as the patient's {fold(hit.group('rel'))}"))
    return out


def _line_candidates(text: str, rules: NameRules, m: _Matcher) -> list[_Candidate]:
    lines = _lines(text)
    out: list[_Candidate] = []
    section: Section | None = None
    section_seen = 0
    skip_next = False
    used_role_lines: set[int] = set()
    for idx, line in enumerate(lines):
        line_text = line.text(text)
        if skip_next:
            skip_next = False
            continue
        if not line_text.strip():
            section = None  # a blank line (or a page break) ends a section
            continue
        heading = _section_of(line_text, m)
        if heading is not None:
            section, section_seen = heading, 0
            continue
        if section is not None and (section_seen >= section.max_lines or _ends_section(line_text, m)):
            section = None
        section_seen += 1
        nxt = lines[idx + 1] if idx + 1 < len(lines) else None
        found, used_next = _label_candidates(text, line, nxt, section, rules, m)
        skip_next = used_next
        found += [c for c in _family_lead_candidates(text, line, rules, m)
                  if not any(c.start < f.end and f.start < c.end for f in found)]
        if not found:
            found = _bare_name_candidates(text, lines, idx, section, used_role_lines, rules, m)
        out.extend(found)
    return out


def _ends_section(line_text: str, m: _Matcher) -> bool:
    """A line ending with ":" (a heading we do not know) or holding a label of another field closes a section."""
    if line_text.rstrip().endswith(":") and not _cues_on(line_text, m):
        return True
    return any(not c.inherit_section for c in _cues_on(line_text, m))


def _bare_name_candidates(text: str, lines: Sequence[_Line], idx: int, section: Section | None,
                          used_role_lines: set[int], rules: NameRules, m: _Matcher) -> list[_Candidate]:
    """A line that starts with a name: "Jane Doe, MD — PCP", "Tom Smith (spouse)", or a bare name in a section."""
    line = lines[idx]
    line_text = line.text(text)
    bullet = _BULLET.match(line_text)
    lead = len(bullet.group(0)) if bullet else 0
    span = _name_run(text, line.start + lead, line.end, rules, m)
    if span is None:
        return []
    rest = _rest_after(text, span[1], line)
    role_word = _line_role_word(rest, m)
    if role_word is not None:
        rw = role_word.rule
        return [_Candidate(span[0], span[1], span[0], rw.role, rw.id, rw.weight,
                           f"listed with the role '{role_word.phrase}'")]
    relation = _relation_after(rest, m)
    in_ec = section is not None and section.role is Role.EMERGENCY_CONTACT
    trailing = _trailing_cue(rest, m)
    if relation is None and trailing is not None and (section is None or section.role is trailing.rule.role):
        # "José Núñez DOB: 07/30/1971" opening an after-visit summary. Inside an emergency-contact or guarantor
        # section the same line is that person's, and takes the section's role below.
        tc = trailing.rule
        return [_Candidate(span[0], span[1], span[0], tc.role, tc.id, tc.weight,
                           f"named at the start of a line followed by '{trailing.phrase}'")]
    if relation is not None:
        role = Role.EMERGENCY_CONTACT if in_ec else Role.FAMILY_MEMBER
        rule = section.id if in_ec and section is not None else "relation_marker"
        weight = rules.weights.relation_in_emergency_contact if in_ec else rules.weights.relation_marker
        return [_Candidate(span[0], span[1], span[0], role, rule, weight,
                           f"marked '({relation})'" + (" in the emergency-contact section" if in_ec else ""))]
    if section is None:
        return []
    # A bare name in a section must fill its line, apart from a phone number or a birth date / record number
    # ("Maria Nunez DOB: …" under "Emergency Contact").
    if rest.strip() and not _PHONE_REST.match(rest) and trailing is None:
        return []
    if section.role is Role.OTHER_CLINICIAN:
        # Care-team list: the role may be on the line before or after the name.
        for j in (idx - 1, idx + 1):
            if 0 <= j < len(lines) and j not in used_role_lines:
                role_line = _is_role_only(lines[j].text(text), m)
                if role_line is not None:
                    rw = role_line.rule
                    used_role_lines.add(j)
                    return [_Candidate(span[0], span[1], span[0], rw.role, rw.id, rw.weight,
                                       f"listed in the care team with the role '{' '.join(role_line.phrase.split())}'")]
    return [_Candidate(span[0], span[1], span[0], section.role, section.id, section.weight,
                       f"named under the heading of section '{section.id}'")]


def _spacy_candidates(parsed: ParsedText, taken: list[tuple[int, int]], rules: NameRules,
                      m: _Matcher) -> list[_Candidate]:
    """PERSON entities not found by a layout rule, kept only with a "Dr." title or a credential next to them."""
    text = parsed.text.text
    out: list[_Candidate] = []
    for ent in parsed.persons:
        s, e = ent.start_char, ent.end_char
        if any(s < te and ts < e for ts, te in taken):
            continue
        line_start = text.rfind("\n", 0, s) + 1
        line_end = text.find("\n", e)
        line_end = len(text) if line_end == -1 else line_end
        before = text[line_start:s]
        title_hit = _TITLE_BEFORE.search(before)
        titled = title_hit is not None or is_title(ent.text.split()[0], rules)
        if title_hit is not None:
            s = line_start + title_hit.start()
        credentialed = False
        while True:
            hit = _CRED_AFTER.match(text[e:line_end])
            if hit is None or credential_of(hit.group(1), rules) is None or not hit.group(1).isupper():
                break
            credentialed = True
            e = e + hit.end()
        if not (titled or credentialed):
            continue
        context = fold(before[-40:])
        rw_hits = list(m.role_word_anywhere_re.finditer(context))
        if rw_hits:
            rw = m.role_word_by_phrase[fold(rw_hits[-1].group("phrase"))]
            out.append(_Candidate(s, e, s, rw.role, f"spacy_person+{rw.id}", rules.weights.spacy_with_role_word,
                                  f"a titled or credentialed name in running text after '{rw_hits[-1].group()}'",
                                  fallback=True))
        else:
            out.append(_Candidate(s, e, s, Role.OTHER_CLINICIAN, "spacy_person_titled", rules.weights.spacy_titled,
                                  "a titled or credentialed name in running text, with no role label",
                                  fallback=True))
    return out


# --------------------------------------------------------------------------------------------------------------
# From candidates to mentions
# --------------------------------------------------------------------------------------------------------------

_CLINICIAN_ROLES = frozenset({Role.TREATING_PHYSICIAN, Role.OTHER_CLINICIAN, Role.UNKNOWN})


def _clamp(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 3)


@dataclass(frozen=True, slots=True)
class _Found:
    """A candidate read into a mention: where its name starts, and whether only the spaCy fallback found it."""

    mention: PersonMention
    start: int
    fallback: bool


def _to_mention(c: _Candidate, text: LinearText, rules: NameRules) -> _Found | None:
    raw = text.text[c.start:c.end]
    name = parse_person_name(raw, rules)
    if name is None:
        return None
    role, reason = c.role, c.why
    kinds = name.credential_kinds(rules)
    physician_like = CredentialKind.PHYSICIAN in kinds or name.has_physician_title(rules)
    adjustments: list[Adjustment] = []
    ocr = ocr_confidence(text, c.cue_start, c.end)
    if ocr < 1.0:
        adjustments.append(Adjustment(f"x{ocr:.2f} lowest OCR word confidence", round(c.weight * ocr - c.weight, 3)))
    if (role in _CLINICIAN_ROLES and CredentialKind.NURSING in kinds and not physician_like
            and CredentialKind.ADVANCED_PRACTICE not in kinds):
        role = Role.NURSE
        reason += "; the credential marks a nurse or assistant"
    if role is Role.TREATING_PHYSICIAN and not physician_like:
        if CredentialKind.ADVANCED_PRACTICE in kinds:
            adjustments.append(Adjustment(f"{ADVANCED_PRACTICE_PENALTY:+.2f} advanced-practice credential, "
                                          "not a physician", ADVANCED_PRACTICE_PENALTY))
        else:
            adjustments.append(Adjustment(f"{NO_CREDENTIAL_PENALTY:+.2f} no credential or Dr. title",
                                          NO_CREDENTIAL_PENALTY))
    if c.bare_label:
        adjustments.append(Adjustment(f"{BARE_LABEL_PENALTY:+.2f} label printed without a colon", BARE_LABEL_PENALTY))
    if role is Role.PATIENT and physician_like:
        adjustments.append(Adjustment(f"{PATIENT_WITH_TITLE_PENALTY:+.2f} printed with a physician title or "
                                      "credential", PATIENT_WITH_TITLE_PENALTY))
    confidence = _clamp(c.weight + sum(a.delta for a in adjustments))
    ev = evidence_from_span(text, c.cue_start, c.end, finder=FINDER, rule=c.rule, score=c.weight,
                            adjustments=tuple(adjustments))
    mention = PersonMention(value=raw, normalized=name.normalized, role=role, confidence=confidence, evidence=(ev,),
                            reason=_sentence(reason, role), credentials=name.credentials)
    return _Found(mention, c.start, c.fallback)


_ROLE_LABEL = {Role.PATIENT: "Patient", Role.TREATING_PHYSICIAN: "Treating physician",
               Role.REFERRING_PHYSICIAN: "Referring physician", Role.PCP: "Primary care provider", Role.NURSE: "Nurse",
               Role.EMERGENCY_CONTACT: "Emergency contact", Role.FAMILY_MEMBER: "Family member",
               Role.OTHER_CLINICIAN: "Other clinician", Role.UNKNOWN: "Unknown role"}


def _sentence(why: str, role: Role) -> str:
    return f"{_ROLE_LABEL[role]}: {why}."


def _merge_group(group: list[_Found]) -> _Found:
    """One mention for one person in one role: the strongest reading, every evidence, a bonus for repeats."""
    ordered = sorted(group, key=lambda g: (g.mention.confidence, len(g.mention.normalized)), reverse=True)
    primary = ordered[0].mention
    first_pos = min(g.start for g in group)
    if len(group) == 1:
        return _Found(primary, first_pos, ordered[0].fallback)
    evidence: list[Evidence] = [e for g in ordered for e in g.mention.evidence]
    repeats = len(group) - 1
    bonus = min(REPEAT_BONUS * repeats, REPEAT_BONUS_CAP)
    pages = sorted({e.page for e in evidence if e.page is not None})
    where = f" on {len(pages)} pages" if len(pages) > 1 else ""
    evidence[0] = dataclasses.replace(evidence[0], adjustments=evidence[0].adjustments + (
        Adjustment(f"{bonus:+.2f} named {len(group)} times{where}", bonus),))
    credentials = tuple(dict.fromkeys(c for g in ordered for c in g.mention.credentials))
    merged = dataclasses.replace(primary, confidence=_clamp(primary.confidence + bonus), evidence=tuple(evidence),
                                 credentials=credentials,
                                 reason=primary.reason.rstrip(".") + f" (named {len(group)} times).")
    return _Found(merged, first_pos, ordered[0].fallback)


def _group_by_person(items: list[_Found]) -> list[list[_Found]]:
    groups: list[list[_Found]] = []
    for item in items:
        for g in groups:
            if g[0].mention.role is item.mention.role and same_person(g[0].mention.normalized, item.mention.normalized,
                                                                      SAME_PERSON_THRESHOLD):
                g.append(item)
                break
        else:
            groups.append([item])
    return groups


def find_people(parsed: ParsedText, rules: NameRules | None = None) -> tuple[PersonMention, ...]:
    """Every person named in the parsed document, with role, normalized name, confidence, evidence and reason.

    Raises ConfigError when the bundled name rules are invalid.
    """
    rules = rules or default_name_rules()
    m = _matcher(rules)
    text = parsed.text
    candidates = _line_candidates(text.text, rules, m)
    candidates += _spacy_candidates(parsed, [(c.start, c.end) for c in candidates], rules, m)
    items = [x for x in (_to_mention(c, text, rules) for c in candidates) if x is not None]
    layout = [x for x in items if not x.fallback]
    # A fallback mention of someone a layout rule already found ("Dr. Doe" in the narrative after "Provider:
    # Jane Doe, MD") supports that finding instead of standing alone.
    for fb in (x for x in items if x.fallback):
        owners = [x for x in layout
                  if same_person(x.mention.normalized, fb.mention.normalized, SAME_PERSON_THRESHOLD)]
        if owners:
            owner = max(owners, key=lambda x: _role_priority(x.mention.role)).mention
            layout.append(_Found(dataclasses.replace(fb.mention, role=owner.role, confidence=owner.confidence),
                                 fb.start, False))
        else:
            layout.append(fb)
    merged = [_merge_group(g) for g in _group_by_person(layout)]
    return tuple(found.mention for found in sorted(merged, key=lambda x: x.start))


def _role_priority(role: Role) -> int:
    order = (Role.TREATING_PHYSICIAN, Role.PATIENT, Role.REFERRING_PHYSICIAN, Role.PCP, Role.NURSE,
             Role.OTHER_CLINICIAN, Role.EMERGENCY_CONTACT, Role.FAMILY_MEMBER, Role.UNKNOWN)
    return len(order) - order.index(role)


# --------------------------------------------------------------------------------------------------------------
# Choices
# --------------------------------------------------------------------------------------------------------------

def _physician_like(p: PersonMention) -> bool:
    """A physician credential (MD, DO…) or printed with "Dr."."""
    if any((hit := credential_of(c)) is not None and hit[1] is CredentialKind.PHYSICIAN for c in p.credentials):
        return True
    name = parse_person_name(p.value)
    return name is not None and name.has_physician_title()


def _distinct_people(mentions: Sequence[PersonMention]) -> list[list[PersonMention]]:
    groups: list[list[PersonMention]] = []
    for p in mentions:
        for g in groups:
            if same_person(g[0].normalized, p.normalized, SAME_PERSON_THRESHOLD):
                g.append(p)
                break
        else:
            groups.append([p])
    return groups


def _best_with_tie(mentions: Sequence[PersonMention]) -> tuple[PersonMention, bool]:
    groups = _distinct_people(mentions)
    bests = sorted((max(g, key=lambda p: p.confidence) for g in groups), key=lambda p: p.confidence, reverse=True)
    near_tie = len(bests) > 1 and bests[0].confidence - bests[1].confidence < NEAR_TIE_MARGIN - 1e-9
    return bests[0], near_tie


def choose_treating_physician(people: Sequence[PersonMention]) -> Choice:
    """The treating physician among `people`, why, and whether it is a near-tie (`Choice.ambiguous`).

    Rule: (1) people labelled treating/attending/rendering/provider or who signed the note, strongest confidence
    first; (2) failing that, an unlabelled clinician with a physician credential or "Dr." title (a care-team member
    without a role, a titled name in running text), with confidence × 0.7. A referring physician, a PCP, a nurse,
    a family member or an emergency contact is never chosen: a PCP counts only when the note shows them rendering or
    signing it, which makes them a treating mention by rule (1). near_tie: the two best different people differ
    by less than 0.05.
    """
    explicit = [p for p in people if p.role is Role.TREATING_PHYSICIAN]
    if explicit:
        best, tie = _best_with_tie(explicit)
        reason = f"{best.reason} Chosen as treating physician by its label or signature."
        also = sorted({p.role.value for p in people if p.role is not Role.TREATING_PHYSICIAN
                       and same_person(p.normalized, best.normalized, SAME_PERSON_THRESHOLD)})
        if also:
            reason += f" The same person is also listed as {', '.join(also)}."
        if tie:
            reason += " Another person has nearly equal treating evidence."
        return Choice(best, reason, tie)
    unlabelled = [p for p in people if p.role is Role.OTHER_CLINICIAN and _physician_like(p)]
    if unlabelled:
        best, tie = _best_with_tie(unlabelled)
        lowered = _clamp(best.confidence * FALLBACK_TREATING_FACTOR)
        chosen = dataclasses.replace(best, confidence=lowered)
        reason = (f"{best.reason} No one is labelled as treating or signed the note; chosen as the only kind of "
                  f"candidate left, confidence x{FALLBACK_TREATING_FACTOR}.")
        return Choice(chosen, reason, tie)
    excluded = sorted({p.role.value for p in people if p.role in (Role.PCP, Role.REFERRING_PHYSICIAN, Role.NURSE)})
    if excluded:
        return Choice(None, f"No treating physician: only {', '.join(excluded)} named, and none of them signed or "
                            "rendered the visit.")
    return Choice(None, "No treating physician is named.")


def choose_patient(people: Sequence[PersonMention]) -> Choice:
    """The patient among `people`, why, and whether several different patients are named (`Choice.ambiguous`).

    Rule: people with role patient, grouped by person (so "SMITH, JOHN" and "John Smith" are one); the group with
    the strongest mention wins. several_candidates: two or more different patient names (e.g. two records in one
    upload). Emergency contacts, family, guarantors and clinicians are never chosen.
    """
    patients = [p for p in people if p.role is Role.PATIENT]
    if not patients:
        return Choice(None, "No person is labelled as the patient.")
    groups = _distinct_people(patients)
    best = max((max(g, key=lambda p: p.confidence) for g in groups), key=lambda p: p.confidence)
    several = len(groups) > 1
    reason = f"{best.reason} Chosen as the patient."
    if several:
        reason += f" {len(groups)} different patient names were found; the strongest was chosen."
    return Choice(best, reason, several)

