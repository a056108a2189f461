"""The PHI canary sweep over the whole path (docs/THREAT-MODEL.md "Test plan" item 49; docs/CONVENTIONS.md "PHI").

Documents carrying a canary patient — name, date of birth, MRN and a diagnosis phrase, also in the file names and the
intake — go through every entry point once, in a fresh environment (a new TMPDIR, XDG_CACHE_HOME, data dir, keyring
and audit key): `docverify check` of a text-layer PDF and of a Pillow-drawn screenshot and `docverify batch` with a
manifest (subprocesses, every logger at DEBUG), the upload API and the coordinators' review app served by uvicorn
with its access log on (uploads, reads, cases, a coordinator's decisions and notes, exports, error pages), the
outbound webhook, and the batch flow run by the Prefect test server. Then each place the canary must not reach is
searched, case-folded: app logs, access logs, Prefect's database and home, the temp folder, the cache folder, error
responses, every URL the apps made or were asked for, webhook deliveries, and the store's database and originals
(with a data key configured, PHI is kept there only sealed: storage/crypto.py).

The sweep runs once per module (~40 s on two busy cores); each place is one case of the table below.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
import uvicorn
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL

ROOT = Path(__file__).resolve().parents[1]

NAME = "Zorbex Canarywell"
DOB = "07/29/1931"
MRN = "CNRY-58213-QX"
SSN = "900-00-0000"  # SSN-shaped (docs/THREAT-MODEL.md item 49)
DIAGNOSIS = "quixotal flare of the left flank"
FILE_NAME = "Canarywell Zorbex visit.pdf"
SHOT_NAME = "Canarywell_Zorbex_portal.png"

# Every form a canary may take once read, normalised or echoed: each searched case-folded.
NEEDLES: tuple[str, ...] = (
    "zorbex", "canarywell",                      # the name, either part, any order or case
    "07/29/1931", "1931-07-29", "07-29-1931", "19310729",  # the date of birth as printed, as ISO, as digits
    "cnry-58213-qx", "cnry58213qx",              # the MRN as printed and as normalised (extractors/identifiers.py)
    "quixotal",                                  # the diagnosis text
    SSN,                                         # as printed (no dashes would match stray digits)
)
_NEEDLE_BYTES = tuple(n.encode() for n in NEEDLES)

PASSWORD = "canary sweep password"
WEBHOOK_SECRET = "canary-webhook-secret"


def hits(data: bytes | str) -> list[str]:
    """The needles found in `data`, case-folded (bytes: ASCII case only, as a file holds them; UTF-16 too)."""
    if isinstance(data, str):
        folded = data.casefold()
        return [n for n in NEEDLES if n in folded]
    low = data.lower()
    wide = low.replace(b"\x00", b"") if b"\x00" in low else low  # UTF-16 text in a binary file
    return [n.decode() for n in _NEEDLE_BYTES if n in low or n in wide]


def context(data: bytes | str, width: int = 40) -> list[str]:
    """Up to three excerpts around the first hits (for the failure message only)."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    folded = text.casefold()
    out = []
    for n in NEEDLES:
        at = folded.find(n)
        if at >= 0:
            out.append(repr(text[max(0, at - width):at + len(n) + width]))
    return out[:3]


# --- the canary documents -------------------------------------------------------------------------------------------

