"""publish_outcome's drift and semantic-lag alerts, from reports the job's own report type writes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow_testkit import local_topic_yaml, topic_config
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from lakehouse_unified.outcomes import decide_outcome
from test_airflow_schema_and_outcome import alert_memory, config, publish  # noqa: F401 (fixtures)

from spark_jobs.config.job_args import JobArgs
from spark_jobs.drift.changes import DriftChange
from spark_jobs.drift.detect import DriftReport, NewField
from spark_jobs.interface import Checkpoints
from spark_jobs.report.run_report import RawRead, RunReport, StageResults
from spark_jobs.run.isolate_poison import PoisonEvents
from spark_jobs.run.lag import SemanticLag
from spark_jobs.run.outcome import LayerResult

T0 = datetime(2026, 12, 4, 9, 0)


def _change(path: str, change: str, **kw: Any) -> DriftChange:
    fields: dict[str, Any] = {
        "state": "new",
        "rows": 3,
        "json_type": "string",
        "expected_type": None,
        "sample": "x",
        "looks_like_pii": False,
        "first_seen_snapshot": 2,
    }
    return DriftChange(path=path, change=change, **{**fields, **kw})  # type: ignore[arg-type]


def job_report(
    changes: list[DriftChange] = (),  # type: ignore[assignment]
    lag: SemanticLag | None = None,
    semantic_checkpoint: int = 2,
    semantic_fails: bool = False,
    poison: PoisonEvents | None = None,
) -> dict[str, Any]:
    semantic = LayerResult("semantic", "failed") if semantic_fails else LayerResult("semantic", "written", 9)
    stages = StageResults(
        checkpoints=Checkpoints(1, 1),
        raw=RawRead(1, 2, rows_read=9),
        drift=DriftReport(rows=9, malformed_rows=0, new_fields=[NewField("coupon_code", 3, "x")]),
        drift_changes=list(changes),
        layers=[LayerResult("curated", "written", 9), semantic],
        checkpoints_after=Checkpoints(2, semantic_checkpoint),
        lag=lag,
        data_docs_url="file:///site/validations/orders/r.html",
        poison=poison,
    )
    args = JobArgs(topic="orders", run_id="r")
    return RunReport.build(args, "tiered", stages, {"total": 1.0}, T0, T0 + timedelta(seconds=5)).to_dict()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    alerts: list[tuple[str, str]] = []
    monkeypatch.setattr(TopicAlertNotifier, "send", lambda self, subject, message: alerts.append((subject, message)))
    return alerts


def test_a_drift_change_alerts_naming_the_field_and_a_change_without_alert_does_not(config, sent) -> None:  # noqa: F811
    changes = [
        _change("coupon_code", "first_seen"),
        _change("contact", "first_seen", looks_like_pii=True, first_seen_snapshot=2),
        _change("promo", "stopped", state="back_to_normal"),
    ]
    assert publish(config, job_report(changes))[0] == "FULL_SUCCESS"
    assert len(sent) == 1 and sent[0][0] == "topic orders: schema drift"
    message = sent[0][1]
    assert "coupon_code (new field, string; first seen in raw snapshot 2)" in message
    assert "contact (new field, string, looks like PII; first seen in raw snapshot 2)" in message
    assert "promo" not in message and "file:///site/validations/orders/r.html" in message

    sent.clear()  # the next run's report has no change: no alert
    publish(config, job_report([]))
    assert sent == []


def test_drift_alerts_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent) -> None:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    quiet = topic_config(local_topic_yaml(extra="alerts:\n  on_drift: false\n"), tmp_path)
    assert quiet.alerts.on_drift is False
    publish(quiet, job_report([_change("coupon_code", "first_seen")]))
    assert sent == []


def test_semantic_lag_alerts_once_per_episode_past_the_threshold(config, sent) -> None:  # noqa: F811
    assert config.alerts.semantic_lag_hours == 24
    stuck = SemanticLag(snapshots=3, rows=120, hours=30.5, semantic_advanced_at=T0)
    report = job_report(lag=stuck, semantic_checkpoint=7, semantic_fails=True)
    counts = decide_outcome(report).counts
    assert (counts["semantic_lag_snapshots"], counts["semantic_lag_rows"], counts["semantic_lag_hours"]) == (
        3,
        120,
        30.5,
    )
    assert publish(config, report)[0] == "CURATED_ONLY"
    subjects = [subject for subject, _ in sent]
    assert subjects == ["topic orders: semantic lag", "topic orders: CURATED_ONLY"]
    lag_message = sent[0][1]
    assert "3 raw snapshots (120 rows) behind curated" in lag_message and "30.5 h ago" in lag_message
    assert "threshold 24 h" in lag_message and "120 rows" in sent[1][1]  # the CURATED_ONLY alert says it too

    sent.clear()  # still stuck at the same checkpoint: the CURATED_ONLY alert only
    publish(config, report)
    assert [subject for subject, _ in sent] == ["topic orders: CURATED_ONLY"]

    sent.clear()  # semantic moved, then got stuck again: a new episode
    publish(config, job_report(lag=stuck, semantic_checkpoint=9, semantic_fails=True))
    assert "topic orders: semantic lag" in [subject for subject, _ in sent]

    sent.clear()  # behind, but not for long enough
    publish(config, job_report(lag=SemanticLag(1, 5, 2.0, T0), semantic_checkpoint=11, semantic_fails=True))
    assert [subject for subject, _ in sent] == ["topic orders: CURATED_ONLY"]


def test_quarantined_poison_events_alert_naming_their_message_ids(config, sent) -> None:  # noqa: F811
    poison = PoisonEvents((7,), "parse_failed: java.lang.StackOverflowError", ("m-deep-1",), probes=28, seconds=30.0)
    assert publish(config, job_report(poison=poison))[0] == "FULL_SUCCESS"
    assert [subject for subject, _ in sent] == ["topic orders: poison events quarantined"]
    assert "m-deep-1" in sent[0][1] and "StackOverflowError" in sent[0][1] and "payload:parse_failed" in sent[0][1]

    sent.clear()  # a run without poison events: no alert
    publish(config, job_report())
    assert sent == []
