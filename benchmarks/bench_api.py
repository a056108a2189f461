"""Benchmark of the upload API as a client sees it: accept latency and the time from upload to report.

Run from the repository root:  .venv/bin/python benchmarks/bench_api.py [--uploads 10]

Starts `docverify serve` as an operator would (a fresh data dir, its own local Prefect server, the API on a free
port), creates an uploader token, then POSTs `--uploads` distinct one-page scans (a JPEG photo of a note, read by
OCR; distinct bytes each), one at a time, and for each measures
- accept latency: from the request to the 202 (wall clock, ms; p50 and p95), and
- upload to report: from the request until GET /api/uploads/{id} says it is verified (polled every 0.25 s; seconds;
  median and max). Each served flow run starts a fresh process (imports, the NLP pipeline) before it reads.
One upload at a time, so that each figure is a latency, not a queue: the runner would otherwise start one process
per upload at once. Then serve is stopped with SIGTERM. The load average is printed before and after: on a 2-core
machine another busy process inflates every figure.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

SCAN_SAMPLE = ROOT / "samples" / "inputs" / "jpeg_scan_migraine.jpg"
STARTUP_S = 300.0
REPORT_TIMEOUT_S = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="docverify-bench-api-") as tmp:
        data_dir = Path(tmp) / "var"
        prefect_port, api_port = _free_port(), _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "DOCVERIFY_DATABASE_URL"}
        env.update(DOCVERIFY_DATA_DIR=str(data_dir), DOCVERIFY_PREFECT_PORT=str(prefect_port),
                   DOCVERIFY_BATCH_CRON="0 0 1 1 *", PREFECT_RUNNER_POLL_FREQUENCY="1", OMP_THREAD_LIMIT="1")
        token = subprocess.run([sys.executable, "-m", "flows.cli", "token", "create", "--role", "uploader"],
                               cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()[-1]
        log = (Path(tmp) / "serve.log").open("wb")
        serve = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--port", str(api_port)], cwd=ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{api_port}"
        auth = {"Authorization": f"Bearer {token}"}
        try:
            deadline = time.monotonic() + STARTUP_S
            with httpx.Client(timeout=30) as http:
                while True:
                    try:
                        if http.get(f"{base}/readyz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or serve.poll() is not None:
                        raise SystemExit("serve did not become ready")
                    time.sleep(1)
                # The per-upload deployment registers after the API answers; until then a trigger finds nothing.
                deployment = f"http://127.0.0.1:{prefect_port}/api/deployments/name/verify-upload/verify-upload"
                while http.get(deployment).status_code != 200:
                    if time.monotonic() > deadline:
                        raise SystemExit("the per-upload deployment was not registered")
                    time.sleep(1)
                scan = SCAN_SAMPLE.read_bytes()
                accepts: list[float] = []
                to_report: list[float] = []
                for i in range(args.uploads):
                    started = time.perf_counter()
                    r = http.post(f"{base}/api/uploads", headers=auth, data={"patient_name": "Bench Mark",
                                                                            "payer": "unknown"},
                                  files={"file": ("scan.jpg", scan + f"bench {i}".encode(), "image/jpeg")})
                    accepts.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 202, r.text
                    upload_id = r.json()["upload_id"]
                    while http.get(f"{base}/api/uploads/{upload_id}", headers=auth).json()["state"] not in (
                            "done", "failed"):
                        if time.perf_counter() - started > REPORT_TIMEOUT_S:
                            raise SystemExit("no report in time")
                        time.sleep(0.25)
                    to_report.append(time.perf_counter() - started)
                    print(f"upload {i + 1}: accepted in {accepts[-1]:.0f} ms, report after {to_report[-1]:.1f} s",
                          flush=True)
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(120)
            log.close()
    print(f"accept latency over {len(accepts)} one-page scans: p50 {_percentile(accepts, 0.5):.1f} ms, "
          f"p95 {_percentile(accepts, 0.95):.1f} ms, max {max(accepts):.1f} ms")
    print(f"upload to report over {len(to_report)} one-page scans: median {statistics.median(to_report):.1f} s, "
          f"max {max(to_report):.1f} s")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
