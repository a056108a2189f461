"""Candidates: a name span, the cue that gave it a role, and why — from labels, lines, family leads and spaCy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.intake_search import account_marker, default_intake_search_rules
from extractors.nlp import ParsedText
from extractors.people.cells import _SLACK_PT, _Cell, _cell_at, _cell_below, _Cells
from extractors.people.lines import (
    _BULLET,
    _cue_hits,
    _cues_on,
    _ends_section,
    _is_role_only,
    _Line,
    _line_role_word,
    _lines,
    _only_debris,
    _Placement,
    _relation_after,
    _rest_after,
    _section_of,
    _starts_with_label,
    _titled_or_credentialed,
    _trailing_cue,
    _wrapped,
)
from extractors.people.matcher import _Matcher
from extractors.people.runs import _name_run
from pipeline.names import (
    NameRules,
    Section,
    credential_of,
    fold,
    is_avatar_initials,
    is_title,
    ocr_capital_i,
    parse_person_name,
)
from pipeline.types import Role

_TITLE_BEFORE = re.compile(r"(?:(?<![\w])(?:dr|doctor)\.?)\s*$", re.IGNORECASE)
_CRED_AFTER = re.compile(r"^\s*,?\s*([A-Za-z][A-Za-z.\-]*)")
# What may follow a bare name in a section line: a phone number ("555-123-4567", "Cell: (312) 555-0177 x12").
_NEXT_FIELD = re.compile(r"[A-Z][A-Za-z]+(?: [A-Za-z]+){0,2}:")  # "Specialty:", "Date of service:"
_PHONE_REST = re.compile(r"^\s*[-–—|,•:]?\s*(?:[A-Za-z]{1,6}\.?:?\s*)?\+?[\d(][\d\s().\-]{6,}\d"
                         r"(?:\s*(?:x|ext\.?)\s*\d+)?\s*$", re.IGNORECASE)

# A street address line under a name: a house number, then a capitalised word ("741 Park Rd", "12 B Elm Street").
_STREET = re.compile(r"^\s*\d{1,6}[A-Za-z]?\s+(?:[A-Z]\s+)?[A-Z][a-z]")


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
    raw: str | None = None  # the name as read when it is not text[start:end] (a name wrapped over OCR debris)
    cue_end: int | None = None  # where the cue's own words end, when other cells lie between it and the name
    cue_repaired: bool = False  # the cue was matched on its OCR misreading repaired (extractors/people/ocr_labels.py)



def _is_label_cell(text: str, cell: _Cell, m: _Matcher) -> bool:
    """A form cell holding a field label: it opens with a cue ("Primary care physician") or all its words are label
    words ("Specialty", "Date of birth", "MRN")."""
    cell_text = text[cell.start:cell.end]
    if m.cue_re.match(cell_text):
        return True
    words = [fold(w.strip(".,:;()#/")) for w in cell_text.split() if not _only_debris(w)]
    return bool(words) and all(w in m.column_label_words for w in words if w)


def _column_labels_only(line_text: str, m: _Matcher) -> bool:
    """A line of a form's column header words (`column_labels` of the name rules: "Specialty", "Date of birth")
    that is no cue and no section heading of its own."""
    words = [fold(w.strip(".,:;()#/")) for w in line_text.split()]
    return (bool(words) and all(w in m.column_header_words for w in words if w) and m.cue_re.match(line_text) is None
            and _section_of(line_text, m) is None)


def _label_candidates(text: str, line: _Line, next_line: _Line | None, section: Section | None, rules: NameRules,
                      m: _Matcher, cells: _Cells | None = None,
                      third_line: _Line | None = None) -> tuple[list[_Candidate], bool]:
    """Candidates from cues on `line`; the flag says the next line was read as a label's value.

    With `cells` (word boxes), a line of several form cells is read as a row of labels: a label's value ends at the
    next label cell, and a label with no value beside it takes the value cell printed under it on the next line
    (and the words its cell wrapped onto `third_line`, the line after that).
    """
    line_text = line.text(text)
    row = cells.of(line) if cells is not None else []
    if len(row) < 2:
        row = []
    below_row = cells.of(next_line) if cells is not None and row and next_line is not None else []
    hits = _cue_hits(line_text, rules, m, frozenset((c.start - line.start, c.end - line.start) for c in row)
                     if below_row else frozenset(), alone_is_label=section is None)
    out: list[_Candidate] = []
    used_next = False
    for i, cue_hit in enumerate(hits):
        hit, cue, bare = cue_hit.match, cue_hit.cue, cue_hit.bare
        value_start = line.start + hit.end()
        value_end = line.start + hits[i + 1].match.start() if i + 1 < len(hits) else line.end
        column = _cell_at(row, line.start + hit.start())
        if column is not None:
            later = [c for c in row[column + 1:] if _is_label_cell(text, c, m)]
            if later:
                value_end = min(value_end, later[0].start)  # "Treating physician    Specialty"
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
        raw_joined: str | None = None
        cue_start = line.start + hit.start()
        below: _Cell | None = None
        if column is not None and below_row:
            below = _cell_below(row, column, below_row)
        if span is None and cue.next_line and next_line is not None and (
                not text[value_start:value_end].strip() or (below_row and _only_debris(text[value_start:value_end]))) \
                and (column is None or not below_row or below is not None):
            nxt_start, nxt_end = (below.start, below.end) if below is not None else (next_line.start, next_line.end)
            nxt = text[nxt_start:nxt_end]
            if not _starts_with_label(nxt, m) and _section_of(nxt, m) is None:
                first_cue = m.cue_re.search(nxt)
                if first_cue is not None and _cues_on(nxt, m):
                    nxt_end = nxt_start + first_cue.start()  # "DAVIS Albert Dr, Performer: DAVIS Tracy"
                use_next = m.name_use_re.match(text, nxt_start, nxt_end) if m.name_use_re is not None else None
                if use_next is not None:
                    nxt_start = use_next.end()  # "Patient⏎Legal: Jane DOE": label and value in different OCR lines
                span = _name_run(text, nxt_start, nxt_end, rules, m)
                if span is not None:
                    # a line holding further labels is still read for them
                    used_next = not _cues_on(next_line.text(text), m)
                    why += " (value in the cell below)" if below is not None else " (value on the next line)"
                    wrapped_cell = (_wrapped_cell(text, span, below, third_line, cells, rules, m)
                                    if below is not None and column is not None and third_line is not None
                                    and cells is not None else None)
                    if wrapped_cell is not None:
                        span, raw_joined = (span[0], wrapped_cell[0]), wrapped_cell[1]
                        why += " (the cell wrapped onto the next line)"
        elif (not bare and i + 1 == len(hits) and next_line is not None
              and _wrapped(text, value_start, span, line, rules)
              and not _starts_with_label(next_line.text(text), m)
              and _section_of(next_line.text(text), m) is None):
            # "Performer: Dr⏎Henry SEVEN, Performer: …": a header value wrapped onto the next line.
            first_cue = m.cue_re.search(next_line.text(text))
            joined_end = next_line.start + first_cue.start() if first_cue is not None else next_line.end
            joined = _name_run(text, value_start, joined_end, rules, m)
            # The next line's words must end the name, not run on into prose, a label or a clinic's name:
            # "Dr. Beaumont⏎St. Mary's Medical Center" and "Dr. Lin⏎Printed by: …" are a surname and another line.
            if joined is not None and joined[1] > line.end and parse_person_name(text[joined[0]:joined[1]],
                                                                                 rules) is not None \
                    and _ends_a_name(text, next_line.start, joined_end, rules, m):
                span = joined
                why += " (wrapped onto the next line)"
        if (span is not None and not bare and i + 1 == len(hits) and next_line is not None
                and span[1] <= line.end and text[span[1]:line.end].strip() in ("", ",")
                and not _starts_with_label(next_line.text(text), m)
                and _section_of(next_line.text(text), m) is None):
            tail = _surname_before_identifier(text, span, line, next_line, rules, m)
            if tail is None and not text[span[1]:line.end].strip():
                # "Treating physician: Héctor Echeverría⏎Ramírez, MD, FAAPMR": the last surname and the credentials
                # wrapped onto the next line
                tail = _wrapped_surname(text, [line, next_line, *([third_line] if third_line else [])], 0, span,
                                        rules, m)
            if tail is not None:
                span, raw_joined = (span[0], tail[0]), tail[1]
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
        rest = _rest_after(text, span[1], line if span[1] <= line.end else next_line or line)
        relation = _relation_after(rest, m)
        if relation is None and cue.inherit_section:
            # "Name    Role" over "Hye-jin Han    Wife": a relation in the row's role column, without brackets
            first = rest.strip(" -–—|,•:").split(maxsplit=1)
            if first and fold(first[0].strip(",.;")) in rules.lexicon.relations:
                relation = fold(first[0].strip(",.;"))
        role_word = _line_role_word(rest, m) if cue.inherit_section else None
        if role_word is not None:
            # "Name    Role" over "Chinedu L. Adebisi, DO    Referring provider": the row's role column decides
            role = role_word.rule.role
            why += f", listed with the role '{role_word.phrase}'"
        if relation is not None:
            why += f", marked '({relation})'"
            if role in (Role.PATIENT, Role.OTHER_CLINICIAN):
                role = Role.FAMILY_MEMBER
        raw: str | None = raw_joined
        if span[1] <= line.end and next_line is not None and text[span[1]:line.end].strip() == ",":
            # "Treating physician: Brigitte Thibodeaux,⏎AGNP-C": the credentials wrapped onto the next line
            wrapped = _wrapped_credentials(text, [line, next_line], 0, span, rules)
            if wrapped is not None:
                span, raw = (span[0], wrapped[0]), wrapped[1]
                why += " (credentials on the next line)"
        out.append(_Candidate(span[0], span[1], cue_start, role, cue.id, cue.weight, why, bare_label=bare,
                              cue_end=line.start + hit.end(), raw=raw))
    return out, used_next



def _wrapped_cell(text: str, span: tuple[int, int], cell: _Cell, next_line: _Line, cells: _Cells, rules: NameRules,
                  m: _Matcher) -> tuple[int, str] | None:
    """(end, name as read) when the name that fills a form's value cell goes on in the same cell on the next line:
    "LINDQVIST, ØYSTEIN    June 6, 1981    74602814" over "TORBJÖRN", the middle name wrapped in a narrow column.
    The next line's words must start at the cell's left edge, be one or two name words alone in their cell, in the
    name's case (capitals under capitals), and make one person's name with it."""
    if text[span[1]:cell.end].strip(" ,"):
        return None  # the name does not fill its cell: the cell did not wrap
    printed = parse_person_name(text[span[0]:span[1]], rules)
    if printed is None or printed.credentials:
        return None  # "Chinedu L. Adebisi, DO": credentials end a name
    under = [c for c in cells.of(next_line) if abs(c.x0 - cell.x0) <= _SLACK_PT]
    if len(under) != 1:
        return None
    words_text = text[under[0].start:under[0].end]
    run = _name_run(text, under[0].start, under[0].end, rules, m)
    if run is None or text[run[1]:under[0].end].strip() or _starts_with_label(words_text, m) \
            or _section_of(words_text, m) is not None:
        return None  # "Contacts": the next section's heading
    words = words_text.split()
    lex = rules.lexicon
    if not 1 <= len(words) <= 2 or any(credential_of(w.strip(".,"), rules) is not None
                                       or fold(w.strip(".,")) in (lex.not_name_words | lex.stop_words) for w in words):
        return None
    name = text[span[0]:span[1]]
    if name.isupper() != words_text.isupper():
        return None  # "LINDQVIST, ØYSTEIN" over "Pain Medicine": another line, not the name's end
    raw = f"{name} {words_text}"
    return (run[1], raw) if parse_person_name(raw, rules) is not None else None


def _surname_before_identifier(text: str, span: tuple[int, int], line: _Line, next_line: _Line, rules: NameRules,
                               m: _Matcher) -> tuple[int, str] | None:
    """(end, name as read) when a label's value that fills its line goes on at the start of the next line up to a
    patient identifier: "Patient name: Jasmine Shaniqua⏎Merriweather DOB: 11/7/1987", or, after "LAST," at the line
    end, the given names ("NÚÑEZ GARCÍA,⏎ae ALEJANDRO J DOB: …", avatar or scan debris skipped) and the credentials
    ("VILLASEÑOR RAMÍREZ,⏎INÉS MD NPI: …", "de la Vega García,⏎; Inés, MD Specialty: …"). The next line's name
    words (at most two, three after a comma) must be followed by an identifier or field word (`stop_words`: DOB, MRN,
    NPI…) or another field's label ("Beaumont-Figueiredo Specialty: …"), or, after credentials, by the end of the
    line: what shows that they end this name and are not a line of their own."""
    comma = text[span[1]:line.end].strip() == ","
    start = _after_debris(text, next_line, rules) if comma else next_line.start
    run = _name_run(text, start, next_line.end, rules, m)
    if run is None:
        return None
    tokens = text[run[0]:run[1]].replace(",", " , ").split()
    names = [t for t in tokens if t != "," and credential_of(t.strip("."), rules) is None]
    creds = [t for t in tokens if t != "," and credential_of(t.strip("."), rules) is not None]
    if creds and (not comma or tokens.index(creds[0]) < len(names)):
        return None  # credentials only after "LAST," (the given names, then "MD"), and only after the names
    if "," in tokens and not creds:
        return None
    lex = rules.lexicon
    if not 1 <= len(names) <= (3 if comma else 2) or any(fold(w.strip(".")) in lex.not_name_words for w in names):
        return None
    after = text[run[1]:next_line.end].split(maxsplit=1)
    if after and not (fold(after[0].strip(".:;,").replace(".", "")) in lex.stop_words
                      or (after[0].endswith(":") and after[0][:1].isupper())):
        # prose or another value follows: not the end of this name. "Specialty:" is another field; "Printed by:"
        # is a label whose first word the run took ("Dr. Lin⏎Printed by: …" is no "Lin Printed")
        return None
    if not after and not creds:
        return None  # words alone on the next line may be a line of their own
    raw = f"{text[span[0]:span[1]]}{',' if comma else ''} {text[run[0]:run[1]]}"
    return (run[1], raw) if parse_person_name(raw, rules) is not None else None


def _family_lead_candidates(text: str, line: _Line, rules: NameRules, m: _Matcher) -> list[_Candidate]:
    out: list[_Candidate] = []
    line_text = line.text(text)
    for hit in m.family_lead_re.finditer(line_text):
        span = _name_run(text, line.start + hit.end(), line.end, rules, m)
        if span is not None:
            out.append(_Candidate(span[0], span[1], line.start + hit.start(), Role.FAMILY_MEMBER, "family_mention",
                                  rules.weights.family_lead, f"named as the patient's {fold(hit.group('rel'))}"))
    return out


def _line_candidates(text: str, rules: NameRules, m: _Matcher, cells: _Cells | None = None) -> list[_Candidate]:
    lines = _lines(text)
    out: list[_Candidate] = []
    section: Section | None = None
    section_seen = 0
    skip_to = -1  # lines up to this index were read as a label's value
    used_role_lines: set[int] = set()
    page_line = -1  # the line's index on its page (pages are separated by a blank line)
    for idx, line in enumerate(lines):
        line_text = line.text(text)
        if idx <= skip_to:
            continue
        if not line_text.strip():
            section = None  # a blank line (or a page break) ends a section
            page_line = -1
            continue
        page_line += 1
        heading = _section_of(line_text, m)
        row = cells.of(line) if cells is not None else []
        if heading is None and len(row) > 1:
            # "Visits    Your visit": a portal's side menu beside a card's heading
            heading = next((h for c in row if (h := _section_of(text[c.start:c.end], m)) is not None), None)
        if heading is not None:
            section, section_seen = heading, 0
            continue
        if section is not None and (section_seen >= section.max_lines or _ends_section(line_text, m)):
            section = None
        section_seen += 1
        below = idx + 1
        if below + 1 < len(lines) and _column_labels_only(lines[below].text(text), m):
            below += 1  # "Treating physician⏎Specialty⏎Inés J. Dubois, MD": OCR read the row's next label as a line
        nxt = lines[below] if below < len(lines) else None
        found, used_next = _label_candidates(text, line, nxt, section, rules, m, cells,
                                             lines[below + 1] if below + 1 < len(lines) else None)
        skip_to = below if used_next else skip_to
        found += [c for c in _family_lead_candidates(text, line, rules, m)
                  if not any(c.start < f.end and f.start < c.end for f in found)]
        if not found:
            found = _bare_name_candidates(text, lines, idx, section, used_role_lines, rules, m)
        if not found:
            found = _account_header_candidates(text, line, rules, m, page_line)
        if not found and len(row) > 1:
            # "Visits    MCGUINNESS, DEIRDRE MD", "Messages    Mareike Miller - DOB …": the name in a later cell, beside
            # a portal's menu item
            for c in row[1:]:
                found = _bare_name_candidates(text, lines, idx, section, used_role_lines, rules, m, (c.start, c.end))
                if found:
                    break
        out.extend(found)
    return out


_AVATAR = re.compile(r"(?<!\S)(?P<initials>[A-Z]{2,3})\s+(?=[A-Z])")


def _account_header_candidates(text: str, line: _Line, rules: NameRules, m: _Matcher,
                               page_line: int = 0) -> list[_Candidate]:
    """A portal's account header: an initials avatar, then the account holder's name ("MM Mareike Muller ▾",
    "HK Hyun-woo Kim v HealthHarbor"). The avatar's letters must be the initials of the name after it; or, in the
    first lines of a page (`page_line` counts from 0), the account menu's marker follows the name, whatever OCR
    made of the avatar before it ("Cie) Babatunde Okafor v Kinnect Health")."""
    line_text = line.text(text)
    marked = _marked_account_name(text, line, rules, m, page_line)
    if marked is not None:
        return [marked]
    for hit in _AVATAR.finditer(line_text):
        span = _name_run(text, line.start + hit.end(), line.end, rules, m)
        if span is None:
            continue
        span = _before_brand(text, span)
        name = parse_person_name(text[span[0]:span[1]], rules)
        if name is None or name.titles or name.credentials:
            continue
        parts = [name.given, *name.middle.split(), *name.family.replace("-", " ").split()]
        initials = {fold(name.given[:1] + name.family[:1]),
                    fold("".join(p[:1] for p in parts if p[:1].isupper()))}
        if fold(hit.group("initials")) in initials:
            return [_Candidate(span[0], span[1], line.start + hit.start(), Role.PATIENT, "account_header",
                               rules.weights.account_header,
                               f"named in a portal's account header after the avatar initials "
                               f"'{hit.group('initials')}'")]
    titled = _name_over_portal_title(text, line, rules, m, page_line)
    return [titled] if titled is not None else []


def _before_brand(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """`span` up to a word with a capital inside that no naming convention puts there, after two name words: the
    portal's brand after the account holder's name ("CD Conceição da Silvav CareBridge Portal": the caret glued to
    the surname, so nothing ended the name before the brand)."""
    words = list(re.finditer(r"\S+", text[span[0]:span[1]]))
    for w in words[2:]:
        if _MIXED_CASE_DEBRIS.search(w.group()):
            return span[0], span[0] + len(text[span[0]:span[0] + w.start()].rstrip())
    return span


# What OCR makes of an avatar before the name: "Cie)", "om)", "(_", "MO", "Gv", "JL.", "Wit"
_AVATAR_DEBRIS = re.compile(r"[^\W\d_]{0,4}[^\w\s]+|[^\W\d_]{1,3}\.?")


def _is_avatar_debris(token: str, rules: NameRules) -> bool:
    """A token OCR made of the avatar before an account holder's name: `_AVATAR_DEBRIS`, up to five characters
    mixing at most three letters with digits or symbols ("\\J2", "=i¢)"), or four lower-case letters that are no
    surname particle ("viii" for "TB"); never a title ("Mr.")."""
    if is_title(token.rstrip("."), rules):
        return False
    return _AVATAR_DEBRIS.fullmatch(token) is not None or (
        len(token) <= 5 and not token.isalpha() and sum(c.isalpha() for c in token) <= 3) or (
        len(token) == 4 and token.isalpha() and token.islower() and fold(token) not in rules.lexicon.particles)


# A capital inside a word that no naming convention puts there ("CcSiy"; "McKenna", "MacNeil", "O'Neil", "DeShawn",
# "LeBlanc" are names): OCR's reading of an avatar picture.
_MIXED_CASE_DEBRIS = re.compile(r"^(?!Mc|Mac|O'|De|Le|La|Di|Da|Van|Von)[A-Z]?[a-z]+[A-Z]")


def _after_inner_avatar(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """`span` without the words up to an avatar printed inside it: a brand and the initials of the name that follows
    ("Mycarepath IØ Ingrid Østergaard" is Ingrid Østergaard)."""
    toks = list(re.finditer(r"\S+", text[span[0]:span[1]]))
    for k in range(len(toks) - 3, -1, -1):
        letters = fold(toks[k].group().rstrip("."))
        # the surname's initial may follow particles ("LC Lucien de la Croix")
        surnames = {fold(w[:1]) for w in (ocr_capital_i(t.group()) for t in toks[k + 2:]) if w[:1].isupper()}
        # or the initial of the word after the given name, a particle included ("VD Vasco dos Santos": train_8906)
        surnames |= {fold(toks[k + 2].group()[:1])} if k + 2 < len(toks) else set()
        if (2 <= len(letters) <= 3 and letters.isalpha() and letters[:1] == fold(toks[k + 1].group()[:1])
                and letters[1:2] in surnames):
            return span[0] + toks[k + 1].start(), span[1]
    return span


# Digits OCR reads for an avatar's capital letters: "10" for "IO".
_DIGIT_LETTERS = str.maketrans({"1": "I", "0": "O", "5": "S", "8": "B"})


def _marked_account_name(text: str, line: _Line, rules: NameRules, m: _Matcher, page_line: int) -> _Candidate | None:
    """The name of a portal header line whose account marker ("▾", read "v", "y", "¥") follows it, near the top of a
    page, with at most one token of avatar debris before it, or what `_after_debris` takes for debris; None
    otherwise."""
    markers = default_intake_search_rules().account_markers
    if page_line >= markers.max_line:
        return None
    tokens = list(re.finditer(r"\S+", line.text(text)))
    if tokens and re.fullmatch(r"[^\W\d_]{2,}:", tokens[0].group()):
        return None  # a labelled line ("To: Tran, Quang V, MD" on a fax cover sheet) is a field, not a header
    debris = len(tokens) > 2 and _is_avatar_debris(tokens[0].group(), rules)
    starts = [line.start + tokens[lead].start() if tokens else line.end for lead in ((1, 0) if debris else (0,))]
    if len(tokens) > 3 and (past_debris := _after_debris(text, line, rules)) > line.start:
        starts.append(past_debris)  # "‘ve ) Vikram Bhattacharya v": the avatar read as two tokens
    # A desktop header's brand before the avatar: "Kinnect Health Jw Jiří Wróbel v" (the initials of the next words)
    words = [t.group() for t in tokens]
    marker_at = next((i for i, w in enumerate(words) if i > 1 and w in markers.glyphs), len(words))
    starts.extend(line.start + tokens[k + 1].start() for k in range(1, len(tokens) - 2)
                  if is_avatar_initials(words[k].rstrip("™®©").translate(_DIGIT_LETTERS), words[k + 1:marker_at]))
    for start in dict.fromkeys(starts):
        span = _name_run(text, start, line.end, rules, m)
        if span is None:
            continue
        span = _after_inner_avatar(text, span)
        first = re.match(r"\S+", text[span[0]:span[1]])
        if first is not None and len(text[span[0]:span[1]].split()) >= 3 and _MIXED_CASE_DEBRIS.search(first.group()):
            span = (span[0] + first.end() + 1, span[1])  # "CcSiy Katrin WeiSmann ▾": an avatar read as letters
        last = text.rfind(" ", span[0], span[1])
        if last > span[0] and text[last + 1:span[1]] in markers.glyphs:
            span = (span[0], last)  # "Deirdre McKenna y": the marker read as the particle "y"
        after = text[span[1]:line.end].split(maxsplit=1)
        name = parse_person_name(text[span[0]:span[1]], rules)
        # "v", "v__" (debris after it), "y¥" (the caret read as two glyphs)
        # "v__", "v=", "v_HealthHarbor"; not "V," (a middle initial before a credential: "Tran, Quang V, MD")
        marker = account_marker(after[0], markers.glyphs) if after and not after[0].endswith(",") else ""
        if (marker and (marker in markers.glyphs or (len(marker) == 2 and all(c in markers.glyphs for c in marker)))
                and name is not None and not name.titles and not name.credentials and len(name.given) > 1):
            return _Candidate(span[0], span[1], span[0], Role.PATIENT, "account_header",
                              rules.weights.account_marker,
                              f"named in a portal's account header, the account menu's marker '{after[0]}' after it")
    return None


# A name word as a portal prints it: a capital, then lower-case letters (a particle all lower-case; hyphenated and
# apostrophised parts alike: "Hyun-woo", "O'Brien", "McKenna").
_TITLE_CASED = re.compile(r"^(?:[^\W\d_][^\W\d_A-Z]*(?:[A-Z][^\W\d_A-Z]+)?|[^\W\d_A-Z]+)(?:['’\-][^\W\d_]+)*\.?$")


def _name_over_portal_title(text: str, line: _Line, rules: NameRules, m: _Matcher,
                            page_line: int) -> _Candidate | None:
    """A portal header line of a bare full name (one token of avatar debris before it at most), in the first lines
    of a page, right over one of the portal's page titles ("Lucien Delacroix" over "Health Summary": a photographed
    phone screen whose avatar and menu marker OCR did not read; fresh seeds 11700-12299, train_12049); None
    otherwise."""
    markers = default_intake_search_rules().account_markers
    if page_line >= markers.max_line or line.end >= len(text):
        return None
    below_end = text.find("\n", line.end + 1)
    below = text[line.end + 1:len(text) if below_end < 0 else below_end]
    title = next((t for t in markers.titles_below
                  if fold(t).lower() == " ".join(fold(below).lower().strip(" :").split())), None)
    if title is None:
        return None
    tokens = list(re.finditer(r"\S+", line.text(text)))
    if len(tokens) < 2:
        return None
    starts = [line.start + tokens[0].start()]
    if len(tokens) > 2 and _is_avatar_debris(tokens[0].group(), rules):
        starts.append(line.start + tokens[1].start())
    for start in starts:
        span = _name_run(text, start, line.end, rules, m)
        if span is None or text[span[1]:line.end].strip(" ,.") not in ("", *markers.glyphs):
            continue
        span = _before_brand(text, span)
        words = text[span[0]:span[1]].split()
        if not 2 <= len(words) <= 4 or not all(_TITLE_CASED.match(w) for w in words):
            continue  # a portal prints the holder's name as written; capitals here are a letterhead OCR garbled
        name = parse_person_name(text[span[0]:span[1]], rules)
        if name is not None and name.family and not name.titles and not name.credentials and len(name.given) > 1:
            return _Candidate(span[0], span[1], span[0], Role.PATIENT, "account_header", rules.weights.account_title,
                              f"named alone over the portal page's title '{title}' at the top of the page")
    return None


def _bare_name_candidates(text: str, lines: Sequence[_Line], idx: int, section: Section | None,
                          used_role_lines: set[int], rules: NameRules, m: _Matcher,
                          cell: tuple[int, int] | None = None) -> list[_Candidate]:
    """A line that starts with a name: "Jane Doe, MD — PCP", "Tom Smith (spouse)", or a bare name in a section.

    `cell`: read only this (start, end) part of the line, a form cell."""
    line = lines[idx] if cell is None else _Line(*cell)
    line_text = line.text(text)
    bullet = _BULLET.match(line_text)
    lead = len(bullet.group(0)) if bullet else 0
    span = _name_run(text, line.start + lead, line.end, rules, m)
    if span is None and section is not None and cell is None and not lead:
        # "f , Chiamaka O." over "\ C ) Adeyemi, DO,": a provider card's avatar read as debris before the name
        debris_end = _after_debris(text, line, rules)
        span = _name_run(text, debris_end, line.end, rules, m) if debris_end > line.start else None
    if span is None:
        return []
    rest = _rest_after(text, span[1], line)
    raw: str | None = None
    below = idx + 1  # the line after the name's last line
    if rest.strip() == "," and section is not None:
        wrapped = _wrapped_credentials(text, lines, idx, span, rules)
        if wrapped is not None:  # "Deepika Bhattacharya,⏎MD, FAAPMR" in a care team: the credential wrapped
            span, raw, rest, below = (span[0], wrapped[0]), wrapped[1], "", idx + 2
    elif not rest.strip() and section is not None and cell is None:
        wrapped = _wrapped_surname(text, lines, idx, span, rules, m)
        if wrapped is not None:  # "Ramiro Echeverría⏎García, MD" on a provider card: the surname wrapped
            span, raw, below = (span[0], wrapped[0]), wrapped[1], _line_after(lines, idx, wrapped[0])
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
    if (relation is None and trailing is None and section is None and cell is None and raw is None
            and not rest.strip(" -–—|,•") and idx + 1 < len(lines)):
        # "Conceição Ferreira -⏎DOB 6/27/1979 -⏎MRN …": a portal sidebar's name with its birth date on the line under it
        below_cue = _trailing_cue(lines[idx + 1].text(text), m)
        named = parse_person_name(text[span[0]:span[1]], rules)
        if below_cue is not None and named is not None and not named.credentials and not named.titles:
            tc = below_cue.rule
            return [_Candidate(span[0], span[1], span[0], tc.role, tc.id, tc.weight,
                               f"named on a line of its own above '{below_cue.phrase}'")]
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
        for j in (idx - 1, below):
            if 0 <= j < len(lines) and j not in used_role_lines:
                role_line = _is_role_only(lines[j].text(text), m)
                if role_line is not None:
                    rw = role_line.rule
                    used_role_lines.add(j)
                    # raw: the name as read when its credentials wrapped past debris (fresh seeds 9900-10499,
                    # train_10349: "Gregory Colby, DO,⏎(e(@ |) DABPM" over its role was no name at all)
                    return [_Candidate(span[0], span[1], span[0], rw.role, rw.id, rw.weight,
                                       f"listed in the care team with the role '{' '.join(role_line.phrase.split())}'",
                                       raw=raw)]
    if section.needs_credential and not _credentialed_or_titled(raw or text[span[0]:span[1]], rest, rules):
        return []
    return [_Candidate(span[0], span[1], span[0], section.role, section.id, section.weight,
                       f"named under the heading of section '{section.id}'", raw=raw)]


def _ends_a_name(text: str, start: int, end: int, rules: NameRules, m: _Matcher) -> bool:
    """True when the words at text[start:end], the next line of a value cut at the line end, finish a person's name:
    a name run followed by nothing, a comma, a separator, a credential or the next field ("Henry SEVEN, Performer:",
    "Seung-hoon DOB: …"). False when the run goes on as prose or a label ("Printed by: …", "Reason for visit: …")
    or into an organisation's name ("St. Mary's Medical Center", "Lakeside Comprehensive Pain"): a surname-only
    "Dr. Lin" and the line under it are not one person."""
    span = _name_run(text, start, end, rules, m)
    if span is None:
        return False
    after = text[span[1]:end].split(maxsplit=1)
    if not after:
        return True
    raw = after[0]
    word = raw.strip(".,;:|()")
    lex = rules.lexicon
    if not word or raw[:1] in ",|-–—•(" or fold(word.replace(".", "")) in lex.stop_words:
        return True
    if credential_of(word, rules) is not None:
        return True
    if raw.endswith((":", ";")) or not word[:1].isupper():
        return False
    return fold(word) not in (lex.organization_words | lex.not_name_words)


def _line_after(lines: Sequence[_Line], idx: int, end: int) -> int:
    """The index of the first line after the one holding offset `end`, a name that starts on line `idx` and may
    wrap onto the lines after it."""
    below = idx + 1
    while below < len(lines) and lines[below].start < end:
        below += 1
    return below


def _wrapped_credentials(text: str, lines: Sequence[_Line], idx: int, span: tuple[int, int],
                         rules: NameRules) -> tuple[int, str] | None:
    """(end, name as read) when the name at `span` ends its line with a comma and its credentials open the next line
    after OCR debris ("Deepika Bhattacharya,⏎DP =)» MD, FAAPMR"); None otherwise.

    Letters that are the name's initials and have more after them on the line are the avatar beside the card, not
    a credential: "Mathilde Delacroix,⏎MD ) acnp-c" is an AGNP-C whose avatar reads "MD" (varied train_2922, made
    wrongly complete). The credential is then what follows the avatar, if anything reads as one."""
    if idx + 1 >= len(lines):
        return None
    nxt = lines[idx + 1]
    start = _after_debris(text, nxt, rules)
    lead = _credential_lead(text, start, nxt.end, rules)
    if lead is None:
        return None
    name = text[span[0]:span[1]].rstrip(' ,')
    if text[lead:nxt.end].strip() and _are_initials(text[start:lead], name, rules):
        start = _after_debris(text, _Line(lead, nxt.end), rules)
        lead = _credential_lead(text, start, nxt.end, rules)
        if lead is None:
            return None
    return lead, f"{name}, {text[start:lead]}"


def _are_initials(letters: str, name: str, rules: NameRules) -> bool:
    """Whether `letters` ("MD") are the initials of `name`'s given name and surname ("Mathilde Delacroix")."""
    parsed = parse_person_name(name, rules)
    if parsed is None or not parsed.given or not parsed.family:
        return False
    initials = (parsed.given[:1] + parsed.family[:1]).upper()
    return "".join(c for c in letters if c.isalpha()).upper() == initials


