"""Scale-out: batch_verify's per-upload work on a dask.distributed LocalCluster (2 worker processes on loopback)
through prefect-dask's DaskTaskRunner, as on a real cluster given its scheduler address."""

from __future__ import annotations

import shutil
from pathlib import Path

import dask
from dask.distributed import LocalCluster

from flows.flows import batch_flow_for
from flows.tasks import open_store
from flows.verify import check_file
from pipeline.evaluate import Intake
from pipeline.settings import Settings
from storage.store import UploadState

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
TEXT_PDFS = ("visit_note_crps.pdf", "avs_fibromyalgia_nocodes.pdf", "problem_list_migraine.pdf")


def test_when_the_batch_runs_on_a_dask_cluster_then_every_upload_gets_checks_report(prefect_api, data_dir,
                                                                                      tmp_path) -> None:
    indir = tmp_path / "in"
    indir.mkdir()
    for name in TEXT_PDFS:
        shutil.copy(SAMPLES / name, indir / name)
    # Workers must be allowed children: the bounded reader runs in a child process (flows/isolation.py).
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                         dashboard_address=None) as cluster:
        counts = batch_flow_for(Settings(dask_address=cluster.scheduler_address))(inbox=str(indir))
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
