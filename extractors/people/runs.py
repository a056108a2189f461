"""The name-run state machine: the longest run of name-like tokens at a position, one typed step per token."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, auto

from extractors.people.matcher import _Matcher
from pipeline.names import MAX_NAME_TOKENS, NameRules, credential_of, fold, is_avatar_initials, is_title, ocr_capital_i

_SEPARATORS = frozenset({"-", "–", "—", "|", "•", "·", "/", ":", "*", ">"})
_TOKEN = re.compile(r"\S+")


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


def _classify(tok: str, accepted: Sequence[_Token], state: _RunState, rules: NameRules, nxt: str = "") -> _Step:
    """The step one token makes in a name run, by the first rule that applies (see `_Step`)."""
    lex = rules.lexicon
    if not accepted and (tok in _SEPARATORS or tok == ","):
        return _Step.SKIP
    if tok.endswith(":"):
        core = tok[:-1]
        if (state.commas == 1 and state.names >= 1 and not state.in_creds and nxt.endswith(":")
                and _NAME_WORD.match(core) and core[:1].isupper()
                and fold(core).replace(".", "") not in lex.stop_words and fold(core) not in lex.not_name_words):
            return _Step.NAME  # "Zhang, Lihua: DOB: …": the given name after "LAST," with a colon before the next label
        return _Step.LABEL
    if state.names >= 1 and not state.in_creds and ocr_capital_i(tok.rstrip(","), rules) in ("J.", "I.") \
            and tok[0] in "}]|" and nxt[:1].isupper():
        return _Step.NAME  # a middle initial read as a glyph and its period ("Efrain }. López"; names.ocr_capital_i)
    if tok in _SEPARATORS or tok.startswith(("(", "[", "<", "\"")) or any(ch.isdigit() for ch in tok):
        return _Step.STOP
    # "lvan": OCR's l for a capital I; "A_": an initial's period read as an underscore
    core = ocr_capital_i(tok.rstrip(",.!?;)_").lstrip("'"), rules)
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
    # "van den" inside a name; "da Silva, Thiago" and "DE LA VEGA, LUZ" open with theirs, printed in one case (a
    # capitalised "Van" or "De" may be a given name and counts as a name word). A run of particles alone is no name.
    # In lowercase a particle is never a stop word ("dos Santos", not DOS, the date of service).
    if key in lex.particles and core.islower() and not state.in_creds and (state.names >= 1 or len(core) > 1):
        return _Step.PARTICLE
    if (key in lex.particles and core.isupper() and len(core) > 1 and not state.in_creds and state.names == 0
            and tok == core and nxt[:1].isupper() and _NAME_WORD.match(nxt.rstrip(",."))):
        return _Step.PARTICLE  # "DOS SANTOS, GONÇALO T MD": a surname's particle, not DOS (date of service)
    if key.replace(".", "") in lex.stop_words or key in lex.not_name_words or state.in_creds:
        return _Step.STOP
    if key in lex.particles and core.isupper() and len(core) > 1 and not (state.names == 0 and tok.endswith(",")):
        return _Step.PARTICLE  # but "LE, HUONG MD": a surname ("Le", "Do", "Van") printed before the comma
    if _NAME_WORD.match(core) and (core[0].isupper() or (_particle_joined(core, rules) and (
            state.names >= 1 or (tok.endswith(",") and nxt[:1].isupper())))):
        return _Step.NAME  # "el-Khoury" after a given name, or first before its comma: "al-Rashid, Omar"
    return _Step.STOP


def _lone_given_after(toks: Sequence[_Token], k: int, rules: NameRules) -> bool:
    """True when the tokens from `k` are one given name, perhaps with an initial, and then no further name word: a
    compound surname printed first ("López Zúñiga, Ximena DOB", "GARCÍA CASTAÑEDA, XIMENA MBBS"), not a list of two
    people ("Jane Doe, Bob Roe"). Two given names count when the next field's word ends them ("ECHEVERRÍA LÓPEZ,
    FRANCISCO HÉCTOR DOB: …"): a field of one value, not a list."""
    lex = rules.lexicon
    words = 0
    ended_by_field = False
    for tok in toks[k:k + 4]:
        core = tok.text.rstrip(",.;")
        if tok.text.endswith(":") and fold(core.rstrip(":")).replace(".", "") in lex.stop_words:
            ended_by_field = True
            break
        if tok.text.endswith(":") or not _NAME_WORD.match(core) or not core[:1].isupper():
            break
        if credential_of(core, rules) is not None and words >= 1:
            break
        key = fold(core)
        if key.replace(".", "") in lex.stop_words:
            ended_by_field = True
            break  # "RAMÍREZ IBARRA, GUADALUPE DOB …": the next field ends the given name
        if key in lex.not_name_words or key in lex.relations or key in lex.organization_words:
            return False  # "Maria Okafor, Spouse": a relation, not a given name
        if len(core.rstrip(".")) > 1:
            words += 1
        if tok.text.endswith(","):
            break
    return words == 1 or (words == 2 and ended_by_field)


def _particle_joined(core: str, rules: NameRules) -> bool:
    """A surname whose lowercase particle is joined to it: "el-Khoury", "al-Hassan", "d'Angelo", or with no mark at
    all ("deVries", as printed or as OCR dropped the space: fresh seeds 11700-12299, train_11785)."""
    head, sep, rest = core.replace("’", "'").partition("-") if "-" in core else core.partition("'")
    if not sep:
        cut = next((i for i, ch in enumerate(core) if ch.isupper()), 0)
        head, rest = core[:cut], core[cut:]
        return cut > 0 and len(rest) >= 2 and rest[1:].islower() and fold(head) in rules.lexicon.particles
    return rest[:1].isupper() and (fold(head) in rules.lexicon.particles or head == "d")


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
        step = _classify(tok, accepted, state, rules, toks[k + 1].text if k + 1 < len(toks) else "")
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
        trimmed = len(tok) - len(tok.rstrip(",;:!?)_"))
        accepted.append(_Token(token.start, token.end - trimmed, tok))
        if tok.endswith(("!", "?", ";", ")", ":")):
            break
        if tok.endswith(","):
            nxt = toks[k + 1].text if k + 1 < len(toks) else ""
            if nxt and credential_of(nxt.rstrip(",."), rules) is not None:
                continue
            if state.commas == 0 and (state.names == 1 or (state.names == 2 and _lone_given_after(toks, k + 1, rules))):
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