def canary_pdf() -> bytes:
    """A text-layer visit note: the canary patient, DOB and MRN, a physician, a pain diagnosis with the canary text."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in ("Riverside Pain Clinic - Visit Note", f"Patient: {NAME}   DOB: {DOB}   MRN: {MRN}   SSN: {SSN}",
                 "Attending: Priya Raman, MD", "Assessment:", f"1. Fibromyalgia (M79.7), {DIAGNOSIS}",
                 "Signed: Priya Raman, MD"):
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def canary_png() -> bytes:
    """A portal screenshot drawn with Pillow (read by OCR): the canary name, DOB, MRN and diagnosis phrase."""
    im = Image.new("L", (1400, 500), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=34)
    for i, line in enumerate(("Patient portal - Problem list", f"Name: {NAME}", f"DOB: {DOB}   MRN: {MRN}",
                              f"Fibromyalgia (M79.7), {DIAGNOSIS}")):
        draw.text((34, 34 + i * 54), line, fill=0, font=font)
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


# --- what the sweep collects ----------------------------------------------------------------------------------------

@dataclass
class Sweep:
    """What each place held after the run: (where, content) pairs per place."""

    places: dict[str, list[tuple[str, bytes | str]]] = field(default_factory=dict)
    report_json: str = ""  # a report read back through the API: the canary belongs there
    webhook_bodies: list[bytes] = field(default_factory=list)
    audit_actions: list[tuple[str, str, str | None]] = field(default_factory=list)
    audit_verify: str = ""

    def add(self, place: str, where: str, content: bytes | str) -> None:
        self.places.setdefault(place, []).append((where, content))

    def add_tree(self, place: str, root: Path, *, skip: tuple[Path, ...] = ()) -> None:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file() and not path.is_symlink() and not any(path.is_relative_to(s) for s in skip):
                self.add(place, str(path.relative_to(root)), path.read_bytes())


class Records(logging.Handler):
    """Every log record of every logger, formatted with its exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append((record.name, self.format(record)))
        except Exception as e:  # noqa: BLE001 - a record that does not format is kept by its type
            self.lines.append((record.name, f"unformattable {e.__class__.__name__}"))


