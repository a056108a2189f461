"""Link a diagnosis mention to ICD-10-CM codes.

scispaCy's candidate generation (character 3-gram TF-IDF, nearest neighbours by cosine), rebuilt on scikit-learn
over the billable ICD-10-CM descriptions (`pipeline.icd10cm`, read from simple_icd_10_cm's table), their inclusion
terms (below) and the lexicon's terms and abbreviations. The lexicon outranks the table: its rows get `LEXICON_BOOST`
when ranking (the reported score stays the plain cosine).

Inclusion terms: ICD-10-CM's other names of a code ("Plantar fasciitis" under M72.2 "Plantar fascial fibromatosis",
"Thoracic outlet syndrome" under G54.0 "Brachial plexus disorders"; `pipeline.icd10cm.inclusion_terms`) are extra rows
that link to that code. A candidate found through one is reported like a description's: the code's official
description, source "icd10cm", and the table's threshold (`link_min_score_table`). Which terms, for which code
(`inclusion_rows`; counts for simple-icd-10-cm 1.5.0, 12,574 terms listed):
  - A billable code's own terms (8,560) link to it.
  - Terms on a non-billable code (4,009 on 2,401 codes) name the parent concept, so they link to the code a coder
    assigns when nothing more is documented: the parent's one billable direct child that is its "unspecified"
    variety, i.e. whose description says "unspecified" more often than the parent's ("Phthisis bulbi" on H44.52 →
    H44.529 "Atrophy of globe, unspecified eye"; "Reflex sympathetic dystrophy" on G90.5 → G90.50). Only when that
    child is unambiguous (547 codes, 885 terms); when there is none (children that all need a 7th character, or that
    all name a specific variety) or several ("Cluster headache syndrome, unspecified" G44.00 → intractable / not
    intractable), the terms are skipped. Terms on blocks (5) are notes about the codes under them: skipped.
  - Skipped as well: coding notes and cross-references listed as terms (`_NOTE`: "Any condition in I00 with
    pericarditis", "Conditions in G00-G99", "Code also …"; 195); single words without "NOS" that also name conditions
    in other categories, because they mean the condition only in the code's context ("Polyneuropathy" under A69.22
    "Other neurologic disorders in Lyme disease", "Nephropathy" under N08 "Glomerular disorders in diseases
    classified elsewhere"); one-word acronyms ("TIA", "CJD": abbreviations are the lexicon's, curated); a term that
    is a billable code's description already; a term listed for more than one code ("Eosinophilic granuloma": K13.4
    and C96.6) — ambiguous. "NOS" stays in the text: it keeps a bare word's similarity a little under 1.0, so "Pain
    NOS" (R52) does not outrank the lexicon for "pain".
  - Projected, not fitted: the vocabulary and idf are fitted on the lexicon and description rows only and the
    inclusion rows are transformed with them, so no description's or query's vector changes and no existing link can
    weaken. (Fitted on all rows, the terms' rare 3-grams — "and/or", "dsm-iv" — entered the vocabulary and lowered
    the similarity of every query holding them: 23 of 5,189 BC5CDR/NCBI disease names lost their link, among them
    "Leg and/or back pain".) A projected term loses the 3-grams no description has, as a query does; it is skipped
    when a word of it outside brackets loses over half of them, or any when it is shorter than 5 characters
    (`_visible`: "4H syndrome" would stand for "syndrome", "MSSA pneumonia" for "pneumonia"). 9,020 rows are indexed.
  Effect on those 5,189 disease names at the default thresholds: 1,101 link instead of 808 (293 new, 40 to another
  code, mostly a more exact one — "thrombotic thrombocytopenic purpura" D69.2 → M31.19 — none lost); on
  `docverify eval samples`, `eval-mtsamples` and `eval-corpus` (sample-ccdas) no verdict or score changed.

Index: built lazily once per process. Decision: the WHOLE billable table (~74k descriptions) is indexed, not a few
chapters — mental-health and "other" diagnoses must link too so diagnoses[] is informative. With the inclusion terms
it has 83,994 rows (74,974 lexicon and description rows + 9,020). Fitting it takes 2.7 s on a 2-core machine (2.1 s
before the inclusion terms, measured side by side at load average ~2; 2.4–3.8 s when busy: over the 3 s budget), so
the fitted index (rows, vocabulary, idf, transposed matrix) is cached on disk (see `index_cache_dir`), ~46 MB, keyed
by the ICD-10-CM data release and table format, the lexicon's sha256, the scikit-learn version and `INDEX_FORMAT`;
loading it takes 0.06 s (unchanged by the inclusion terms; the first link in a fresh process, imports included, 1.25
→ 1.29 s). The cache is an .npz read with `allow_pickle=False` (no code runs from it), written atomically (temp file
+ rename); a missing, stale or unreadable file is rebuilt and rewritten, and a cache directory that cannot be
written only costs the rebuild. `char_wb` n-grams are taken inside word boundaries padded with spaces, so OCR slips
("fibromyalgla", "paln") still share most 3-grams with the right term.

Printed codes ("G90.512", "(M79.7)") are found by regex, validated against the table and take precedence over text
linking for the mention next to them (see extractors.diagnosis). The category always comes from `Policy.classify`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sklearn
from scipy.sparse import csr_matrix, vstack
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import icd10cm
from pipeline.codes import icd10_dotted
from pipeline.policy import Lexicon, Policy, icd_table_version, is_valid_code, load_lexicon, load_policy
from pipeline.types import Category

LEXICON_BOOST = 0.05  # ranking bonus of a lexicon row over a table row of about the same similarity
PRINTED_CODE = re.compile(r"(?<![A-Za-z0-9.])([A-TV-Z][0-9][0-9AB](?:\.[0-9A-Z]{1,4})?)(?![A-Za-z0-9])")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One linked code. `score` is the cosine similarity 0..1 (1.0 for a printed, validated code)."""

    code: str
    description: str
    score: float
    category: Category
    source: str  # "lexicon" | "icd10cm" | "printed"


