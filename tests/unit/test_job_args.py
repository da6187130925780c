"""The job's arguments: one definition, written by ``to_argv`` (Airflow) and read by ``parse_args`` (the job)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from spark_jobs.config.job_args import FULL_HISTORY, JobArgs, parse_args
from spark_jobs.exceptions import JobArgumentError

# A value other than the default for every field: a field added without one fails here.
SAMPLES: dict[str, object] = {
    "topic": "orders",
    "contracts_dir": "s3://b/contracts",
    "expectations_dir": "/x/expectations",
    "warehouse": "s3://b/warehouse",
    "catalog_type": "glue",
    "run_id": "scheduled__2026-12-04",
    "airflow_run_id": "scheduled__2026-12-04T00:00:00+00:00",
    "run_report": "s3://b/reports/orders/r.json",
    "data_docs_site": "s3://b/reports/data_docs",
    "checkpoint_mode": "unified",
    "from_snapshot_exclusive": 4187719425117380316,
    "reprocess_all": True,
    "to_snapshot_inclusive": 9223372036854775807,
    "max_rows_per_run": 500_000,
    "layers": "semantic",
    "no_checkpoint": True,
    "dry_run": True,
    "replay_quarantine": True,
    "compact_delete_file_threshold": 4,
    "expire_outputs_after_hours": 168,
    "expire_raw_after_hours": 720,
}


def test_every_field_has_a_sample() -> None:
    assert set(SAMPLES) == {f.name for f in dataclasses.fields(JobArgs)}


@pytest.mark.parametrize("name", sorted(set(SAMPLES) - {"topic"}))
def test_each_option_survives_the_round_trip(name: str) -> None:
    args = JobArgs(**{"topic": "orders", "run_id": "r", name: SAMPLES[name]})  # type: ignore[arg-type]
    assert parse_args(args.to_argv()) == args


def test_all_options_at_once_survive_the_round_trip() -> None:
    args = JobArgs(**{**SAMPLES, "replay_quarantine": False, "reprocess_all": False})  # type: ignore[arg-type]
    assert parse_args(args.to_argv()) == args


def test_a_whole_history_reprocess_is_written_as_none() -> None:
    args = JobArgs(topic="orders", run_id="r", reprocess_all=True)
    argv = args.to_argv()
    assert argv[argv.index("--from-snapshot-exclusive") + 1] == FULL_HISTORY
    assert parse_args(argv) == args


def test_rules_are_checked_when_parsed() -> None:
    with pytest.raises(JobArgumentError, match="no-checkpoint"):
        parse_args(JobArgs(topic="orders", run_id="r", from_snapshot_exclusive=7, layers="curated").to_argv())
    with pytest.raises(JobArgumentError, match="no snapshot range"):
        parse_args(JobArgs(topic="orders", run_id="r", replay_quarantine=True, to_snapshot_inclusive=7).to_argv())


def test_airflow_can_import_it_without_spark() -> None:
    probe = (
        "import json, sys; import spark_jobs.config.job_args; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout))
    assert "pyspark" not in loaded and "great_expectations" not in loaded
