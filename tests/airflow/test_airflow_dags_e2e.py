"""End to end: ``airflow dags test unified__orders`` with ``runtime: local`` and the real job.

Slow (an Airflow metadata DB, a Spark session to write raw data, the job itself):
``pytest -m airflow_e2e tests/airflow``. Everything lives in a temporary folder: its own
AIRFLOW_HOME and sqlite DB, a copy of dags/ whose orders.yaml points at a temporary
warehouse, contract and suite; the job's code is the repository's spark_jobs/. The
folder is the session's ``e2e_stack`` (``airflow_e2e_stack.py``), shared with the forget
DAG's end-to-end test, which works on another topic.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import pytest
from airflow_e2e_stack import SUITE, Stack

pytestmark = pytest.mark.airflow_e2e


@pytest.fixture(scope="module")
def stack(e2e_stack: Stack) -> Stack:
    return e2e_stack


def test_without_a_contract_curated_still_flows_and_the_alert_comes_once(stack: Stack) -> None:
    """No contract: the job runs curated only (semantic untouched), CURATED_ONLY in XCom;
    no_schema alerts on the first run and not on the next one with the same problem."""
    dags = stack.dags("dags_no_schema", contracts_dir=stack.root / "no_contracts")
    date = "2025-03-01T00:00:00+00:00"
    output = stack.dags_test(dags, date)
    states = stack.task_states(date)
    assert states.get("no_schema") == "success", output[-4000:]
    assert states.get("run_unified_job") == "success", output[-6000:]
    assert states.get("publish_outcome") == "success"
    assert "no usable schema" in output and "ALERT [lakehouse] topic orders: no schema registered" in output
    assert "layers=curated" in output
    assert stack.xcom(date, "publish_outcome", "outcome") == "CURATED_ONLY"
    curated = stack.table_rows("curated_db", "orders")
    assert sorted(r["_idempotency_key"] for r in curated) == sorted(f"o{i}" for i in range(20))
    assert not (stack.root / "warehouse" / "semantic_db" / "orders").exists()  # semantic untouched

    from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook

    state = IcebergSnapshotHook(CatalogSpec("hadoop", str(stack.root / "warehouse"))).read_topic_state("orders")
    assert state.curated_checkpoint == state.raw_current and state.semantic_checkpoint is None

    # the next run: same problem, nothing new for curated (it waits for curated only): no second alert
    later = "2025-03-01T01:00:00+00:00"
    output = stack.dags_test(dags, later)
    states = stack.task_states(later)
    assert states.get("no_schema") == "success" and states.get("wait_for_new_snapshot") == "skipped", output[-4000:]
    assert "ALERT [lakehouse] topic orders: no schema registered" not in output
    assert "already alerted" in output
    assert stack.alerted() == {"lakehouse_unified.alerted.no_schema.orders"}  # a real Variable remembered it


def test_scheduled_style_run_processes_raw_and_moves_the_checkpoints(stack: Stack) -> None:
    dags = stack.dags("dags_ok", contracts_dir=stack.root / "contracts")
    date = "2025-03-02T00:00:00+00:00"
    events_before = len(stack.asset_events())
    lineage_before = len(stack.lineage_events("unified__orders.run_unified_job"))
    output = stack.dags_test(dags, date)
    states = stack.task_states(date)
    assert states == {
        "get_checkpoint": "success",
        "wait_for_new_snapshot": "success",
        "check_schema_exists": "success",
        "run_unified_job": "success",
        "no_schema": "skipped",
        "publish_outcome": "success",
    }, output[-6000:]
    assert stack.alerted() == set()  # a valid schema forgets the no_schema alert: the next problem alerts
    # once the contract is there, semantic catches up from the beginning (curated is up to date)
    reports = sorted((stack.root / "reports" / "orders").glob("*.json"), key=lambda p: p.stat().st_mtime)
    assert reports
    report = json.loads(reports[-1].read_text())  # this run's (run ids carry the time of `dags test`)
    assert report["outcome"] == "FULL_SUCCESS"
    assert report["dedup"]["rows_out"] == 20 and report["dedup"]["network_duplicates"] == 1
    assert stack.xcom(date, "publish_outcome", "outcome") == "FULL_SUCCESS"
    counts = stack.xcom(date, "publish_outcome", "counts")
    assert isinstance(counts, dict) and counts["rows_out"] == 20 and counts["network_duplicates"] == 1
    # the topic file's default maintenance ran inside the job, after the commits
    assert set(report["maintenance"]) == {"compaction", "output_expiry"}, report["maintenance"]
    assert all("result" in step for step in report["maintenance"].values()), report["maintenance"]
    assert counts["maintenance_errors"] == {}
    # the run's GX validation page (the site next to the run reports) and its row in the run
    # history, read with pyiceberg as docs/JOB_INTERFACE.md shows
    assert report["data_docs"] and counts["data_docs_url"] == report["data_docs"]
    # the job task's extra link, as the worker resolved it when the task ended
    page = Path(unquote(urlparse(report["data_docs"]).path))
    site = stack.root / "reports" / "data_docs"
    assert page.is_file() and site in page.parents
    link = stack.xcom(date, "run_unified_job", "_link_DataDocsLink")  # served by the api-server's plugin app
    assert link == f"/lakehouse-data-docs/unified__orders/{quote(page.relative_to(site).as_posix())}", link
    runs = [r for r in stack.table_rows("ops_db", "unified_job_runs") if r["run_id"] == report["run_id"]]
    assert len(runs) == 1 and runs[0]["outcome"] == "FULL_SUCCESS" and runs[0]["rows_read"] == 21
    assert runs[0]["airflow_run_id"] == report["airflow_run_id"] and str(runs[0]["airflow_run_id"]).startswith(
        "manual__"
    )
    assert runs[0]["data_docs_url"] == report["data_docs"] and len(runs[0]["expectations"]) == 2

    # the tables hold what the raw batch says: 20 orders, each once; statuses all valid
    curated = stack.table_rows("curated_db", "orders")
    assert sorted(r["_idempotency_key"] for r in curated) == sorted(f"o{i}" for i in range(20))
    semantic = stack.table_rows("semantic_db", "orders")
    assert sorted(r["order_id"] for r in semantic) == sorted(f"o{i}" for i in range(20))
    assert all(len(str(r["email"])) == 64 and "@" not in str(r["email"]) for r in semantic)
    assert stack.table_rows("semantic_db", "orders_errors") == []

    # no clear PII in any XCom of the run, nor in the run's logs
    with sqlite3.connect(stack.root / "airflow.db") as db:
        xcoms = [v for (v,) in db.execute("SELECT value FROM xcom WHERE dag_id = 'unified__orders'")]
    assert xcoms and not any("@example.com" in str(v) for v in xcoms)
    assert "@example.com" not in output

    from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook

    state = IcebergSnapshotHook(CatalogSpec("hadoop", str(stack.root / "warehouse"))).read_topic_state("orders")
    assert state.raw_current is not None
    assert state.curated_checkpoint == state.raw_current == state.semantic_checkpoint
    # an asset event per layer this run wrote (curated is up to date when the no-schema test took
    # the batch first), naming this run's job run and the table's snapshot; no errors rows, no errors event
    events = dict(stack.asset_events()[events_before:])
    written = {f"{layer}_db.orders" for layer in ("curated", "semantic") if report[layer]["status"] == "written"}
    assert set(events) == written and "semantic_db.orders" in written, events
    semantic_event = events["semantic_db.orders"]
    assert semantic_event["run_id"] == report["run_id"] and semantic_event["rows"] == 20
    assert semantic_event["snapshot_id"] == str(report["tables"]["semantic"]["snapshot_id"])
    assert semantic_event["checkpoint"] == str(state.semantic_checkpoint)
    events_before = len(stack.asset_events())

    # OpenLineage: START and COMPLETE of the job task, naming what it read and wrote, with the
    # tables' schemas, the report's counts and the suite's results; no clear PII in any event
    lineage = stack.lineage_events("unified__orders.run_unified_job")[lineage_before:]
    assert [e["eventType"] for e in lineage] == ["START", "COMPLETE"], [e["eventType"] for e in lineage]
    complete = lineage[-1]
    warehouse = stack.root / "warehouse"
    (raw,) = complete["inputs"]
    assert (raw["namespace"], raw["name"]) == ("file", f"{warehouse}/raw_db/orders")
    assert raw["inputFacets"]["inputStatistics"]["rowCount"] == report["raw"]["rows_read"]
    assert "payload" in {f["name"] for f in raw["facets"]["schema"]["fields"]}
    outputs = {o["name"]: o for o in complete["outputs"]}
    semantic_out = outputs[f"{warehouse}/semantic_db/orders"]
    assert semantic_out["outputFacets"]["outputStatistics"]["rowCount"] == report["semantic"]["rows_valid"]
    assert {"order_id", "email", "amount", "status"} <= {f["name"] for f in semantic_out["facets"]["schema"]["fields"]}
    assertions = semantic_out["facets"]["dataQualityAssertions"]["assertions"]
    assert {(a["assertion"], a["column"], a["success"]) for a in assertions} == {
        (e["type"], e["column"], e["success"]) for e in report["semantic"]["expectations"]
    }
    every_event = (stack.root / "openlineage.jsonl").read_text()
    assert "@example.com" not in every_event

    # Nothing new since: the next run waits, times out and ends skipped (NO_NEW_DATA), not failed.
    later = "2025-03-03T00:00:00+00:00"
    output = stack.dags_test(dags, later)
    states = stack.task_states(later)
    assert states["wait_for_new_snapshot"] == "skipped", output[-4000:]
    assert states["run_unified_job"] == "skipped" and states["publish_outcome"] == "skipped"
    # ... and, like every other ending, pushes its outcome and counts
    assert stack.xcom(later, "publish_outcome", "outcome") == "NO_NEW_DATA"
    no_data = stack.xcom(later, "publish_outcome", "counts")
    assert isinstance(no_data, dict) and no_data["rows_read"] == 0
    assert no_data["curated_checkpoint_after"] == str(state.curated_checkpoint)
    assert stack.asset_events()[events_before:] == []  # NO_NEW_DATA: nothing announced


def test_a_fixed_suite_replays_the_quarantine_from_a_trigger(stack: Stack) -> None:
    """Too strict a suite quarantines good rows; after the fix, a ``replay_quarantine`` trigger heals them."""
    dags = stack.dags("dags_replay", contracts_dir=stack.root / "contracts")
    suite_file = stack.root / "expectations" / "orders.json"
    strict = {**SUITE, "expectations": [SUITE["expectations"][0], _in_set(["new"])]}
    suite_file.write_text(json.dumps(strict))
    date = "2025-03-04T00:00:00+00:00"
    output = stack.dags_test(dags, date, conf={"from_snapshot_exclusive": "none"})
    assert stack.xcom(date, "publish_outcome", "outcome") == "FULL_SUCCESS", output[-6000:]
    assert sorted(r["_idempotency_key"] for r in stack.table_rows("semantic_db", "orders_errors")) == sorted(
        f"o{i}"
        for i in range(1, 20, 2)  # the "paid" ones
    )
    from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook

    hook = IcebergSnapshotHook(CatalogSpec("hadoop", str(stack.root / "warehouse")))
    before = hook.read_topic_state("orders")

    suite_file.write_text(json.dumps(SUITE))  # the analysts' fix
    date = "2025-03-05T00:00:00+00:00"
    output = stack.dags_test(dags, date, conf={"replay_quarantine": True})
    assert stack.task_states(date)["run_unified_job"] == "success", output[-6000:]
    assert "quarantine replay" in output
    assert stack.xcom(date, "publish_outcome", "outcome") == "FULL_SUCCESS"
    counts = stack.xcom(date, "publish_outcome", "counts")
    assert isinstance(counts, dict)
    assert (counts["replay_replayed"], counts["replay_healed"], counts["replay_still_failing"]) == (10, 10, 0)
    assert "10 healed to semantic" in output
    assert stack.table_rows("semantic_db", "orders_errors") == []
    assert sorted(r["order_id"] for r in stack.table_rows("semantic_db", "orders")) == sorted(
        f"o{i}" for i in range(20)
    )
    after = hook.read_topic_state("orders")
    assert (after.curated_checkpoint, after.semantic_checkpoint) == (
        before.curated_checkpoint,
        before.semantic_checkpoint,
    )


def _in_set(values: list[str]) -> dict[str, object]:
    return {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "status", "value_set": values}}
