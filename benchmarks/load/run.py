"""Load on loopback: the upload API under steady uploaders and a burst of clients, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/load/run.py --out out/load/results.json           # the full profile (make load)
    .venv/bin/python benchmarks/load/run.py --stores sqlite --duration 10 ...      # a bounded one (tests/test_load.py)

For each store (a fresh SQLite file under the work dir, or a fresh schema of the PostgreSQL at --pg-url):
1. migrate it and create API tokens (one per steady uploader, `--burst-tokens` shared by the burst's clients);
2. start the API alone as an operator would (`uvicorn --factory flows.api:app_from_environment` on a free loopback
   port, default settings: the per-token limits and the upload slots of docs/API.md) with Prefect unreachable, so
   every accepted upload stays pending for a worker — and start that worker (benchmarks/load/drain.py, `nice`d: the
   batch's per-upload steps without Prefect), which verifies uploads while the load runs;
3. steady phase: locust headless, `--users` uploaders (benchmarks/load/locustfile.py `Uploader`) for `--duration`
   seconds, one upload about every `--pace` seconds each;
4. burst phase: `--burst` clients (`BurstClient`) post `--burst-requests` uploads each, all at once, on shared tokens;
5. drain: the worker is told to finish and ends at the first empty queue; then the API is stopped.

Checks (each store): no 5xx other than a 503 with Retry-After and no answer missing, in both phases; no 429 without
Retry-After; no "database is locked" (and no traceback) in the server's log; accept latency p95 <= --p95-ms over the
steady phase's accepted uploads; the burst answered only 2xx, 429 or 503 with Retry-After; every accepted upload
DONE in the store afterwards, nothing PENDING or PROCESSING, the database's integrity check and the audit chain
intact. Results as JSON (--out); exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = os.environ.get("DOCVERIFY_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
STARTUP_S = 120.0
LOCKED = "database is locked"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank `q` percentile (0..1) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def allowed(record: dict[str, Any]) -> bool:
    """An answer the API may give under load: 2xx, or 429 / 503 with Retry-After."""
    status = record["status"]
    return 200 <= status < 300 or (status in (429, 503) and bool(record["retry_after"]))


def summarise_phase(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by answer and the accept latency of one phase's records."""
    statuses = Counter(str(r["status"]) for r in records)
    accepted_ms = [r["ms"] for r in records if r["status"] in (200, 202)]
    return {
        "requests": len(records),
        "accepted": sum(1 for r in records if r["status"] == 202),
        "duplicates": sum(1 for r in records if r["status"] == 200),
        "rate_limited_429": sum(1 for r in records if r["status"] == 429),
        "busy_503": sum(1 for r in records if r["status"] == 503),
        "busy_503_codes": dict(Counter(str(r["code"]) for r in records if r["status"] == 503)),
        "server_errors": sum(1 for r in records if r["status"] >= 500 and not (r["status"] == 503
                                                                                and r["retry_after"])),
        "no_answer": sum(1 for r in records if r["status"] == 0),
        "without_retry_after": sum(1 for r in records if r["status"] in (429, 503) and not r["retry_after"]),
        "not_allowed": sum(1 for r in records if not allowed(r)),
        "by_status": dict(sorted(statuses.items())),
        "accept_ms": {"p50": percentile(accepted_ms, 0.50), "p95": percentile(accepted_ms, 0.95),
                      "max": max(accepted_ms) if accepted_ms else None},
    }


def _env(base: dict[str, str], data_dir: Path, database_url: str | None, prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("DOCVERIFY_", "PREFECT_"))}
    env.update(DOCVERIFY_DATA_DIR=str(data_dir), OMP_THREAD_LIMIT="1", PYTHONPATH=str(ROOT),
               # Prefect unreachable (a closed port): every upload stays pending for the worker (docs/API.md).
               PREFECT_API_URL=f"http://127.0.0.1:{_free_port()}/api", PREFECT_HOME=str(prefect_home))
    if database_url:
        env["DOCVERIFY_DATABASE_URL"] = database_url
    return env