def describe(code: str) -> str | None:
    """The ICD-10-CM description of `code` (dots optional), None when the code is not in the table."""
    return icd10cm.description(code) if is_valid_code(code) else None


def printed_codes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, dotted code) of every printed ICD-10-CM code in `text` that exists in the table."""
    out: list[tuple[int, int, str]] = []
    for m in PRINTED_CODE.finditer(text):
        if is_valid_code(m.group(1)):
            out.append((m.start(1), m.end(1), icd10_dotted(m.group(1))))
    return out


def _normalise(s: str) -> str:
    return " ".join(s.lower().split())


INDEX_FORMAT = 2  # bump when the rows, the vectorizer settings or the file layout change (2: inclusion terms)
_VECTORIZER = {"analyzer": "char_wb", "ngram_range": (3, 3), "lowercase": True}


def index_cache_dir() -> Path:
    """Where the fitted index is cached: `$XDG_CACHE_HOME/docverify`, else `~/.cache/docverify` (the directory of
    the ICD-10-CM table cache, `pipeline.icd10cm.cache_dir`)."""
    return icd10cm.cache_dir()


def clear_index_cache(cache_dir: Path | None = None) -> int:
    """Delete cached index files; returns how many were removed."""
    removed = 0
    for f in (cache_dir or index_cache_dir()).glob("icd_index-*.npz"):
        f.unlink(missing_ok=True)
        removed += 1
    return removed


# An inclusion "term" that is a coding note or a cross-reference, not a name of the condition ("Any condition in I00
# with pericarditis", "Conditions in G00-G99", "Codes also, if applicable, ...", "Screening is the testing for ...").
_NOTE = re.compile(r"\b[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z-]*|-[A-Z][0-9])"  # a code or range: "K80.5", "J60-J64", "O34.-"
                   r"|(?i:classifiable|classified to|listed (?:in|under)|\bany condition\b|\bconditions in\b|\bas in\b"
                   r"|\bcodes? (?:also|first|to)\b|use additional|should be coded|\bis (?:for|to be) used?\b|\bis the\b"
                   r"|\bthis (?:code|category)\b)")
_NOS = re.compile(r"\bNOS\b")
_QUALIFIER = re.compile(r"\([^)]*\)|\[[^]]*\]")  # nonessential modifiers, "[Devic]"-style eponyms and acronyms
_WORD = re.compile(r"[a-z][a-z'-]*")


def _essential(term: str) -> str:
    """An inclusion term without "NOS" and bracketed qualifiers."""
    return _QUALIFIER.sub(" ", _NOS.sub(" ", term))


def _unspecified_child(code: str, children: dict[str, tuple[str, ...]]) -> str | None:
    """The one billable direct child of `code` that is its "unspecified" variety (its description says
    "unspecified" more often than the parent's: "Atrophy of globe" → "…, unspecified eye"), None when there is no
    such child or more than one ("Cluster headache syndrome, unspecified" → intractable / not intractable)."""
    n = (icd10cm.description(code) or "").lower().count("unspecified")
    hits = [c for c in children.get(code, ()) if icd10cm.is_billable(c)
            and (icd10cm.description(c) or "").lower().count("unspecified") > n]
    return hits[0] if len(hits) == 1 else None


def inclusion_rows(descriptions: dict[str, str]) -> list[tuple[str, str]]:
    """(billable code, inclusion term) rows for the index, in table order; `descriptions` holds every billable
    code's description. Which terms and which code: see the module docstring ("Inclusion terms")."""
    table = icd10cm.table()
    children = table.children_map()
    candidates: list[tuple[str, str]] = []
    for name, terms in table.inclusion.items():
        if not table.is_valid(name):
            continue  # a block ("Z40-Z53") or chapter: its terms are notes about the codes under it
        target = name if name in descriptions else _unspecified_child(name, children)
        if target is None:
            continue
        for term in terms:
            term = " ".join(term.split())
            if term and not _NOTE.search(term):
                candidates.append((target, term))
    # Generic single words (no "NOS"): context-dependent names of a manifestation under its cause ("Polyneuropathy"
    # under A69.22 "Other neurologic disorders in Lyme disease", "Nephropathy" under N08) when the word also names
    # conditions of other categories; acronyms ("TIA", "CJD") are left to the lexicon's curated abbreviations.
    single = {t: w[0] for _, t in candidates
              if not _NOS.search(t) and len(w := _WORD.findall(_essential(t).lower())) == 1}
    words = set(single.values())
    categories: dict[str, set[str]] = {}
    for code, desc in descriptions.items():
        for w in set(_WORD.findall(desc.lower())) & words:
            categories.setdefault(w, set()).add(code[:3])
    targets: dict[str, set[str]] = {}
    # (`_normalise` only where whitespace needs it: ~500 of ~74k descriptions; the rest are lower-cased, 3× faster)
    by_description = {_normalise(d) if "  " in d or "\t" in d else d.lower(): c for c, d in descriptions.items()}
    rows: list[tuple[str, str]] = []
    for code, term in candidates:
        if term in single and (sum(ch.isupper() for ch in _essential(term)) >= 2
                               or categories.get(single[term], set()) - {code[:3]}):
            continue
        key = _normalise(term)
        if key in by_description:
            continue  # a description already (its own: redundant; another code's: that code's row says it)
        targets.setdefault(key, set()).add(code)
        rows.append((code, term))
    # A term listed for several codes ("Eosinophilic granuloma": K13.4, C96.6, ...) links to none of them.
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for code, term in rows:
        key = _normalise(term)
        if len(targets[key]) == 1 and (code, key) not in seen:
            seen.add((code, key))
            out.append((code, term))
    return out


def _visible(term: str, analyzer: Callable[[str], list[str]], vocabulary: dict[str, int],
             seen: dict[str, bool]) -> bool:
    """True when every word of `term` outside brackets keeps at least half of its 3-grams in `vocabulary`, and all
    of them when it is shorter than 5 characters (acronyms): a projected row whose word vanished would stand for a
    more general name than its own ("4H syndrome" would be "syndrome", "MSSA pneumonia" "pneumonia"). `seen`
    memoises words across calls."""
    for word in _QUALIFIER.sub(" ", term).split():
        ok = seen.get(word)
        if ok is None:
            grams = analyzer(word)
            known = sum(g in vocabulary for g in grams)
            ok = not any(ch.isalnum() for ch in word) or (2 * known >= len(grams)
                                                           and (len(word) >= 5 or known == len(grams)))
            seen[word] = ok
        if not ok:
            return False
    return True


def _table_rows(lexicon: Lexicon) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(code, text, source) rows in two parts: the rows the vocabulary and idf are fitted on (the lexicon's terms
    and abbreviations, then every billable table code's description), and the inclusion-term rows projected onto
    them (`inclusion_rows`; see the module docstring)."""
    rows: list[tuple[str, str, str]] = []
    for entry in lexicon.entries:
        code = icd10_dotted(entry.code)
        for term in (*entry.terms, *entry.abbreviations):
            rows.append((code, term, "lexicon"))
    descriptions: dict[str, str] = {}
    for code in icd10cm.billable_codes():  # a few codes are listed twice: both rows are kept, as before
        descriptions[code] = icd10cm.description(code) or ""
        rows.append((code, descriptions[code], "icd10cm"))
    return rows, [(code, term, "icd10cm") for code, term in inclusion_rows(descriptions)]


def _vectorizer(vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(**_VECTORIZER, preprocessor=_normalise, dtype=np.float32,
                           vocabulary=vocabulary)


_SEP = "\x00"  # joins strings in the cache file (no description or 3-gram contains NUL; `_pack` checks)


def _pack(strings: list[str]) -> npt.NDArray[np.uint8]:
    """Strings as one UTF-8 byte array (a fixed-width numpy string array would be ~4× the size)."""
    if any(_SEP in x for x in strings):
        raise ValueError("a string holds the separator")
    return np.frombuffer(_SEP.join(strings).encode("utf-8"), dtype=np.uint8)


def _unpack(blob: npt.NDArray[np.uint8]) -> list[str]:
    return blob.tobytes().decode("utf-8").split(_SEP) if blob.size else []


class IcdIndex:
    """The TF-IDF index; rows are (code, description, source).

    `cache_dir` None disables the on-disk cache (always fit). Raises nothing for a bad cache: it is rebuilt.
    """

    def __init__(self, lexicon: Lexicon, cache_dir: Path | None = None) -> None:
        t0 = time.perf_counter()
        self.cache_key = "|".join((f"format={INDEX_FORMAT}", f"icd={icd_table_version()}", f"table={icd10cm.FORMAT}",
                                   f"lexicon={lexicon.sha256}", f"sklearn={sklearn.__version__}"))
        path = cache_dir / f"icd_index-{hashlib.sha256(self.cache_key.encode()).hexdigest()[:20]}.npz" \
            if cache_dir is not None else None
        self.from_cache = path is not None and self._load(path)
        if not self.from_cache:
            self._fit(lexicon)
            if path is not None:
                self._save(path)
        self._boost = np.array([LEXICON_BOOST if s == "lexicon" else 0.0 for s in self.sources])
        self.build_seconds = time.perf_counter() - t0
        log.info("icd index: %d rows %s in %.2f s", len(self.codes), "loaded" if self.from_cache else "built",
                 self.build_seconds)

    @property
    def matrix(self) -> csr_matrix:
        """Rows × 3-gram features, L2-normalised rows."""
        return self._matrix_t.T.tocsr()

    def _fit(self, lexicon: Lexicon) -> None:
        base, projected = _table_rows(lexicon)
        self.vectorizer = _vectorizer()
        # Vocabulary and idf from the base rows only; inclusion terms are projected onto them (their n-grams no
        # description has are dropped, as a query's are), so they change no base row's or query's vector.
        fitted = self.vectorizer.fit_transform([r[1] for r in base])
        analyzer, vocabulary = self.vectorizer.build_analyzer(), self.vectorizer.vocabulary_
        seen: dict[str, bool] = {}
        projected = [r for r in projected if _visible(r[1], analyzer, vocabulary, seen)]
        rows = base + projected
        self.codes = [r[0] for r in rows]
        self.texts = [r[1] for r in rows]
        self.sources = [r[2] for r in rows]
        if projected:  # (transform rejects an empty list)
            fitted = vstack([fitted, self.vectorizer.transform([r[1] for r in projected])])
        matrix = fitted.tocsr()  # rows are L2-normalised
        self._matrix_t: csr_matrix = matrix.T.tocsr()  # transposed once: a per-query transpose costs ~40 ms

    def _save(self, path: Path) -> None:
        vocab = sorted(self.vectorizer.vocabulary_.items(), key=lambda kv: kv[1])
        m = self._matrix_t
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".icd_index-", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, key=np.array(self.cache_key), codes=_pack(self.codes), texts=_pack(self.texts),
                             sources=_pack(self.sources), vocabulary=_pack([k for k, _ in vocab]),
                             idf=self.vectorizer.idf_, data=m.data, indices=m.indices, indptr=m.indptr,
                             shape=np.array(m.shape))
                os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except (OSError, ValueError) as e:  # read-only or full disk: only the next process rebuilds
            log.warning("icd index cache not written (%s)", type(e).__name__)

    def _load(self, path: Path) -> bool:
        """True when `path` held a valid index for this key (attributes set); False to rebuild."""
        if not path.is_file():
            return False
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) != self.cache_key:
                    return False
                codes, texts, sources = _unpack(z["codes"]), _unpack(z["texts"]), _unpack(z["sources"])
                vocabulary = {k: i for i, k in enumerate(_unpack(z["vocabulary"]))}
                idf = z["idf"]
                shape = tuple(int(x) for x in z["shape"])
                matrix_t = csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            if not (len(codes) == len(texts) == len(sources) == shape[1] and len(vocabulary) == len(idf) == shape[0]):
                raise ValueError("inconsistent shapes")
            vectorizer = _vectorizer(vocabulary)
            vectorizer.idf_ = idf
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
            log.warning("icd index cache unreadable (%s); rebuilding", type(e).__name__)
            return False
        self.codes, self.texts, self.sources = codes, texts, sources
        self.vectorizer = vectorizer
        self._matrix_t = matrix_t
        return True

    def query(self, texts: list[str], k: int) -> list[list[tuple[int, float]]]:
        """Top-k (row, cosine) per query text, ranked with the lexicon boost."""
        q = self.vectorizer.transform(texts)
        sims = (q @ self._matrix_t).tocsr()  # cosine: both sides are L2-normalised; stays sparse (fast)
        out: list[list[tuple[int, float]]] = []
        for r in range(sims.shape[0]):
            lo, hi = sims.indptr[r], sims.indptr[r + 1]
            cols, vals = sims.indices[lo:hi], sims.data[lo:hi]
            if len(cols) == 0:
                out.append([])
                continue
            ranked = vals + self._boost[cols]
            n = min(k * 4, len(cols))
            top = np.argpartition(-ranked, n - 1)[:n]
            top = top[np.argsort(-ranked[top])]
            out.append([(int(cols[i]), float(vals[i])) for i in top])
        return out


class Linker:
    """Links mention text to ICD-10-CM candidates, classified by the policy."""

    def __init__(self, policy: Policy, lexicon: Lexicon, cache_dir: Path | None = None) -> None:
        self.policy = policy
        self.lexicon = lexicon
        self.cache_dir = cache_dir  # None: no on-disk index cache
        self._index: IcdIndex | None = None
        self._index_source: Linker | None = None

    def with_policy(self, policy: Policy) -> Linker:
        """The same linker classifying by `policy`, sharing the index (built or not yet) with this one."""
        other = Linker(policy, self.lexicon, self.cache_dir)
        other._index_source = self  # built lazily, once, by whichever of the two needs it first
        return other

    @property
    def index(self) -> IcdIndex:
        """The index, built on first use."""
        if self._index is None:
            source = self._index_source
            self._index = source.index if source is not None else IcdIndex(self.lexicon, self.cache_dir)
        return self._index

    def link_many(self, texts: list[str], k: int = 5, min_score: float | None = None) -> list[list[Candidate]]:
        """`link` for several texts in one matrix product."""
        if not texts:
            return []
        t = self.policy.thresholds
        # A lexicon row links at link_min_score; a table row needs link_min_score_table (table descriptions are long
        # and share 3-grams with everyday words: "left knee" is 0.75 from "bursitis of knee, left knee").
        lex_min = t.link_min_score if min_score is None else min_score
        table_min = t.link_min_score_table if min_score is None else min_score
        idx = self.index
        results: list[list[Candidate]] = []
        for hits in idx.query(texts, k):
            seen: set[str] = set()
            cands: list[Candidate] = []
            for row, score in hits:
                code = idx.codes[row]
                if score < (lex_min if idx.sources[row] == "lexicon" else table_min) or code in seen:
                    continue
                seen.add(code)
                cands.append(Candidate(code, describe(code) or idx.texts[row], round(score, 4),
                                       self.policy.classify(code), idx.sources[row]))
                if len(cands) == k:
                    break
            results.append(cands)
        return results

    def link(self, mention_text: str, k: int = 5, min_score: float | None = None) -> list[Candidate]:
        """Candidates for `mention_text`, best first, at or above the policy's link_min_score (or `min_score`)."""
        return self.link_many([mention_text], k, min_score)[0]

    def printed(self, code: str) -> Candidate | None:
        """A Candidate for a printed code when it exists in ICD-10-CM, else None."""
        desc = describe(code)
        if desc is None:
            return None
        return Candidate(icd10_dotted(code), desc, 1.0, self.policy.classify(code), "printed")


@functools.cache
def get_linker() -> Linker:
    """The process-wide linker for the default policy and lexicon (index loaded or built on first `link`), with the
    on-disk index cache in `index_cache_dir()`."""
    return Linker(load_policy(), load_lexicon(), cache_dir=index_cache_dir())


def link(mention_text: str) -> list[Candidate]:
    """Link with the process-wide linker (see `Linker.link`)."""
    return get_linker().link(mention_text)
