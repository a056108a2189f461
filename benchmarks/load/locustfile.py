"""Locust users of the load run (benchmarks/load/run.py starts locust headless with one of them):

- `Uploader` — the steady phase: an intake desk with its own API token posting a one-page text-layer PDF (distinct
  bytes every time) about every `--pace` seconds (uniform 0.5–1.5 × pace between starts).
- `BurstClient` — the burst: every client waits until all `-u` clients are up, then all post `--burst-requests`
  uploads back to back, ignoring Retry-After, on a few shared tokens (`--burst-tokens` of the tokens file).

Every answer is recorded (phase, HTTP status, whether Retry-After came, the error code, the upload id, the latency
in ms) and written as JSON to `--results-file` when locust quits; run.py checks them. A 5xx other than a 503 with
Retry-After, a 429 without it, a timeout or a refused connection is marked failed in locust's own statistics too.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from fpdf import FPDF
from locust import HttpUser, events, task
from locust.exception import StopUser

RECORDS: list[dict[str, Any]] = []
_LOCK = threading.Lock()
_NEXT_TOKEN = [0]
_BURST_READY = [0, 0]  # clients started, clients finished
_BURST_GO = gevent.event.Event()
TIMEOUT_S = 60.0
# Synthetic, made up for the load run: a one-page visit note with a text layer, read without OCR.
NOTE = ("Riverside Pain Clinic - visit note", "Patient: Dana Loadtest    DOB: 02/03/1971",
        "Treating physician: Robin Example, MD", "Assessment: chronic low back pain (M54.50).")


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--tokens-file", required=True, help="JSON {steady: [...], burst: [...]} of API tokens.")
    parser.add_argument("--results-file", required=True, help="Where every answer is written (JSON).")
    parser.add_argument("--pace", type=float, default=10.0, help="Uploader: mean seconds between uploads.")
    parser.add_argument("--burst-requests", type=int, default=3, help="BurstClient: uploads each, back to back.")


@events.quitting.add_listener
def _write(environment: Any, **_: Any) -> None:
    Path(environment.parsed_options.results_file).write_text(json.dumps({"records": RECORDS}) + "\n")


def note_pdf() -> bytes:
    """A one-page text-layer PDF whose bytes are new every time (a random reference line)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in (*NOTE, f"Reference: {uuid.uuid4().hex}"):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _tokens(environment: Any) -> dict[str, list[str]]:
    tokens: dict[str, list[str]] = json.loads(Path(environment.parsed_options.tokens_file).read_text())
    return tokens


class _Poster(HttpUser):
    abstract = True
    phase = "?"
    token = ""

    def post_upload(self) -> None:
        """POST one new document; record the answer; mark locust's request failed when it breaks the rules."""
        started = time.perf_counter()
        with self.client.post("/api/uploads", name=f"POST /api/uploads [{self.phase}]",
                              headers={"Authorization": f"Bearer {self.token}"},
                              files={"file": ("note.pdf", note_pdf(), "application/pdf")},
                              data={"patient_name": "Dana Loadtest", "payer": "commercial"},
                              timeout=TIMEOUT_S, catch_response=True) as response:
            latency_ms = (time.perf_counter() - started) * 1000
            status = int(response.status_code or 0)  # 0: no answer (timeout, refused, reset)
            retry_after = response.headers.get("Retry-After") if status else None
            code = upload_id = None
            try:
                body = response.json() if status else {}
                upload_id = body.get("upload_id")
                code = (body.get("error") or {}).get("code")
            except ValueError:
                code = "not_json"
            with _LOCK:
                RECORDS.append({"phase": self.phase, "status": status, "retry_after": retry_after, "code": code,
                                "upload_id": upload_id, "ms": round(latency_ms, 2)})
            if status in (200, 202):
                response.success()
            elif status in (429, 503) and retry_after:
                response.success()  # refused as designed: counted apart by run.py
            else:
                response.failure(f"status {status} code {code} retry_after {retry_after}")


class Uploader(_Poster):
    """Steady phase: one desk, one token, an upload about every `--pace` seconds."""

    phase = "steady"

    def on_start(self) -> None:
        tokens = _tokens(self.environment)["steady"]
        with _LOCK:
            self.token = tokens[_NEXT_TOKEN[0] % len(tokens)]
            _NEXT_TOKEN[0] += 1
        self._pace = float(self.environment.parsed_options.pace)
        gevent.sleep(random.uniform(0, self._pace))  # noqa: S311 - desks do not start in step

    def wait_time(self) -> float:
        return random.uniform(0.5, 1.5) * self._pace  # noqa: S311 - think time, not crypto

    @task
    def upload(self) -> None:
        self.post_upload()


class BurstClient(_Poster):
    """Burst: all clients post at once, back to back, on a few shared tokens; then locust stops."""

    phase = "burst"

    def wait_time(self) -> float:
        return 0.0

    def on_start(self) -> None:
        tokens = _tokens(self.environment)["burst"]
        with _LOCK:
            self.token = tokens[_BURST_READY[0] % len(tokens)]
            _BURST_READY[0] += 1
            if _BURST_READY[0] >= self.environment.runner.target_user_count:
                _BURST_GO.set()
        _BURST_GO.wait(timeout=30)

    @task
    def burst(self) -> None:
        for _ in range(int(self.environment.parsed_options.burst_requests)):
            self.post_upload()
        with _LOCK:
            _BURST_READY[1] += 1
            last = _BURST_READY[1] >= self.environment.runner.target_user_count
        if last:
            gevent.spawn_later(0.2, self.environment.runner.quit)
        raise StopUser()
