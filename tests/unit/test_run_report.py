"""The run report: built once from the stages' typed results, one JSON shape, read by Airflow."""

from __future__ import annotations

from datetime import datetime, timedelta

from lakehouse_unified.outcomes import decide_outcome as airflow_decision
from lakehouse_unified.outcomes import parse_report, report_counts

from spark_jobs.config.job_args import JobArgs
from spark_jobs.exceptions import ContractError, LayerWriteError, RawTableError, StageError
from spark_jobs.interface import Checkpoints
from spark_jobs.report.run_report import MaintenanceStep, RawRead, ReplayCounts, RunReport, StageResults
from spark_jobs.run.context import DedupCounts
from spark_jobs.run.isolate_poison import PoisonEvents
from spark_jobs.run.outcome import LayerResult

BEFORE = Checkpoints(curated=10, semantic=10)
STARTED = datetime(2026, 12, 4, 9, 0)
JSON_SECTIONS = [
    "topic",
    "run_id",
    "airflow_run_id",
    "checkpoint_mode",
    "outcome",
    "reason",
    "retryable",
    "started_at",
    "finished_at",
    "raw",
    "dedup",
    "drift",
    "curated",
    "semantic",
    "replay",
    "semantic_lag",
    "data_docs",
    "tables",
    "maintenance",
    "durations_s",
]


def _report(stages: StageResults, mode: str = "tiered") -> RunReport:
    args = JobArgs(topic="orders", run_id="run-1", airflow_run_id="manual__2026-12-04")
    return RunReport.build(args, mode, stages, {"total": 1.5}, STARTED, STARTED + timedelta(seconds=2))


def test_a_failure_before_any_write_keeps_the_plan_and_names_its_reason() -> None:
    stages = StageResults(checkpoints=BEFORE, raw=RawRead(10, 12, backlog_rows=7))
    stages.failure = StageError("orders", "read", RuntimeError("executor lost"))
    report = _report(stages)
    assert (report.outcome, report.retryable) == ("FAILED_BEFORE_WRITE", True)
    assert "read" in (report.reason or "") and "executor lost" in (report.reason or "")
    assert report.raw == RawRead(10, 12, 0, 7)
    for layer in (report.curated, report.semantic):  # not run; the checkpoints did not move
        assert (layer.status, layer.checkpoint_before, layer.checkpoint_after) == ("not_run", 10, 10)


def test_a_configuration_error_before_planning_is_not_retried() -> None:
    stages = StageResults(failure=RawTableError("topic 'orders': raw table raw_db.orders does not exist"))
    report = _report(stages)
    assert (report.outcome, report.retryable) == ("FAILED_BEFORE_WRITE", True)  # the table may yet appear
    stages = StageResults(failure=ContractError("contracts/orders.yaml", "no fields"))
    assert _report(stages).retryable is False
    assert _report(stages).to_dict()["raw"] == {
        "from_snapshot_exclusive": None,
        "to_snapshot_inclusive": None,
        "rows_read": 0,
        "backlog_rows": 0,
        "forgotten_rows": 0,
        "poison_events": {},
    }


def test_poison_events_are_named_in_the_reason_the_counts_and_airflow_s_message() -> None:
    poison = PoisonEvents((123,), "parse_failed: java.lang.StackOverflowError", ("m-17",), probes=28, seconds=9.5)
    stages = StageResults(
        checkpoints=BEFORE,
        raw=RawRead(10, 12, rows_read=10_001),
        dedup=DedupCounts(rows_out=10_001),
        poison=poison,
        layers=[LayerResult("curated", "written", 10_001), LayerResult("semantic", "written", 10_001)],
        checkpoints_after=Checkpoints(curated=12, semantic=12),
    )
    report = _report(stages)
    assert report.outcome == "FULL_SUCCESS" and report.retryable
    assert report.reason == (
        "1 events could not be processed and were quarantined (message ids m-17): "
        "parse_failed: java.lang.StackOverflowError"
    )
    parsed = parse_report(report.to_json(), "report.json")
    assert parsed["raw"]["poison_events"] == {
        "rows": 1,
        "reason": "parse_failed: java.lang.StackOverflowError",
        "message_ids": ["m-17"],
        "probes": 28,
        "seconds": 9.5,
    }
    counts = report_counts(parsed)
    assert (counts["poison_events"], counts["poison_message_ids"]) == (1, ["m-17"])
    message = airflow_decision(parsed).message
    assert "1 events of topic orders could not be processed" in message and "m-17" in message
    assert "StackOverflowError" in message


