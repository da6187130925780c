"""No single event can stop a topic, and a run always ends with its report.

- a poison event (one that makes the shared stages fail) among 10,000 normal ones is
  found, quarantined with its reason and the rest lands; the next run is NO_NEW_DATA;
- events nested 100, 1,000 and 10,000 levels deep, in a job process with a 1 GB driver
  (where 100 levels exhausted the heap in code generation and 1,000 killed the
  SparkContext), land with their deep part as JSON text;
- a SparkContext that dies mid-run still leaves a report naming the real exception.

The poison event is made by a test-only hook (``UNIFIED_JOB_POISON_MARKER``: parsing
fails, as a Spark task error, on payloads holding the marker), because every shape we
know of is now handled before it can fail; the search itself does not know that.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from spark_jobs.faults import ENV, POISON_MARKER_ENV
from spark_jobs.tables import TopicTables

from .jobkit import Row, append_raw, at, run_job, submit_command, table_rows, topic_config

pytestmark = pytest.mark.spark

NORMAL_ROWS = 10_000
MARKER = "POISON-7f3a"


def _order(i: int, prefix: str = "k") -> Row:
    doc = {"order_id": f"o{i}", "amount": i % 500, "status": "new", "customer": {"email": f"c{i}@example.com"}}
    return (f"m-{prefix}{i}", f"{prefix}{i}", at(i % 3600), at(i % 3600), json.dumps(doc))


def test_one_poison_event_among_10000_is_quarantined_and_the_rest_lands(
    spark, tmp_path: Path, hash_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = "poison_one"
    dirs = topic_config(tmp_path, topic)
    poison_payload = json.dumps({"order_id": "op", "amount": 1, "status": "new", "note": MARKER})
    rows = [_order(i) for i in range(NORMAL_ROWS)]
    rows.insert(NORMAL_ROWS // 3, ("m-poison", "k-poison", at(5), at(5), poison_payload))
    append_raw(spark, topic, rows)  # one snapshot
    monkeypatch.setenv(POISON_MARKER_ENV, MARKER)

    report = run_job(spark, topic, dirs)

    assert report.outcome == "FULL_SUCCESS", report.to_json()
    poison = report.to_dict()["raw"]["poison_events"]
    assert (poison["rows"], poison["message_ids"]) == (1, ["m-poison"])
    assert poison["reason"].startswith("parse_failed: ") and f"injected poison event ({MARKER})" in poison["reason"]
    assert report.reason and "m-poison" in report.reason
    t = TopicTables(topic)
    curated = {r["_idempotency_key"]: r for r in table_rows(spark, t.curated)}
    semantic = {r["_idempotency_key"]: r for r in table_rows(spark, t.semantic)}
    errors = {r["_idempotency_key"]: r for r in table_rows(spark, t.errors)}
    normal = {f"k{i}" for i in range(NORMAL_ROWS)}
    assert set(semantic) == normal and set(curated) == normal | {"k-poison"}
    assert set(errors) == {"k-poison"}
    assert [(e["rule"], e["reason"]) for e in errors["k-poison"]["_errors"]] == [
        ("payload:parse_failed", poison["reason"])
    ]
    assert curated["k-poison"]["_malformed_payload"] == poison_payload  # kept whole, for a replay
    assert curated["k17"]["order_id"] == "o17" and semantic["k17"]["amount"] == 17

    assert run_job(spark, topic, dirs).outcome == "NO_NEW_DATA"


def _deep(name: str, levels: int, bracket: str = "{") -> str:
    opening, closing = ('{"n":', "}") if bracket == "{" else ("[", "]")
    return (
        json.dumps({"order_id": name, "amount": 1, "status": "new"})[:-1]
        + f', "{name}": '
        + opening * levels
        + "1"
        + closing * levels
        + "}"
    )


def _submit(
    topic: str, warehouse: Path, dirs: tuple[str, str], tmp_path: Path, env_extra: dict[str, str]
) -> tuple[int, dict[str, Any] | None, str]:
    report_path = tmp_path / f"{topic}.json"
    command, env = submit_command(topic, warehouse, dirs, report_path)
    env.update(env_extra)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return done.returncode, report, done.stderr


def test_events_nested_10000_levels_deep_land_in_a_1gb_job_process(
    spark, warehouse: Path, tmp_path: Path, hash_key: str
) -> None:
    topic = "poison_deep"
    dirs = topic_config(tmp_path, topic)
    deep = [("deep100", 100, "{"), ("deep1000", 1_000, "{"), ("deepx", 10_000, "{"), ("deeparr", 10_000, "[")]
    rows = [_order(i) for i in range(300)]
    rows += [(f"m-{name}", f"k-{name}", at(1), at(1), _deep(name, levels, b)) for name, levels, b in deep]
    append_raw(spark, topic, rows)

    code, report, stderr = _submit(topic, warehouse, dirs, tmp_path, {"PII_HASH_KEY": hash_key})

    assert report is not None, stderr[-3000:]
    assert (code, report["outcome"]) == (0, "FULL_SUCCESS"), report["reason"]
    assert report["semantic"]["rows_valid"] == 304
    deep_values = report["drift"]["deep_values"]
    cut = ".".join(["n"] * 19)
    assert deep_values["rows"] == 4
    assert set(deep_values["paths"]) == {f"deep100.{cut}", f"deep1000.{cut}", f"deepx.{cut}", "deeparr" + "[]" * 19}
    spark.sql(f"REFRESH TABLE {TopicTables(topic).curated}")
    curated = {r["_idempotency_key"]: r for r in table_rows(spark, TopicTables(topic).curated)}
    column = "deepx__" + "__".join(["n"] * 19)
    assert curated["k-deepx"][column] == '{"n":' * 9_981 + "1" + "}" * 9_981  # the 20th object down, as sent
    assert curated["k-deeparr"]["deeparr"] == "[" * 19 + '"' + "[" * 9_981 + "1" + "]" * 9_981 + '"' + "]" * 19


def test_a_spark_context_stopped_mid_run_still_ends_with_its_report(
    spark, warehouse: Path, tmp_path: Path, hash_key: str
) -> None:
    topic = "poison_dead_context"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, [_order(i) for i in range(50)])

    code, report, stderr = _submit(
        topic, warehouse, dirs, tmp_path, {"PII_HASH_KEY": hash_key, ENV: "stop_spark_context"}
    )

    assert report is not None, stderr[-3000:]
    assert (code, report["outcome"], report["retryable"]) == (1, "FAILED_BEFORE_WRITE", True)
    # the real cause, not the clean-up's (unpersist on a dead context raised and hid it)
    assert "the drift stage failed before any write" in report["reason"], report["reason"]
    assert "the SparkContext stopped (the driver log says why" in report["reason"], report["reason"]
    assert report["maintenance"]["run_history"]["error"] == "not written: the SparkContext stopped"
