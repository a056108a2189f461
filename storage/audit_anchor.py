"""The audit chain's head anchored outside the database (docs/THREAT-MODEL.md B6, "Holes closed").

An unkeyed chain can be rewritten from its first row by anyone who can write the database, and even a keyed chain can
be cut back to an earlier head. A small file outside the data dir (`Settings.audit_anchor_path`: 0600 in a 0700
folder, best on another disk or host) records the head seen at the last verify, `<row> <row hash>`; the next verify
checks that this row still has that hash, then records the new head. `docverify audit verify` and the reconciler's
scheduled verify (flows/reconcile.py) both do it, so the anchor moves with every reconcile run without an operator.
The file holds a row number and a hash: no PHI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.exports import private_folder, write_private
from storage.store import AuditVerification, Store


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """The anchor's verdict: `ok`, and a code —
    `anchored`: the recorded head is still in the chain, and the new head is recorded;
    `first_anchor`: no anchor yet, the head is recorded;
    `empty_chain`: nothing to anchor;
    `anchor_lost`: the recorded row is gone or has another hash (the chain was rewritten or cut back);
    `chain_broken`: the chain itself does not verify;
    `anchor_unreadable`: the file is not `<row> <hash>`;
    `anchor_unwritable`: the folder or file could not be written.
    After a failure the anchor is kept as it was, so the next verify reports it again."""

    ok: bool
    code: str
    anchored_seq: int | None = None


def check_and_advance(store: Store, chain: AuditVerification, path: Path) -> AnchorCheck:
    """Check the head anchored at `path` against the store's chain, then (when it holds and `chain` verified)
    record the chain's current head there, 0600 in a 0700 folder. Never raises for the anchor file itself."""
    anchored_seq: int | None = None
    try:
        if path.exists():
            seq_text, _, anchored = path.read_text(encoding="ascii").strip().partition(" ")
            if not seq_text.isdigit() or not anchored:
                return AnchorCheck(False, "anchor_unreadable")
            anchored_seq = int(seq_text)
            if store.audit_row_hash(anchored_seq) != anchored:
                return AnchorCheck(False, "anchor_lost", anchored_seq)
    except (OSError, UnicodeDecodeError):
        return AnchorCheck(False, "anchor_unreadable")
    if not chain.ok:
        return AnchorCheck(False, "chain_broken", anchored_seq)
    if not chain.rows:
        return AnchorCheck(True, "empty_chain", anchored_seq)
    head = store.audit_row_hash(chain.rows)
    try:
        private_folder(path.parent)
        write_private(path, f"{chain.rows} {head}\n")
    except OSError:
        return AnchorCheck(False, "anchor_unwritable", anchored_seq)
    return AnchorCheck(True, "anchored" if anchored_seq is not None else "first_anchor", anchored_seq)
