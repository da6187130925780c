"""Fail the job at chosen points, in both checkpoint modes, then re-run.

After the re-runs every layer must hold exactly what a run that never failed holds,
with the checkpoints on the last raw snapshot, and the outcome of the failed run must
be the one the seed's failure matrix gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_jobs.faults import ENV

from .jobkit import append_raw, checkpoints, clean_layers, layer_rows, run_job, topic_config
from .test_unified_job import BATCHES, assert_invariants

pytestmark = [pytest.mark.spark, pytest.mark.slow]
HASH_KEY = "fault-injection-key-0123456789"

# (mode, point) -> (outcome of the failed run, curated moved?, semantic moved?)
MATRIX = {
    ("tiered", "before_curated_commit"): ("CURATED_FAILED", False, False),
    ("tiered", "after_curated_commit"): ("CURATED_FAILED", True, False),
    ("tiered", "during_validation"): ("CURATED_ONLY", True, False),
    ("tiered", "before_semantic_write"): ("CURATED_ONLY", True, False),
    ("tiered", "between_errors_and_semantic_merge"): ("CURATED_ONLY", True, False),
    # an exception once both layers committed: their outcome stands, the report says what failed
    ("tiered", "after_commits_before_report"): ("FULL_SUCCESS", True, True),
    ("unified", "during_validation"): ("SEMANTIC_FAILED", False, False),
    ("unified", "before_semantic_write"): ("SEMANTIC_FAILED", False, False),
    ("unified", "between_errors_and_semantic_merge"): ("SEMANTIC_FAILED", False, False),
    # unified: one checkpoint, in curated's commit (the run's last): semantic's data
    # written before it is redone by the retry, never skipped
    ("unified", "before_curated_commit"): ("CURATED_FAILED", False, False),
    ("unified", "after_curated_commit"): ("CURATED_FAILED", True, True),
    ("unified", "after_commits_before_report"): ("FULL_SUCCESS", True, True),
}


@pytest.fixture(scope="module")
def clean_result(spark, tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
    """What runs that never fail leave behind, per mode."""
    with pytest.MonkeyPatch.context() as env:  # restored after the runs: no leak into other modules
        env.setenv("PII_HASH_KEY", HASH_KEY)
        root = tmp_path_factory.mktemp("clean")
        return {mode: clean_layers(spark, root, BATCHES[:2], mode) for mode in ("tiered", "unified")}


@pytest.mark.parametrize(("mode", "point"), sorted(MATRIX))
def test_fail_then_rerun_equals_a_clean_run(
    spark, tmp_path: Path, monkeypatch, clean_result, mode: str, point: str
) -> None:
    monkeypatch.setenv("PII_HASH_KEY", HASH_KEY)
    topic = f"f_{mode[0]}_{point}"[:60]
    dirs = topic_config(tmp_path, topic)
    first = append_raw(spark, topic, BATCHES[0])
    assert run_job(spark, topic, dirs, checkpoint_mode=mode).outcome == "FULL_SUCCESS"
    second = append_raw(spark, topic, BATCHES[1])

    expected_outcome, curated_moved, semantic_moved = MATRIX[(mode, point)]
    # the raw snapshots this test appended, as the matrix says each layer must now hold them
    expected_checkpoints = (second if curated_moved else first, second if semantic_moved else first)
    monkeypatch.setenv(ENV, point)
    report = run_job(spark, topic, dirs, checkpoint_mode=mode)
    assert report.outcome == expected_outcome, report.to_json()
    assert (report.curated.checkpoint_before, report.semantic.checkpoint_before) == (first, first)
    assert (report.curated.checkpoint_after, report.semantic.checkpoint_after) == expected_checkpoints
    if point == "after_commits_before_report":
        assert report.reason == (
            "the layers' outcome stands, but the run failed after them: "
            "InjectedFault: injected fault at after_commits_before_report"
        )
    assert checkpoints(spark, topic) == expected_checkpoints
    monkeypatch.delenv(ENV)

    for attempt in range(2):  # re-run once, then once more: nothing may change
        report = run_job(spark, topic, dirs, checkpoint_mode=mode, run_id=f"retry{attempt}")
        done = curated_moved and semantic_moved
        expected = "NO_NEW_DATA" if (done or attempt) else "FULL_SUCCESS"
        assert report.outcome == expected, report.to_json()
        assert layer_rows(spark, topic) == clean_result[mode]
        assert_invariants(spark, topic, BATCHES[0] + BATCHES[1], second)


@pytest.mark.parametrize("point", ["loading_config", "planning"])
def test_a_failure_before_the_read_ends_in_a_report_and_a_run_row(
    spark, tmp_path: Path, monkeypatch, point: str
) -> None:
    # Issue 28 item 7: loading the config and planning (catalog reads) fail like any step:
    # FAILED_BEFORE_WRITE, retryable, in the report and the run history; run() does not raise.
    monkeypatch.setenv("PII_HASH_KEY", HASH_KEY)
    topic = f"f_before_{point}"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, BATCHES[0])
    monkeypatch.setenv(ENV, point)
    report = run_job(spark, topic, dirs, run_id=f"{point}_failed")
    assert (report.outcome, report.retryable) == ("FAILED_BEFORE_WRITE", True), report.to_json()
    assert f"injected fault at {point}" in (report.reason or "")
    assert checkpoints(spark, topic) == (None, None)
    rows = spark.sql(f"SELECT outcome FROM ops_db.unified_job_runs WHERE run_id = '{point}_failed'").collect()
    assert [r["outcome"] for r in rows] == ["FAILED_BEFORE_WRITE"]
    monkeypatch.delenv(ENV)
    assert run_job(spark, topic, dirs).outcome == "FULL_SUCCESS"
