"""Scale-out: batch_verify's per-upload work on a dask.distributed LocalCluster (2 worker processes on loopback)
through prefect-dask's DaskTaskRunner, as on a real cluster given its scheduler address — over mutual TLS with
certificates from `docverify dask-certs` (flows/dask_tls.py); plain tcp:// is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import dask
import pytest
from dask.distributed import Client, LocalCluster

from flows.dask_tls import DaskTlsError, generate, security
from flows.flows import batch_flow_for
from flows.tasks import open_store
from flows.verify import check_file
from pipeline.evaluate import Intake
from pipeline.settings import Settings
from storage.store import UploadState

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
TEXT_PDFS = ("visit_note_crps.pdf", "avs_fibromyalgia_nocodes.pdf", "problem_list_migraine.pdf")


# Regression: the Dask scale-out option talked plain tcp:// (upload ids and task results in clear on the network).
def test_when_the_batch_runs_on_a_dask_cluster_then_it_talks_tls_and_every_upload_gets_checks_report(
        prefect_api, data_dir, tmp_path) -> None:
    indir = tmp_path / "in"
    indir.mkdir()
    for name in TEXT_PDFS:
        shutil.copy(SAMPLES / name, indir / name)
    tls = tmp_path / "tls"
    generate(tls)
    assert {p.name: p.stat().st_mode & 0o777 for p in tls.iterdir()}["ca-key.pem"] == 0o600
    # Workers must be allowed children: the bounded reader runs in a child process (flows/isolation.py).
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", protocol="tls://",
                         security=security(tls), dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        stranger = tmp_path / "stranger"
        generate(stranger)  # a valid certificate, but from another CA
        with pytest.raises(OSError):  # is not let in
            Client(cluster.scheduler_address, security=security(stranger), timeout=3)
        with pytest.raises(TypeError):  # and a client without TLS cannot even try
            Client(cluster.scheduler_address, timeout=3)
        counts = batch_flow_for(Settings(dask_address=cluster.scheduler_address, dask_tls_dir=tls))(inbox=str(indir))
        workers = len(cluster.scheduler_info["workers"])
    assert workers == 2
    assert sum(counts.values()) == len(TEXT_PDFS) and "failed" not in counts
    store = open_store(Settings())
    by_sha = {r.sha256: r for r in store.list_uploads()}
    for name in TEXT_PDFS:
        record = next(r for r in by_sha.values() if r.display_name == name)
        assert record.state is UploadState.DONE
        stored = store.latest_report(record.id)
        assert stored is not None
        assert stored.report().model_dump() == check_file(SAMPLES / name, Intake(), Settings()).model_dump()


@pytest.mark.parametrize(("address", "tls_dir", "missing"), [
    ("tcp://127.0.0.1:8786", "ok", "tls://"),
    ("tls://127.0.0.1:8786", None, "DOCVERIFY_DASK_TLS_DIR"),
    ("tls://127.0.0.1:8786", "empty", "ca.pem"),
], ids=["plain-tcp", "no-tls-dir", "no-files"])
def test_when_the_dask_address_is_not_tls_or_certificates_are_missing_then_the_batch_refuses_to_start(
        tmp_path, address: str, tls_dir: str | None, missing: str) -> None:
    folder = {"ok": tmp_path / "ok", "empty": tmp_path / "empty", None: None}[tls_dir]
    if folder is not None:
        folder.mkdir()
        if tls_dir == "ok":
            generate(folder)
    with pytest.raises(DaskTlsError) as info:
        batch_flow_for(Settings(dask_address=address, dask_tls_dir=folder))
    assert missing in str(info.value)
