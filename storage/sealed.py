"""PHI in the database's columns, sealed at rest with the data keyring (storage/crypto.py, AES-256-GCM), and the keyed
digests that stand in for identifiers where rows must be matched or kept unique.

Every column that can hold PHI — a name, a file name, a date of birth or MRN, a report, a coordinator's note or
correction — is listed in `SEALED_COLUMNS` with the context its values are bound to (a table, a column and the row's
ids), so a sealed value copied into another row or column fails to open. `docverify keys rotate` re-seals every one
of them (`Store.reseal_all`). Without a keyring the values are stored in clear, as before; values written in clear
before a key was configured are read as they are and sealed by the next rotation.

Identifiers (upload_identifiers) are kept unique per upload by `match_digest`: an HMAC-SHA256 of the kind and the
normalised value under a key derived from the current data key (a plain SHA-256 without a keyring), so the clear
value is never a key or an index of the table. The digest changes with the key; rotation recomputes it.

The client's `external_id` of uploads and cases (often an MRN) is sealed too, and found by the same kind of digest
(`external_id_digest`), indexed with the owner.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from storage.crypto import Keyring, SealError, open_text, seal_text
from storage.models import (
    CaseDecisionRow,
    CaseReportRow,
    CaseRow,
    ReportRow,
    ReviewDecisionRow,
    UploadIdentifierRow,
    UploadRow,
    UserRow,
)

__all__ = ["SEALED_COLUMNS", "SealError", "SealedColumn", "column_context", "external_id_digest",
           "external_id_digests", "match_digest", "open_column", "open_optional", "open_value", "seal_row",
           "seal_value"]

_MATCH_KEY_LABEL: Final = b"docverify upload_identifiers match v1"


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """One column that holds PHI sealed: its model, its attribute and the context of a row's value."""

    model: type[Any]
    column: str
    context: Callable[[Any], str]


def _upload_field(name: str) -> Callable[[Any], str]:
    return lambda row: f"uploads.{name}:{row.id}"


SEALED_COLUMNS: Final[tuple[SealedColumn, ...]] = (
    SealedColumn(ReportRow, "report_json", lambda r: f"{r.upload_id}:{r.version}"),  # the format of storage/crypto.py
    SealedColumn(UploadRow, "display_name", _upload_field("display_name")),
    SealedColumn(UploadRow, "intake_patient_name", _upload_field("intake_patient_name")),
    SealedColumn(UploadRow, "external_id", _upload_field("external_id")),
    SealedColumn(CaseRow, "external_id", lambda r: f"cases.external_id:{r.id}"),
    SealedColumn(CaseRow, "patient_name", lambda r: f"cases.patient_name:{r.id}"),
    SealedColumn(CaseReportRow, "report_json", lambda r: f"case_reports.report_json:{r.case_id}:{r.version}"),
    SealedColumn(CaseDecisionRow, "note", lambda r: f"case_decisions.note:{r.case_id}:{r.seq}"),
    SealedColumn(ReviewDecisionRow, "before_json", lambda r: f"review_decisions.before_json:{r.upload_id}:{r.seq}"),
    SealedColumn(ReviewDecisionRow, "after_json", lambda r: f"review_decisions.after_json:{r.upload_id}:{r.seq}"),
    SealedColumn(ReviewDecisionRow, "note", lambda r: f"review_decisions.note:{r.upload_id}:{r.seq}"),
    SealedColumn(UploadIdentifierRow, "value", lambda r: f"upload_identifiers.value:{r.upload_id}:{r.kind}"),
    # not PHI, but a login secret the database must not give away (storage/access.py "One-time codes")
    SealedColumn(UserRow, "totp_secret", lambda r: f"users.totp_secret:{r.name}"),
)
"""Every database column that holds PHI (docs/THREAT-MODEL.md "HIPAA technical safeguards", encryption at rest), and
the coordinators' one-time-code secrets."""


def seal_value(keys: Keyring | None, value: str, context: str) -> str:
    """`value` sealed with the current key and bound to `context`; as it is without a keyring."""
    return value if keys is None else seal_text(keys, value, context)


def open_value(keys: Keyring | None, stored: str, context: str) -> str:
    """The clear value of a stored column value (clear values written before a key are returned as they are).
    Raises SealError (altered, moved to another row, or an unknown key)."""
    return open_text(keys, stored, context)


def open_optional(keys: Keyring | None, stored: str | None, context: str) -> str | None:
    """`open_value`, None staying None."""
    return None if stored is None else open_value(keys, stored, context)


_BY_COLUMN: Final[dict[tuple[type[Any], str], SealedColumn]] = {(c.model, c.column): c for c in SEALED_COLUMNS}


def seal_row[R](keys: Keyring | None, row: R) -> R:
    """`row` (ids set, values in clear) with every listed column of its model sealed in place, each bound to the
    context `SEALED_COLUMNS` gives it; as it is without a keyring."""
    for sealed in SEALED_COLUMNS:
        if type(row) is sealed.model and (value := getattr(row, sealed.column)) is not None:
            setattr(row, sealed.column, seal_value(keys, value, sealed.context(row)))
    return row


def column_context(row: Any, column: str) -> str:
    """The context a listed column's value of `row` is sealed with (`SEALED_COLUMNS`)."""
    return _BY_COLUMN[(type(row), column)].context(row)


def open_column(keys: Keyring | None, row: Any, column: str) -> str | None:
    """The clear value of one listed column of a stored row (None staying None). Raises SealError (altered, moved
    to another row, or an unknown key)."""
    return open_optional(keys, getattr(row, column), column_context(row, column))


def match_digest(keys: Keyring | None, kind: str, value: str) -> str:
    """The keyed digest of an identifier (64 hex digits): HMAC-SHA256 of "<kind>:<normalised value>" under a key
    derived from the current data key; SHA-256 without a keyring."""
    message = f"{kind}:{value}".encode()
    if keys is None:
        return hashlib.sha256(message).hexdigest()
    derived = hmac.new(keys.current[1], _MATCH_KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(derived, message, hashlib.sha256).hexdigest()


EXTERNAL_ID_KIND: Final = "external_id"


def external_id_digest(keys: Keyring | None, external_id: str | None) -> str | None:
    """The keyed digest an external_id is stored and found by (`match_digest`); None for None."""
    return None if external_id is None else match_digest(keys, EXTERNAL_ID_KIND, external_id)


def external_id_digests(keys: Keyring | None, external_id: str) -> tuple[str, ...]:
    """Every digest a stored row of `external_id` may carry: the keyed one, and the unkeyed one that migration 0008
    gave the values it found (until `docverify keys rotate` re-keys them)."""
    unkeyed = match_digest(None, EXTERNAL_ID_KIND, external_id)
    keyed = match_digest(keys, EXTERNAL_ID_KIND, external_id)
    return (keyed,) if keyed == unkeyed else (keyed, unkeyed)