class _Receiver(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).received.append(str(self.headers).encode() + b"\n" + self.path.encode() + b"\n" + body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the stderr log
        return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_URL_IN_HTML = re.compile(r"""(?:href|src|action)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


class Http:
    """An httpx client that files what it sees: error responses (body and headers), every URL asked for or given."""

    def __init__(self, base: str, sweep: Sweep) -> None:
        self.client = httpx.Client(base_url=base, follow_redirects=False, timeout=120)
        self.sweep = sweep

    def __call__(self, method: str, url: str, *, expect: int | tuple[int, ...], **kw: object) -> httpx.Response:
        response = self.client.request(method, url, **kw)  # type: ignore[arg-type]
        wanted = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in wanted, (method, url, response.status_code)
        self.sweep.add("urls", f"{method} asked", str(response.request.url))
        if "location" in response.headers:
            self.sweep.add("urls", f"{method} {url} location", response.headers["location"])
        kind = response.headers.get("content-type", "")
        if "html" in kind:
            for link in _URL_IN_HTML.findall(response.text):
                self.sweep.add("urls", f"{method} {url} link", link)
        if "json" in kind and response.status_code < 400:
            for link in re.findall(r'"(/[^"]*)"', response.text):
                self.sweep.add("urls", f"{method} {url} link", link)
        if response.status_code >= 400:
            self.sweep.add("error bodies", f"{method} {url} {response.status_code}",
                           str(response.headers) + "\n" + response.text)
        return response


# --- the sweep ------------------------------------------------------------------------------------------------------

def _cli(args: list[str], env: dict[str, str], *, stdin: str | None = None) -> subprocess.Popen[str]:
    """`docverify ARGS` in a child with every logger at DEBUG on stderr (as an operator debugging would run it)."""
    boot = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
            "from flows.cli import app; app(prog_name='docverify')")
    return subprocess.Popen([sys.executable, "-c", boot, *args], env=env, cwd=ROOT, text=True,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(sweep: Sweep, name: str, process: subprocess.Popen[str], *, ok: tuple[int, ...] = (0,),
            stdout_is_report: bool = False, timeout: float = 300) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode in ok, (name, process.returncode, err[-3000:])
    sweep.add("app logs", f"{name} stderr", err)
    if not stdout_is_report:  # `check` prints the report itself: that is where the canary belongs
        sweep.add("app logs", f"{name} stdout", out)
    return out


def _html_csrf(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture(scope="module")
def sweep(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweep]:  # noqa: PLR0915
    """Run every entry point once with the canary documents; collect every place afterwards."""
    from flows.api import create_app
    from flows.review import create_review_app
    from flows.tasks import open_store
    from pipeline.settings import Settings
    from storage.access import Access, AccessRole
    from storage.cases import CaseStore

    base = tmp_path_factory.mktemp("canary")
    tmpdir, cache, data, keys, prefect_home = (base / n for n in ("tmp", "cache", "var", "keys", "prefect-home"))
    for d in (tmpdir, cache, keys, prefect_home):
        d.mkdir()
    inbox, out = base / "inbox", base / "out"
    inbox.mkdir()
    pdf, png = canary_pdf(), canary_png()
    (inbox / FILE_NAME).write_bytes(pdf)
    (inbox / SHOT_NAME).write_bytes(png)
    manifest = base / "manifest.csv"
    manifest.write_text(f"file,patient_name,payer,case\n{FILE_NAME},{NAME},medicare,c1\n"
                        f"{SHOT_NAME},{NAME},medicare,c1\n", encoding="utf-8")
    previous_cache = Settings(_env_file=None).cache_dir  # type: ignore[call-arg]
    if previous_cache.is_dir():  # the ICD-10-CM table and the linker's index: rebuilding them takes minutes
        shutil.copytree(previous_cache, cache / "docverify")

    webhook_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DOCVERIFY_"))}
    env.update(TMPDIR=str(tmpdir), XDG_CACHE_HOME=str(cache), OMP_THREAD_LIMIT="1",
               DOCVERIFY_DATA_DIR=str(data), DOCVERIFY_DATA_KEY_FILE=str(keys / "data.keys"),
               DOCVERIFY_AUDIT_KEY_FILE=str(keys / "audit.key"), DOCVERIFY_BATCH_CONCURRENCY="2",
               PREFECT_API_URL=prefect_api, PREFECT_HOME=str(prefect_home), PREFECT_LOGGING_LEVEL="DEBUG",
               PREFECT_LOGGING_ROOT_LEVEL="DEBUG", PREFECT_LOGGING_TO_API_LEVEL="DEBUG")
    result = Sweep()
    records = Records()
    root = logging.getLogger()
    watched = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "prefect", "httpx",
                                              "httpcore", "sqlalchemy", "multipart", "python_multipart")]
    levels = {lg.name: lg.level for lg in watched}
    propagate = {lg.name: lg.propagate for lg in watched}
    mp = pytest.MonkeyPatch()
    files = [str(inbox / FILE_NAME), str(inbox / SHOT_NAME)]
    try:
        for k, v in env.items():
            if k.startswith(("TMPDIR", "XDG_", "DOCVERIFY_")):
                mp.setenv(k, v)
        mp.setattr(tempfile, "tempdir", str(tmpdir))
        root.addHandler(records)
        for lg in watched:
            lg.setLevel(logging.DEBUG)
            lg.propagate = lg is not root

        # Keys first, through their entry points (the keyring is created by `keys rotate`).
        _finish(result, "audit init-key", _cli(["audit", "init-key", str(keys / "audit.key")], env))
        _finish(result, "keys rotate", _cli(["keys", "rotate"], env))
        # `docverify check` of each file, alone (a child each, while the API part runs).
        checks = [(f"check {Path(f).suffix}", _cli(["check", f, "--patient-name", NAME, "--payer", "medicare"], env))
                  for f in files]

        settings = Settings(webhook_url=f"http://127.0.0.1:{webhook_port}/hook",  # type: ignore[call-arg]
                            webhook_secret=WEBHOOK_SECRET, webhook_backoff_s=0.2, webhook_max_attempts=2)
        store = open_store(settings)
        assert store.settings.data_keys is not None and store.settings.audit_key is not None
        access = Access(store)
        access.add_user("coord", AccessRole.COORDINATOR, PASSWORD)
        uploader_token, uploader = access.create_token(AccessRole.UPLOADER)
        _, coordinator = access.create_token(AccessRole.COORDINATOR, "coord")

        _Receiver.received = []
        receiver = HTTPServer(("127.0.0.1", webhook_port), _Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()

        app = create_app(settings, store)
        app.mount("/review", create_review_app(settings, store))
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="debug",
                                               access_log=True, lifespan="on", server_header=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        for lg in watched:  # uvicorn configured its loggers on start: every one at DEBUG again, into ours
            lg.setLevel(logging.DEBUG)
        http = Http(f"http://127.0.0.1:{port}", result)
        bearer = {"Authorization": f"Bearer {uploader}"}
        coord = {"Authorization": f"Bearer {coordinator}"}

        def upload(data: bytes, filename: str, url: str = "/api/uploads", expect: int = 202,
                   **fields: str) -> httpx.Response:
            return http("POST", url, expect=expect, headers=bearer, data=fields,
                        files={"file": (filename, data, "application/octet-stream")})

        # -- the upload API --
        up_pdf = upload(pdf, FILE_NAME, patient_name=NAME, payer="medicare", external_id="ref-canary-1").json()
        up_png = upload(png, SHOT_NAME, patient_name=NAME, payer="medicare").json()
        upload(pdf, FILE_NAME, patient_name=NAME, payer="martian", expect=422)  # invalid payer
        upload(b"", FILE_NAME, patient_name=NAME, payer="medicare", expect=422)  # an empty file
        upload(b"<html>" + NAME.encode() + b"</html>", f"{NAME}.pdf", patient_name=NAME, payer="medicare",
               expect=415)
        upload(pdf, FILE_NAME, patient_name=NAME + "\r\nX-Injected: 1", payer="medicare", expect=422)
        http("POST", "/api/uploads", expect=401, data={"patient_name": NAME, "payer": "medicare"},
             files={"file": (FILE_NAME, pdf, "application/pdf")})
        http("GET", "/api/uploads/" + "0" * 32, expect=404, headers=bearer)
        http("GET", "/api/uploads/not-an-id", expect=404, headers=bearer)
        http("GET", f"/api/uploads/{up_pdf['upload_id']}/report", expect=404, headers=bearer)  # not verified yet
        http("GET", "/api/uploads?since=yesterday", expect=422, headers=bearer)
        # -- cases through the API --
        case = http("POST", "/api/cases", expect=201, headers=bearer,
                    json={"patient_name": NAME, "payer": "medicare", "external_id": "case-canary"}).json()
        http("POST", "/api/cases", expect=422, headers=bearer, json={"patient_name": NAME, "payer": "martian",
                                                                     "dob": DOB})
        case_pdf = canary_pdf() + b"\n%case copy\n"  # other bytes: a new upload of the same owner
        upload(case_pdf, FILE_NAME, url=f"/api/cases/{case['case_id']}/uploads")
        upload(png + b"\x00", SHOT_NAME, url=f"/api/cases/{case['case_id']}/uploads")
        http("GET", f"/api/cases/{case['case_id']}/report", expect=200, headers=bearer)
        http("GET", "/api/cases/" + "f" * 32 + "/report", expect=404, headers=bearer)

        for name, process in checks:
            _finish(result, name, process, stdout_is_report=True)

        # -- `docverify batch`: the inbox with its manifest, and every upload the API left PENDING (Prefect flow) --
        _finish(result, "batch", _cli(["batch", str(inbox), "--out", str(out), "--manifest", str(manifest)], env),
                timeout=400)

        # -- reads through the API, as uploader and coordinator --
        for up in (up_pdf, up_png):
            http("GET", f"/api/uploads/{up['upload_id']}", expect=200, headers=bearer)
            report = http("GET", f"/api/uploads/{up['upload_id']}/report", expect=200, headers=coord)
            result.report_json += report.text
        http("GET", f"/api/uploads/{up_png['upload_id']}/report", expect=200, headers=bearer)
        http("GET", "/api/uploads?limit=5", expect=200, headers=coord)
        http("GET", f"/api/uploads/{up_pdf['upload_id']}/report?version=99", expect=404, headers=bearer)
        http("GET", f"/api/cases/{case['case_id']}/report", expect=200, headers=coord)
        http("POST", f"/api/cases/{case['case_id']}/decision", expect=200, headers=coord,
             json={"status": "complete", "note": f"Spoke with {NAME}, DOB {DOB}"})
        http("POST", f"/api/cases/{case['case_id']}/decision", expect=403, headers=bearer,
             json={"status": "complete", "note": f"{NAME}"})

        # -- the review app --
        http("GET", "/review/", expect=303)
        login = http("GET", "/review/login", expect=200)
        http("POST", "/review/login", expect=401, data={"username": NAME, "password": MRN,
                                                        "csrf": _html_csrf(login.text)})
        login = http("GET", "/review/login", expect=200)
        http("POST", "/review/login", expect=403, data={"username": "coord", "password": PASSWORD, "csrf": "forged"})
        login = http("GET", "/review/login", expect=200)
        http("POST", "/review/login", expect=303, data={"username": "coord", "password": PASSWORD,
                                                        "csrf": _html_csrf(login.text)})
        http("GET", "/review/", expect=200)
        http("GET", "/review/cases", expect=200)
        http("GET", "/review/dashboard", expect=200)
        page = http("GET", f"/review/uploads/{up_pdf['upload_id']}", expect=200)
        csrf = _html_csrf(page.text)
        http("GET", f"/review/uploads/{up_png['upload_id']}", expect=200)
        http("GET", f"/review/uploads/{up_pdf['upload_id']}/pages/1.png", expect=200)
        http("GET", f"/review/uploads/{up_pdf['upload_id']}/pages/9.png", expect=404)
        http("GET", "/review/uploads/" + "0" * 32, expect=404)
        http("GET", "/review/uploads/not-an-id", expect=404)
        http("GET", "/review/cases/" + "e" * 32, expect=404)
        http("POST", f"/review/uploads/{up_pdf['upload_id']}/correct", expect=303,
             data={"csrf": csrf, "field": "patient_name", "value": f"{NAME} (MRN {MRN})", "box": "typed"})
        http("POST", f"/review/uploads/{up_png['upload_id']}/incomplete", expect=303,
             data={"csrf": csrf, "message": f"{NAME}, please send the page with your physician ({DIAGNOSIS})."})
        http("POST", f"/review/uploads/{up_png['upload_id']}/override", expect=403,
             data={"csrf": "forged", "note": f"{NAME} {DOB}"})  # a CSRF failure
        http("POST", f"/review/uploads/{up_png['upload_id']}/correct", expect=422,
             data={"csrf": csrf, "field": "patient_name"})  # a missing field: the form is not echoed
        http("POST", f"/review/uploads/{up_png['upload_id']}/correct", expect=400,
             data={"csrf": csrf, "field": "no_such_field", "value": NAME})
        http("POST", f"/review/uploads/{up_png['upload_id']}/override", expect=403,
             headers={"Origin": "https://elsewhere.example"}, data={"csrf": csrf, "note": NAME})
        waiting = CaseStore(store).waiting()
        for case_record, _report in waiting[:1]:
            http("GET", f"/review/cases/{case_record.id}", expect=200)
            http("POST", f"/review/cases/{case_record.id}/decide", expect=303,
                 data={"csrf": csrf, "status": "incomplete", "note": f"{NAME} {MRN}"})
        http("GET", f"/review/cases/{case['case_id']}", expect=(200, 404))
        http("GET", "/review/export/queue.csv", expect=200)
        http("GET", "/review/export/decisions.csv", expect=200)
        http("POST", "/review/logout", expect=303, data={"csrf": csrf})
        http("GET", f"/review/uploads/{up_pdf['upload_id']}", expect=303)  # logged out

        # -- the webhook: every status change delivered before the server stops --
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(_Receiver.received) < 2:
            time.sleep(0.2)
        time.sleep(1.5)
        server.should_exit = True
        thread.join(15)
        receiver.shutdown()
        result.webhook_bodies = list(_Receiver.received)
        for i, body in enumerate(result.webhook_bodies):
            result.add("webhook deliveries", f"delivery {i}", body)

        audit = _finish(result, "audit verify", _cli(["audit", "verify"], env))
        result.audit_verify = audit
        result.audit_actions = [(a.actor, a.action, a.upload_id) for a in store.audit_log(limit=100_000)]
        store.close()
    finally:
        root.removeHandler(records)
        for lg in watched:
            lg.setLevel(levels[lg.name])
            lg.propagate = propagate[lg.name]
        mp.undo()

    for name, line in records.lines:
        result.add("access logs" if name == "uvicorn.access" else "app logs", name, line)
    db_file = Path(str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split("///", 1)[1])
    for path in sorted(db_file.parent.glob(db_file.name + "*")):
        result.add("prefect database and logs", path.name, path.read_bytes())
    result.add_tree("prefect database and logs", prefect_home)
    home = Path(str(PREFECT_HOME.value()))
    result.add_tree("prefect database and logs", home) if home.is_dir() else None
    result.add_tree("temp folder", tmpdir)
    result.add("temp folder", "(folder listing)", "\n".join(str(p) for p in tmpdir.rglob("*")))
    result.add_tree("cache folder", cache)
    result.add_tree("store database and originals", data, skip=(data / "prefect",))
    result.add("store database and originals", "(folder listing)", "\n".join(str(p) for p in data.rglob("*")))
    yield result


PLACES = ("app logs", "access logs", "prefect database and logs", "temp folder", "cache folder", "error bodies",
          "urls", "webhook deliveries", "store database and originals")


@pytest.mark.parametrize("place", PLACES)
def test_when_canary_documents_pass_every_entry_point_then_this_place_holds_no_canary(sweep: Sweep,
                                                                                      place: str) -> None:
    items = sweep.places.get(place, [])
    assert items, f"nothing was collected from {place}: the sweep would pass vacuously"
    found = [(where, hits(content), context(content)) for where, content in items if hits(content)]
    assert found == []


def test_when_the_sweep_ran_then_the_canary_reached_the_report_and_every_entry_point_was_exercised(
        sweep: Sweep) -> None:
    # The canary went where it belongs: the report read back through the API names the patient.
    assert NAME in sweep.report_json and "M79.7" in sweep.report_json
    # The access log saw the requests; the webhook got status changes; the chain still verifies.
    assert len(sweep.places["access logs"]) > 30
    assert sweep.webhook_bodies and all(b"upload_id" in b for b in sweep.webhook_bodies)
    assert "ok" in sweep.audit_verify
    # Every read of PHI was audited with who read it: API reports and case reports (owner or person, and token),
    # the review app's document pages, page images and exports (the coordinator's login).
    actions = {(actor.split(":")[0], action) for actor, action, _ in sweep.audit_actions}
    assert {("token", "report.read"), ("coord", "report.read"), ("token", "case.read"), ("coord", "case.read"),
            ("user", "review.view"), ("user", "review.page_view"), ("user", "review.case_view"),
            ("user", "review.export.queue"), ("user", "review.export.decisions"),
            ("cli", "report.export")} <= actions
    assert len(sweep.places["error bodies"]) >= 15
    # Prefect recorded the batch flow run and its run logger's lines: the database searched is the one written.
    prefect = b"".join(c if isinstance(c, bytes) else c.encode() for _, c in sweep.places["prefect database and logs"])
    assert b"batch-verify" in prefect and b"batch: " in prefect