def _locust(env: dict[str, str], user_class: str, *, users: int, run_time_s: float, host: str, tokens: Path,
            results: Path, extra: list[str]) -> list[dict[str, Any]]:
    """Run locust headless with one user class; its records."""
    command = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), user_class, "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{int(run_time_s)}s", "--stop-timeout", "60",
               "--host", host, "--tokens-file", str(tokens), "--results-file", str(results), "--only-summary",
               "--loglevel", "WARNING", "--exit-code-on-error", "0", *extra]
    log = results.with_suffix(".log")
    with log.open("wb") as out:
        subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=True,
                       timeout=run_time_s + 180)
    records: list[dict[str, Any]] = json.loads(results.read_text())["records"]
    return records


def _wait_healthy(host: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            if httpx.get(f"{host}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the API did not start (exit {server.poll()})")
        time.sleep(0.5)


def _pg_schema(pg_url: str) -> tuple[str, str]:
    """A fresh schema of the PostgreSQL at pg_url: (its name, the URL whose connections work in it)."""
    from sqlalchemy import create_engine, text

    schema = f"docverify_load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{pg_url}?options=-csearch_path%3D{schema}"


def _drop_pg_schema(pg_url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run_store(kind: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The whole profile on one store; its figures and checks."""
    from pipeline.settings import Settings
    from storage.access import Access, AccessRole
    from storage.store import Store, StoreSettings, UploadState

    work.mkdir(parents=True, exist_ok=True)
    schema = None
    database_url = None
    if kind == "postgresql":
        schema, database_url = _pg_schema(args.pg_url)
    try:
        settings = Settings(_env_file=None, data_dir=work / "var", database_url=database_url)  # type: ignore[call-arg]
        store = Store(StoreSettings.of(settings))
        store.migrate()
        access = Access(store)
        tokens = {"steady": [access.create_token(AccessRole.UPLOADER)[1] for _ in range(args.users)],
                  "burst": [access.create_token(AccessRole.UPLOADER)[1] for _ in range(args.burst_tokens)]}
        tokens_file = work / "tokens.json"
        tokens_file.touch(mode=0o600)
        tokens_file.write_text(json.dumps(tokens))
        env = _env(dict(os.environ), work / "var", database_url, work / "prefect")
        port = _free_port()
        host = f"http://127.0.0.1:{port}"
        server_log = work / "server.log"
        finish = work / "drain.finish"
        with server_log.open("wb") as log_out, (work / "drain.log").open("wb") as drain_out:
            server = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "flows.api:app_from_environment", "--host",
                 "127.0.0.1", "--port", str(port), "--log-level", "info"],
                cwd=ROOT, env=env, stdout=log_out, stderr=subprocess.STDOUT, start_new_session=True)
            drainer = None
            try:
                _wait_healthy(host, server)
                drainer = subprocess.Popen(
                    ["nice", "-n", "10", sys.executable, str(HERE / "drain.py"), "--finish-file", str(finish),
                     "--out", str(work / "drain.json")],
                    cwd=ROOT, env=env, stdout=drain_out, stderr=subprocess.STDOUT, start_new_session=True)
                started = time.monotonic()
                steady = _locust(env, "Uploader", users=args.users, run_time_s=args.duration, host=host,
                                 tokens=tokens_file, results=work / "steady.json",
                                 extra=["--pace", str(args.pace)])
                burst = _locust(env, "BurstClient", users=args.burst, run_time_s=args.burst_time, host=host,
                                tokens=tokens_file, results=work / "burst.json",
                                extra=["--burst-requests", str(args.burst_requests)])
                load_s = time.monotonic() - started
                finish.touch()
                drain_started = time.monotonic()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    drainer.wait(args.drain_timeout)
                drain_s = time.monotonic() - drain_started
                drained_in_time = drainer.poll() == 0
            finally:
                for process in (drainer, server):
                    if process is not None and process.poll() is None:
                        os.killpg(process.pid, signal.SIGTERM)
                        try:
                            process.wait(30)
                        except subprocess.TimeoutExpired:
                            os.killpg(process.pid, signal.SIGKILL)
                            process.wait(10)
        log_text = server_log.read_text(encoding="utf-8", errors="replace")
        accepted_ids = {r["upload_id"] for r in steady + burst if r["status"] in (200, 202) and r["upload_id"]}
        states = Counter()
        for upload_id in accepted_ids:
            record = store.get(upload_id)
            states[record.state.value if record is not None else "missing"] += 1
        left = {state.value: len(store.list_uploads(state, limit=100_000))
                for state in (UploadState.PENDING, UploadState.PROCESSING, UploadState.FAILED)}
        integrity_ok = store.integrity_check()
        audit_ok = store.verify_audit_chain()
        store.close()
        drain = json.loads((work / "drain.json").read_text()) if (work / "drain.json").exists() else {}
        s_steady, s_burst = summarise_phase(steady), summarise_phase(burst)
        p95 = s_steady["accept_ms"]["p95"]
        result: dict[str, Any] = {
            "store": kind,
            "steady": s_steady,
            "burst": s_burst,
            "server_log": {"database_is_locked": log_text.lower().count(LOCKED),
                           "tracebacks": log_text.count("Traceback"),
                           "store_busy": log_text.count("store_busy")},
            "drain": {"verified_by_worker": drain.get("verified"), "outcomes": drain.get("outcomes"),
                      "after_load_s": round(drain_s, 1), "finished": drained_in_time,
                      "concurrency": drain.get("concurrency")},
            "store_after": {"accepted_uploads": len(accepted_ids), "states_of_accepted": dict(states),
                            "left": left, "integrity_ok": integrity_ok, "audit_chain_ok": audit_ok},
            "load_s": round(load_s, 1),
        }
        result["checks"] = {
            "no_server_errors": s_steady["server_errors"] + s_burst["server_errors"] == 0
                                and s_steady["no_answer"] + s_burst["no_answer"] == 0,
            "retry_after_on_every_429_503": s_steady["without_retry_after"] + s_burst["without_retry_after"] == 0,
            "no_database_is_locked": result["server_log"]["database_is_locked"] == 0,
            "no_traceback": result["server_log"]["tracebacks"] == 0,
            "accept_p95_ok": p95 is not None and p95 <= args.p95_ms,
            "burst_only_2xx_429_503": s_burst["not_allowed"] == 0,
            "drained": drained_in_time and states.get("done", 0) == len(accepted_ids) > 0
                       and left["pending"] == 0 and left["processing"] == 0,
            "store_intact": integrity_ok and audit_ok,
        }
        result["passed"] = all(result["checks"].values())
        return result
    finally:
        if schema is not None:
            _drop_pg_schema(args.pg_url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgresql", help="Comma-separated: sqlite, postgresql.")
    parser.add_argument("--users", type=int, default=20, help="Steady uploaders (one token each).")
    parser.add_argument("--duration", type=float, default=300.0, help="Steady phase, seconds.")
    parser.add_argument("--pace", type=float, default=10.0, help="Mean seconds between one uploader's uploads.")
    parser.add_argument("--burst", type=int, default=100, help="Clients of the burst.")
    parser.add_argument("--burst-tokens", type=int, default=5, help="Tokens the burst's clients share.")
    parser.add_argument("--burst-requests", type=int, default=3, help="Uploads per burst client, back to back.")
    parser.add_argument("--burst-time", type=float, default=120.0, help="At most this long for the burst, s.")
    parser.add_argument("--drain-timeout", type=float, default=1800.0, help="At most this long to drain, s.")
    parser.add_argument("--p95-ms", type=float, default=1000.0, help="Accept latency p95 bound, ms.")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL to make a fresh schema in.")
    parser.add_argument("--work-dir", type=Path, help="Keep the stores and logs here (default: a temp dir, removed).")
    parser.add_argument("--out", type=Path, required=True, help="Results (JSON).")
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="docverify-load-"))
    load_before = os.getloadavg()
    results: dict[str, Any] = {"profile": {k: v for k, v in vars(args).items()
                                           if k in {"users", "duration", "pace", "burst", "burst_tokens",
                                                    "burst_requests", "p95_ms"}},
                               "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
                               "stores": {}}
    try:
        for kind in [k.strip() for k in args.stores.split(",") if k.strip()]:
            print(f"{kind}: {args.users} uploaders for {args.duration:.0f} s, then a burst of {args.burst}",
                  flush=True)
            result = run_store(kind, args, work / kind)
            results["stores"][kind] = result
            print(json.dumps({kind: {"checks": result["checks"], "steady": result["steady"]["accept_ms"],
                                     "accepted": result["store_after"]["accepted_uploads"]}}), flush=True)
    finally:
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        results["passed"] = bool(results["stores"]) and all(r["passed"] for r in results["stores"].values())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"results: {args.out} (passed: {results['passed']})")
    raise SystemExit(0 if results["passed"] else 1)


if __name__ == "__main__":
    main()
