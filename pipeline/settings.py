"""The one settings object: every DOCVERIFY_* variable, read once at an entry point and passed down.

Built only by the entry points (`flows/`: the CLI, the Prefect flows when a runner starts them, the reader child) with
`Settings()` — which reads the environment then — or by tests with explicit values. No other module reads the
environment; nothing writes it to change behaviour. The README's "Settings" table lists each variable with its default
and meaning; a test keeps that table and this class in step (tests/test_settings.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
NER_OFF: Final = "off"
DEFAULT_NER_MODEL: Final = "docverify_ner_bc5cdr"


def _default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/docverify`, else `~/.cache/docverify` (the XDG base-directory convention)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "docverify"


def _default_anchor_dir() -> Path:
    """`$XDG_STATE_HOME/docverify/audit-anchors`, else `~/.local/state/docverify/audit-anchors` (XDG: state that
    outlives a cache but is not data): outside the default data dir."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "docverify" / "audit-anchors"


class Settings(BaseSettings):
    """docverify's settings, from DOCVERIFY_<NAME> variables (names case-insensitive); frozen once built."""

    model_config = SettingsConfigDict(env_prefix="DOCVERIFY_", frozen=True, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description=(
        "Where the embedded store keeps its SQLite database, the originals and the local Prefect server's home "
        "(made absolute against the current directory)."))
    database_url: str | None = Field(default=None, description=(
        "SQLAlchemy URL of the application database (e.g. postgresql+psycopg://host/db); unset: SQLite at "
        "<data dir>/docverify.db."))
    cache_dir: Path = Field(default_factory=_default_cache_dir, description=(
        "Cache of the ICD-10-CM table and the linker's fitted index (rebuilt when missing)."))
    corpora: Path = Field(default=REPO_ROOT.parent / "shared" / "corpora", description=(
        "Public corpora for training and the corpus evaluations (BC5CDR, NCBI-disease, C-CDA, MTSamples); default "
        "../shared/corpora beside the clone. Tests that need them skip when it is missing."))
    ner_model: str = Field(default=DEFAULT_NER_MODEL, description=(
        "The bundled NER model of the diagnosis finder's recall layer (`docverify models`), or `off`."))
    batch_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description=(
        "Uploads verified at once by `docverify batch` (reading runs in one child process per upload)."))
    dask_address: str | None = Field(default=None, description=(
        "Dask scheduler address (tls:// only) for the batch's per-upload tasks; unset: a thread pool on this machine."))
    dask_tls_dir: Path | None = Field(default=None, description=(
        "Folder of the Dask TLS files (ca.pem, node.pem, node-key.pem; made by `docverify dask-certs DIR`); required "
        "with dask_address."))
    heartbeat_s: float = Field(default=30.0, gt=0, description=(
        "Seconds between a reading upload's store heartbeats; keep several beats below reconcile_stale_s."))
    reconcile_stale_s: float = Field(default=180.0, gt=0, description=(
        "Seconds of silence after which the reconciler takes a PROCESSING upload for lost."))
    reconcile_every_s: float = Field(default=60.0, gt=0, description=(
        "Interval of the served reconcile deployment, seconds."))
    batch_cron: str = Field(default="*/15 * * * *", description="Cron schedule of the served batch deployment.")
    prefect_port: int = Field(default=4200, ge=1, le=65535, description=(
        "Port of the local Prefect server started when no PREFECT_API_URL is configured."))
    webhook_url: str | None = Field(default=None, description=(
        "URL that `docverify serve` POSTs every upload status change to (ids and status only, HMAC-signed); unset: "
        "no webhook."))
    webhook_secret: SecretStr | None = Field(default=None, description=(
        "Shared secret of the webhook's HMAC-SHA256 signature (X-Docverify-Signature); required with webhook_url."))
    webhook_max_attempts: int = Field(default=6, ge=1, le=20, description=(
        "Delivery attempts per webhook event before it is given up (each attempt is recorded)."))
    webhook_backoff_s: float = Field(default=2.0, gt=0, description=(
        "Seconds before the webhook's first retry; doubled after each failed attempt (exponential backoff)."))
    review_idle_s: float = Field(default=900.0, gt=0, description=(
        "Review app: seconds without a request after which a coordinator's session ends (15 min)."))
    review_absolute_s: float = Field(default=43_200.0, gt=0, description=(
        "Review app: seconds after login after which a session ends however active (12 h)."))
    review_require_totp: bool = Field(default=False, description=(
        "Review app: refuse the login of anyone without one-time codes set up (`docverify user totp NAME`). A person "
        "who has them set up needs a code whatever this says. Turn it on in production (README: Review app)."))
    api_uploads_per_minute: float = Field(default=30.0, gt=0, description=(
        "Upload API: documents one API token may upload a minute on average (POST /api/uploads and "
        "/api/cases/{id}/uploads); past it, 429 with Retry-After. Kept per API process unless api_shared_rate_limits."))
    api_upload_burst: int = Field(default=10, ge=1, description=(
        "Upload API: documents one API token may upload at once before api_uploads_per_minute applies."))
    api_requests_per_minute: float = Field(default=600.0, gt=0, description=(
        "Upload API: other requests (reads, cases, decisions) one API token may make a minute on average; past it, "
        "429 with Retry-After. Kept per API process unless api_shared_rate_limits."))
    api_request_burst: int = Field(default=100, ge=1, description=(
        "Upload API: other requests one API token may make at once before api_requests_per_minute applies."))
    api_shared_rate_limits: bool = Field(default=False, description=(
        "Upload API: keep the per-token limits in the store's database, so several API processes on one database "
        "count a token's requests together (one write per request); off: each process keeps its own."))
    api_max_concurrent_uploads: int = Field(default=8, ge=1, description=(
        "Upload API: uploads read and stored at once by one API process; one more answers 503 with Retry-After."))
    data_key_file: Path | None = Field(default=None, description=(
        "Keyring of the AES-256-GCM keys that encrypt originals, report JSON and the database's PHI columns at rest "
        "(0600, kept apart from the data dir; made and rotated by `docverify keys rotate`). Unset: stored in clear."))
    audit_key: SecretStr | None = Field(default=None, description=(
        "Key of the audit chain's HMAC-SHA256 (at least 32 characters); prefer audit_key_file. Unset with no key "
        "file: the chain is an unkeyed SHA-256."))
    audit_key_file: Path | None = Field(default=None, description=(
        "File holding the audit chain's HMAC key (0600, kept apart from the data dir and its backups); "
        "`docverify audit init-key FILE` makes one."))
    audit_anchor_dir: Path = Field(default_factory=_default_anchor_dir, description=(
        "Folder (0700, outside the data dir; best on another disk or host) of the audit chain's head anchors, one "
        "file (0600) per database: `docverify audit verify` and the reconciler's scheduled verify check that the "
        "head recorded there is still in the chain, then record the current one. Default "
        "$XDG_STATE_HOME/docverify/audit-anchors (~/.local/state/…)."))

    @field_validator("ner_model")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip() or DEFAULT_NER_MODEL

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and (self.webhook_secret is None or not self.webhook_secret.get_secret_value()):
            raise ValueError("DOCVERIFY_WEBHOOK_SECRET is required when DOCVERIFY_WEBHOOK_URL is set")
        return self

    @model_validator(mode="after")
    def _anchor_outside_data(self) -> Settings:
        anchor, data = self.audit_anchor_dir.resolve(), self.data_path
        if anchor == data or data in anchor.parents:
            raise ValueError("DOCVERIFY_AUDIT_ANCHOR_DIR must be outside DOCVERIFY_DATA_DIR (whoever can rewrite the "
                             "database there could rewrite the anchor too)")
        return self

    @property
    def audit_anchor_path(self) -> Path:
        """This database's head anchor: `audit_anchor_dir/<digest>.head`, the digest of the store URL without its
        password, so stores on one host keep apart anchors (and a new password keeps the anchor)."""
        parts = urlsplit(self.store_url)
        netloc = parts.netloc.rpartition("@")
        if netloc[1]:
            user = netloc[0].partition(":")[0]
            parts = parts._replace(netloc=f"{user}@{netloc[2]}")
        digest = hashlib.sha256(urlunsplit(parts).encode("utf-8")).hexdigest()[:32]
        return self.audit_anchor_dir / f"{digest}.head"

    @property
    def data_path(self) -> Path:
        """`data_dir`, absolute."""
        return self.data_dir.resolve()

    @property
    def store_url(self) -> str:
        """The application database URL: `database_url`, else SQLite under the data dir."""
        return self.database_url or f"sqlite:///{self.data_path}/docverify.db"

    def audit_key_bytes(self) -> bytes | None:
        """The audit chain's HMAC key: `audit_key`, else the contents of `audit_key_file` (stripped), else None.
        Raises ValueError on a key shorter than 32 bytes, OSError when the file cannot be read."""
        if self.audit_key is not None:
            key = self.audit_key.get_secret_value().encode("utf-8")
        elif self.audit_key_file is not None:
            key = self.audit_key_file.read_bytes().strip()
        else:
            return None
        if len(key) < 32:
            raise ValueError("the audit key must be at least 32 bytes")
        return key

    @property
    def originals_dir(self) -> Path:
        """Where the store keeps originals."""
        return self.data_path / "originals"

    @property
    def ner_model_name(self) -> str | None:
        """The recall layer's model name, None when `off`."""
        return None if self.ner_model.lower() == NER_OFF else self.ner_model

    def without_ner(self) -> Settings:
        """These settings with the recall layer off (`--no-ner`)."""
        return self.model_copy(update={"ner_model": NER_OFF})