def _wrapped_surname(text: str, lines: Sequence[_Line], idx: int, span: tuple[int, int], rules: NameRules,
                     m: _Matcher) -> tuple[int, str] | None:
    """(end, name as read) when the name at `span` fills its line with no credential and the next line, after OCR
    debris, holds the last word of the surname: followed by the credentials ("Ramiro Echeverría⏎García, MD", "Lakshmi
    A.⏎Bhattacharya, MBBS"), or alone on its line after a titled name ("Dr. Francisco R. Ibarra⏎Zuniga"). The next
    line holds one name word that names no organisation or specialty, and the name's line at least two words
    (a role line such as "PCP" above "Alice Green, MD" is no given name), or one given name when the surname's line
    carries credentials ("Vikram⏎Krishnamurthy, MD,⏎FAAPMR"): one word that is no label, field, organisation or
    specialty word; None otherwise."""
    if idx + 1 >= len(lines):
        return None
    first = text[span[0]:span[1]]
    head = parse_person_name(first, rules)
    lex = rules.lexicon
    given_only = len(first.split()) == 1
    if given_only and (not re.fullmatch(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", first) or not first[:1].isupper()
                       or fold(first) in (lex.organization_words | lex.not_name_words | lex.stop_words)
                       or fold(first) in m.column_label_words or _starts_with_label(first, m)):
        return None
    if (head is not None and head.credentials) or first.rstrip().endswith(",") or not first.split() \
            or _is_role_only(first, m) is not None:
        return None  # a credentialed name is whole; "Name," wraps its credentials (`_wrapped_credentials`)
    nxt = lines[idx + 1]
    start = _after_debris(text, nxt, rules)
    run = _name_run(text, start, nxt.end, rules, m)
    rest = text[run[1]:nxt.end] if run is not None else ""
    # after the credentials, only a phone number or, after a lone given name, the next field's label may stand
    # ("Visit provider: Seung-hoon⏎Yoon-O'Donoghue, MD, FIPP Specialty: Pain Medicine": fresh seeds 8100-8699,
    # train_8634; "Jane Doe⏎Smith, MD Specialty: …" is a full name, then another person)
    if run is None or rest.strip(" ,") and not _PHONE_REST.match(rest) and not (
            given_only and _NEXT_FIELD.match(rest.lstrip(" ,")) and "," in text[run[0]:run[1]]):
        return None
    words = re.findall(r"[^\s,]+", text[run[0]:run[1]].split(",", 1)[0])
    if len(words) != 1 or any(
            not w[:1].isupper() or credential_of(w.rstrip("."), rules) is not None or is_title(w.rstrip("."), rules)
            or fold(w.rstrip(".")) in (lex.organization_words | lex.not_name_words) for w in words):
        return None
    titled = is_title(first.split(maxsplit=1)[0].rstrip("."), rules)
    raw = f"{first} {text[run[0]:run[1]]}"
    end = run[1]
    if text[run[1]:nxt.end].strip() == "," and "," not in text[run[0]:run[1]]:
        # "Céline L.⏎Desrosiers-el-Khoury,⏎DO": the surname's credentials wrapped onto a third line
        creds = _wrapped_credentials(text, lines, idx + 1, run, rules)
        if creds is not None:
            end, raw = creds[0], f"{first} {creds[1]}"
    joined = parse_person_name(raw, rules)
    if joined is None or not (joined.credentials or (titled and "," not in text[run[0]:run[1]])):
        return None
    if given_only and (not joined.credentials or first.isupper() != words[0].isupper()):
        return None  # a lone given name joins only a credentialed surname in its own case
    after_comma = text[run[0]:run[1]].split(",", 2)
    if given_only and len(after_comma) > 1 and credential_of(after_comma[1].strip().rstrip("."), rules) is None:
        return None  # "Lindqvist-Müller, Torbjörn, DO" is a whole name, surname first: the word above is not ours
    return end, raw


def _credentialed_or_titled(name: str, rest: str, rules: NameRules) -> bool:
    """A name printed with a title or a credential (in the name's run or right after it: "DEIRDRE MD")."""
    parsed = parse_person_name(name, rules)
    if parsed is not None and (parsed.titles or parsed.credentials):
        return True
    first = rest.strip(" ,").split(maxsplit=1)
    return bool(first) and credential_of(first[0].strip(",."), rules) is not None


def _before_label(text: str, start: int, end: int) -> int:
    """The end of the entity `text[start:end]` without its trailing words that a colon follows: a form's next label
    read into the name ("Attending: Dr. von Bülow Specialty: Headache Medicine" is Dr. von Bülow)."""
    while end > start:
        if not text[end:end + 3].lstrip(" ").startswith(":"):
            return end
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else start
        end = len(text[start:end].rstrip(" ,")) + start
    return end


def _before_role_word(text: str, start: int, end: int, m: _Matcher) -> int:
    """The end of the entity `text[start:end]` before a role phrase that spaCy read into it ("Dr. Yusuf Haddad
    Primary care provider" is Dr. Yusuf Haddad). Phrases of three letters or fewer ("MA", "RN") may be names and
    never cut; the first word is always kept."""
    first = text.find(" ", start, end)
    if first == -1:
        return end
    line_end = text.find("\n", end)
    for hit in m.role_word_anywhere_re.finditer(text, first, len(text) if line_end == -1 else line_end):
        if hit.start() >= end:
            break
        if len(hit.group("phrase")) > 3:
            return len(text[start:hit.start()].rstrip(" ,-–—|")) + start
    return end


def _spacy_candidates(parsed: ParsedText, taken: list[tuple[int, int]], rules: NameRules,
                      m: _Matcher) -> list[_Candidate]:
    """PERSON entities not found by a layout rule, kept only with a "Dr." title or a credential next to them."""
    text = parsed.text.text
    out: list[_Candidate] = []
    for ent in parsed.persons:
        s = ent.start_char
        e = _before_role_word(text, s, _before_label(text, s, ent.end_char), m)
        if e <= s or any(s < te and ts < e for ts, te in taken):
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
        role_after = _line_role_word(text[e:line_end], m)
        if role_after is not None:
            out.append(_Candidate(s, e, s, role_after.rule.role, f"spacy_person+{role_after.rule.id}",
                                  rules.weights.spacy_with_role_word,
                                  f"a titled or credentialed name followed by its role '{role_after.phrase}'",
                                  fallback=True))
        elif rw_hits:
            rw = m.role_word_by_phrase[fold(rw_hits[-1].group("phrase"))]
            out.append(_Candidate(s, e, s, rw.role, f"spacy_person+{rw.id}", rules.weights.spacy_with_role_word,
                                  f"a titled or credentialed name in running text after '{rw_hits[-1].group()}'",
                                  fallback=True))
        else:
            out.append(_Candidate(s, e, s, Role.OTHER_CLINICIAN, "spacy_person_titled", rules.weights.spacy_titled,
                                  "a titled or credentialed name in running text, with no role label",
                                  fallback=True))
    return out


# OCR debris that opens a provider card's lines: an avatar's initials and its circle read as letters, a digit and
# punctuation ("NV Vikram", "| VK | Krishnamurthy, MD,", "y) MBBS", "4) MBBS", '"l ) Zuniga', "(HV) Villasenor",
# "\ M) ) Jovanovic", "| L7@ | Okonkwo", "aus Kowalczyk, MD"). At most three such tokens are skipped. "To:" is a
# label, not debris; "_" is debris. Three letters closed by the circle's edge are debris too: "Lal) MD, FAAPMR" under
# "Hervé Thibodeaux," (fresh train seeds 8700-9299, train_8910).
_DEBRIS_WORD = (r"(?:(?:[^\w\s]|_)+[A-Za-z]{0,3}(?:[^\w\s:]|_)*|[A-Za-z]{1,2}(?:[^\w\s:]|_)*|\d[^\w\s:]+"
                r"|[A-Za-z]\d[^\w\s:]*|[a-z]{3}|[A-Za-z]{3}[^\w\s:.,]+)(?=\s)")
_DEBRIS = re.compile(rf"\s*{_DEBRIS_WORD}(?:\s+{_DEBRIS_WORD}){{0,2}}\s*")
# An avatar's initials between two edges of its circle: "\ RK ) Krishnamurthy, DO", "f , Chiamaka O.". Three
# words, only the middle one of letters.
_PUNCT_WORD = r"(?:[^\w\s]|_)+(?=\s)"
_FRAMED_DEBRIS = re.compile(rf"\s*(?:{_PUNCT_WORD}|[A-Za-z](?:[^\w\s:]|_)*(?=\s))\s+[A-Za-z]{{1,3}}\s+{_PUNCT_WORD}\s*")
# The circle's edge glued to a name as one lowercase letter: "jJae-won Kim, MD" (a lowercase letter before a capital
# and a lowercase letter opens no name; particles are longer: "deVries" is not touched).
# So is an opening quote a scan's speck became ("~ “Karim Haddad, MD": fresh seeds 9900-10499, train_9949).
_GLUED_DEBRIS = re.compile(r"(?:[a-z]|[“”‘’\"`]+)(?=[A-Z][a-z])")
_CREDENTIAL_RUN = re.compile(r"\s*(?:[A-Za-z][A-Za-z.\-]*,?\s*)+")


def _after_side_menu_word(text: str, start: int, end: int, rules: NameRules) -> int | None:
    """Where text[start:end] goes on after a portal side menu's word that opens it ("Visits DVOŘÁK-SUBRAMANIAN,
    ŁUKASZ MBBS"; `side_menu_words`), or None when it does not open with one."""
    first = re.match(r"\s*(\S+)\s+", text[start:end])
    if first is None or fold(first.group(1).strip("|.,:")).lower() not in {fold(w) for w in rules.side_menu_words}:
        return None
    return start + first.end()


def _after_debris(text: str, line: _Line, rules: NameRules) -> int:
    """Where a line's text starts after leading OCR debris. A title or a credential is no debris: skipping stops at
    the first one ("_ Dr. Thanh Vu" starts at "Dr.", "MD, FAAPMR" at "MD"), and so does a surname's lowercase
    particle ("da Silva, Thiago G, DO")."""
    hit = _FRAMED_DEBRIS.match(text, line.start, line.end) or _DEBRIS.match(text, line.start, line.end)
    if hit is None:
        glued = _GLUED_DEBRIS.match(text, line.start, line.end)
        return glued.end() if glued is not None else line.start
    for word in re.finditer(r"\S+", text[hit.start():hit.end()]):
        bare = word.group().strip(".,")
        if (is_title(bare, rules) or credential_of(bare, rules) is not None
                or (word.group().islower() and len(word.group()) > 1 and word.group() in rules.lexicon.particles)):
            return hit.start() + word.start()
    glued = _GLUED_DEBRIS.match(text, hit.end(), line.end)
    return glued.end() if glued is not None else hit.end()


def _credential_lead(text: str, start: int, end: int, rules: NameRules) -> int | None:
    """End of the credentials that open text[start:end] ("MD, FAAPMR"), or None when it does not open with one."""
    hit = _CREDENTIAL_RUN.match(text, start, end)
    if hit is None:
        return None
    stop = None
    pos = start
    for word in re.finditer(r"[A-Za-z][A-Za-z.\-]*", text[start:hit.end()]):
        if credential_of(word.group().rstrip("."), rules) is None:
            break
        stop = start + word.end()
        pos = stop
    return stop if stop is not None and pos > start else None


def _ends_cell(cells: _Cells, line: _Line, start: int, end: int) -> bool:
    """Whether the name at [start, end) of `line` is its own form cell: it opens a cell and the cell ends with it."""
    row = cells.of(line)
    k = _cell_at(row, start)
    return k is not None and row[k].start == start and row[k].end <= end


def _credentialed_line_candidates(text: str, taken: list[tuple[int, int]], rules: NameRules,
                                  m: _Matcher, cells: _Cells) -> list[_Candidate]:
    """Clinicians printed as a name with a credential or a title on a line of their own, which no label, section or
    spaCy entity gave a role: provider cards and lists. The line may open with OCR debris (an avatar read as "NV",
    "| VK |"), and the credential may wrap onto the next line ("Deepika Bhattacharya,⏎MD, FAAPMR"). A name that fills
    a form's cell counts as on a line of its own (`cells`: "Dr Anders Sjöberg    Pain Medicine" under a label OCR
    garbled). Another clinician until the choice of the treating physician weighs them (a fallback, like spaCy's
    titled names)."""
    lines = _lines(text)
    out: list[_Candidate] = []
    for idx, line in enumerate(lines):
        if any(line.start < te and ts < line.end for ts, te in taken):
            continue
        start = _after_debris(text, line, rules)
        span = _name_run(text, start, line.end, rules, m)
        if span is None:
            past_menu = _after_side_menu_word(text, start, line.end, rules)
            span = _name_run(text, past_menu, line.end, rules, m) if past_menu is not None else None
        if span is None:
            continue
        raw = text[span[0]:span[1]]
        end = span[1]
        name = parse_person_name(raw, rules)
        rest = text[span[1]:line.end].strip()
        if (name is None or not name.credentials) and rest in ("", ","):
            wrapped = _wrapped_credentials(text, lines, idx, span, rules)
            if wrapped is None and rest == "":
                wrapped = _wrapped_surname(text, lines, idx, span, rules, m)
            if wrapped is not None:
                end, raw = wrapped
                name = parse_person_name(raw, rules)
        if name is None or not (name.credentials or name.titles):
            continue
        below = _line_after(lines, idx, end)
        after = text[end:lines[below - 1].end]
        if after.strip(" ,") and not _PHONE_REST.match(after) and not _ends_cell(cells, line, span[0], end):
            continue  # more on the line: prose or a table row, which other rules read
        if below < len(lines) and _STREET.match(lines[below].text(text)):
            continue  # a letter's inside address ("van Dijk, Mareike, MD⏎741 Park Rd"): the addressee, not who treated
        out.append(_Candidate(span[0], end, span[0], Role.OTHER_CLINICIAN, "credentialed_line",
                              rules.weights.spacy_titled,
                              "a titled or credentialed name on a line or in a cell of its own, with no role label",
                              fallback=True, raw=raw if end > line.end else None))
    return out
