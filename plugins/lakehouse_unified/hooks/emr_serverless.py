"""EMR Serverless hook with what the unified job's operator adds: find a still-running run by name."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook

ACTIVE_JOB_STATES = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED")
"""Non-terminal states a retry can re-attach to (CANCELLING ends as CANCELLED: start anew)."""


class UnifiedJobEmrServerlessHook(EmrServerlessHook):
    """``EmrServerlessHook`` + job-run lookup by name (the name is derived from dag_id + run_id)."""

    def find_active_job_run(self, application_id: str, name: str) -> str | None:
        """Id of the newest job run called ``name`` that has not finished yet, or None."""
        matches: list[dict[str, Any]] = []
        paginator = self.conn.get_paginator("list_job_runs")
        try:
            for page in paginator.paginate(applicationId=application_id, states=list(ACTIVE_JOB_STATES)):
                matches.extend(run for run in page.get("jobRuns", []) if run.get("name") == name)
        except self.conn.exceptions.ResourceNotFoundException:
            # No such application (or, on moto, one without job runs yet): nothing to re-attach
            # to; starting the job then fails with the service's own message if it is missing.
            return None
        if not matches:
            return None
        if len(matches) > 1:
            self.log.warning(
                "%d active job runs named %r on application %s (%s): re-attaching to the newest",
                len(matches),
                name,
                application_id,
                ", ".join(str(run["id"]) for run in matches),
            )
        newest = max(matches, key=lambda run: run["createdAt"])
        return str(newest["id"])

    def job_run_state(self, application_id: str, job_run_id: str) -> tuple[str, str]:
        """(state, stateDetails) of one job run."""
        job_run = self.conn.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]
        return str(job_run["state"]), str(job_run.get("stateDetails") or "")
