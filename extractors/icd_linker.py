"""Link a diagnosis mention to ICD-10-CM codes.

scispaCy's candidate generation (character 3-gram TF-IDF, nearest neighbours by cosine), rebuilt on scikit-learn
over the billable ICD-10-CM descriptions (`pipeline.icd10cm`, read from simple_icd_10_cm's table) plus the lexicon's
terms and abbreviations. The lexicon outranks the table: its rows get `LEXICON_BOOST` when ranking (the reported score
stays the plain cosine).

Index: built lazily once per process. Decision: the WHOLE billable table (~74k descriptions) is indexed, not a few
chapters — mental-health and "other" diagnoses must link too so diagnoses[] is informative. Fitting it takes 2.4–3.8 s
on a 2-core machine (over the 3 s budget), so the fitted index (rows, vocabulary, idf, transposed matrix) is cached
on disk (see `index_cache_dir`), keyed by the ICD-10-CM data release, the lexicon's sha256, the scikit-learn version
and `INDEX_FORMAT`; loading it takes ~0.2 s. The cache is an .npz read with `allow_pickle=False` (no code runs from
it), written atomically (temp file + rename); a missing, stale or unreadable file is rebuilt and rewritten, and a
cache directory that cannot be written only costs the rebuild. `char_wb` n-grams are taken inside word boundaries
padded with spaces, so OCR slips ("fibromyalgla", "paln") still share most 3-grams with the right term.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import sklearn
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline import icd10cm
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


def with_dot(code: str) -> str:
    """Canonical dotted form ("G90512" → "G90.512")."""
    c = code.strip().upper().replace(".", "")
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def printed_codes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, dotted code) of every printed ICD-10-CM code in `text` that exists in the table."""
    out: list[tuple[int, int, str]] = []
    for m in PRINTED_CODE.finditer(text):
        if is_valid_code(m.group(1)):
            out.append((m.start(1), m.end(1), with_dot(m.group(1))))
    return out


def _normalise(s: str) -> str:
    return " ".join(s.lower().split())


INDEX_FORMAT = 1  # bump when the rows, the vectorizer settings or the file layout change
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


def _table_rows(lexicon: Lexicon) -> list[tuple[str, str, str]]:
    """(code, text, source) rows: the lexicon's terms and abbreviations, then every billable table code."""
    rows: list[tuple[str, str, str]] = []
    for entry in lexicon.entries:
        code = with_dot(entry.code)
        for term in (*entry.terms, *entry.abbreviations):
            rows.append((code, term, "lexicon"))
    for code in icd10cm.billable_codes():
        rows.append((code, icd10cm.description(code) or "", "icd10cm"))
    return rows


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
        self.cache_key = "|".join((f"format={INDEX_FORMAT}", f"icd={icd_table_version()}",
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
        rows = _table_rows(lexicon)
        self.codes = [r[0] for r in rows]
        self.texts = [r[1] for r in rows]
        self.sources = [r[2] for r in rows]
        self.vectorizer = _vectorizer()
        matrix = self.vectorizer.fit_transform(self.texts).tocsr()  # rows are L2-normalised
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
        return Candidate(with_dot(code), desc, 1.0, self.policy.classify(code), "printed")


@functools.cache
def get_linker() -> Linker:
    """The process-wide linker for the default policy and lexicon (index loaded or built on first `link`), with the
    on-disk index cache in `index_cache_dir()`."""
    return Linker(load_policy(), load_lexicon(), cache_dir=index_cache_dir())


def link(mention_text: str) -> list[Candidate]:
    """Link with the process-wide linker (see `Linker.link`)."""
    return get_linker().link(mention_text)