def test_the_layers_decide_the_outcome_and_the_checkpoints_after_are_what_the_tables_hold() -> None:
    failure = LayerWriteError("orders", "semantic", "semantic_db.orders", RuntimeError("disk full"))
    stages = StageResults(
        checkpoints=BEFORE,
        raw=RawRead(10, 12, rows_read=100),
        dedup=DedupCounts(network_duplicates=3, rows_out=97),
        layers=[LayerResult("curated", "written", 97), LayerResult("semantic", "failed", error=failure)],
        checkpoints_after=Checkpoints(curated=12, semantic=10),
    )
    report = _report(stages)
    assert (report.outcome, report.retryable) == ("CURATED_ONLY", True)
    assert report.reason == str(failure) == report.semantic.error
    assert (report.curated.status, report.curated.rows, report.curated.checkpoint_after) == ("written", 97, 12)
    assert (report.semantic.status, report.semantic.checkpoint_after) == ("failed", 10)
    # unified: semantic runs first; its failure stops the run
    stages = StageResults(checkpoints=BEFORE, layer_order=("semantic", "curated"))
    stages.layers = [LayerResult("semantic", "failed", error=ContractError("suites/orders.json", "bad rule"))]
    report = _report(stages, "unified")
    assert (report.outcome, report.retryable, report.curated.status) == ("SEMANTIC_FAILED", False, "not_run")


def test_a_stage_may_decide_the_outcome_itself() -> None:
    stages = StageResults(checkpoints=BEFORE, raw=RawRead(12, 12), ended=("NO_NEW_DATA", None))
    report = _report(stages)
    assert (report.outcome, report.reason, report.dedup, report.drift) == ("NO_NEW_DATA", None, None, None)
    failure = ContractError("contracts/orders.yaml", "field order_id: unknown type 'uuid'")
    stages = StageResults(
        checkpoints=BEFORE,
        layers=[LayerResult("curated", "skipped"), LayerResult("semantic", "failed", error=failure)],
        replay=ReplayCounts(quarantined=4, replayed=3, not_in_raw=1),
        ended=("SEMANTIC_FAILED", f"quarantine replay: {failure}"),
    )
    report = _report(stages)
    assert (report.outcome, report.retryable) == ("SEMANTIC_FAILED", False)
    assert report.replay.replayed == 3


def test_one_json_shape_that_airflow_reads() -> None:
    stages = StageResults(
        checkpoints=BEFORE,
        raw=RawRead(10, 12, rows_read=100, backlog_rows=5),
        dedup=DedupCounts(network_duplicates=3, superseded_versions=2, rows_out=95),
        layers=[
            LayerResult("curated", "written", 95, details={"new_columns": ["coupon"]}),
            LayerResult("semantic", "written", 95, details={"rows_valid": 90, "rows_errors": 5}),
        ],
        checkpoints_after=Checkpoints(curated=12, semantic=12),
        maintenance={
            "compaction": MaintenanceStep(2.0, result={"curated_db.orders": {"rewritten_data_files": 4}}),
            "raw_expiry": MaintenanceStep(0.5, error="RuntimeError: lock"),
        },
    )
    text = _report(stages).to_json()
    doc = parse_report(text, "s3://bucket/runs/orders/run-1.json")
    assert list(doc) == JSON_SECTIONS
    assert doc["curated"]["new_columns"] == ["coupon"] and doc["semantic"]["rows_valid"] == 90
    assert doc["maintenance"] == {
        "compaction": {"result": {"curated_db.orders": {"rewritten_data_files": 4}}, "seconds": 2.0},
        "raw_expiry": {"error": "RuntimeError: lock", "seconds": 0.5},
    }
    counts = report_counts(doc)
    expected = {"rows_read": 100, "backlog_rows": 5, "rows_out": 95, "network_duplicates": 3}
    assert {key: counts[key] for key in expected} == expected
    assert (counts["semantic_rows_valid"], counts["semantic_rows_errors"]) == (90, 5)
    assert (counts["to_snapshot_inclusive"], counts["curated_checkpoint_after"]) == ("12", "12")
    assert counts["maintenance_errors"] == {"raw_expiry": "RuntimeError: lock"}
    assert airflow_decision(doc).action == "succeed"
