"""The served deployments' names and the per-upload trigger: what the reconciler and the upload API call to start a
flow run, kept apart from flows/deploy.py (which builds the deployments from the flows, the reconciler among them) so
that nothing imports in a cycle."""

from __future__ import annotations

VERIFY_DEPLOYMENT = "verify-upload/verify-upload"
BATCH_DEPLOYMENT = "batch-verify/batch"
RECONCILE_DEPLOYMENT = "reconcile/reconcile"


def trigger_verify(upload_id: str) -> str:
    """Start the per-upload deployment for `upload_id` without waiting (what the upload API calls); the run id.
    Raises prefect.exceptions.ObjectNotFound when the deployment is not served."""
    from prefect.deployments import run_deployment

    run = run_deployment(VERIFY_DEPLOYMENT, parameters={"upload_id": upload_id}, timeout=0)
    return str(run.id)  # type: ignore[union-attr]
