"""End to end: ``airflow dags test unified__orders`` with ``runtime: local`` and the real job.

Slow (an Airflow metadata DB, a Spark session to write raw data, the job itself):
``pytest -m airflow_e2e tests/airflow``. Everything lives in a temporary folder: its own
AIRFLOW_HOME and sqlite DB, a copy of dags/ whose orders.yaml points at a temporary
warehouse, contract and suite; the job's code is the repository's spark_jobs/.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import pytest
from conftest import DAGS, PLUGINS, REPO

pytestmark = pytest.mark.airflow_e2e

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
CONTRACT = """\
topic: orders
description: e2e test contract
fields:
  - {name: order_id, type: string, nullable: false}
  - {name: email, path: customer.email, type: string, pii: hash}
  - {name: amount, type: "decimal(10,2)"}
  - {name: status, type: string}
"""
SUITE = {
    "name": "orders",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "status", "value_set": ["new", "paid"]}},
    ],
}
WRITE_RAW = """\
import json, sys
from datetime import datetime, timedelta
from spark_jobs.session import build_session

spark = build_session("hadoop", sys.argv[1], app_name="e2e-raw")
spark.sql("CREATE NAMESPACE IF NOT EXISTS raw_db")
spark.sql(
    "CREATE TABLE IF NOT EXISTS raw_db.orders (message_id string, idempotency_key string, event_ts timestamp, "
    "ingest_ts timestamp, payload string) USING iceberg PARTITIONED BY (days(ingest_ts)) "
    "TBLPROPERTIES ('format-version'='2')"
)
t0 = datetime(2025, 3, 1, 9, 0, 0)
rows = []
for i in range(20):
    payload = {"order_id": f"o{i}", "customer": {"email": f"c{i}@example.com"}, "amount": 10 + i,
               "status": "paid" if i % 2 else "new"}
    rows.append((f"m{i}", f"o{i}", t0 + timedelta(seconds=i), t0 + timedelta(seconds=i), json.dumps(payload)))
rows.append(("m0", "o0", t0, t0 + timedelta(seconds=30), rows[0][4]))  # a network retry
schema = "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, payload string"
spark.createDataFrame(rows, schema).writeTo("raw_db.orders").append()
spark.stop()
"""


@dataclass(frozen=True)
class Stack:
    root: Path
    env: dict[str, str]

    def dags(self, name: str, contracts_dir: Path) -> Path:
        """A copy of dags/ whose orders.yaml points at this stack's folders."""
        dags = self.root / name
        shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
        (dags / "topics" / "orders.yaml").write_text(
            textwrap.dedent(
                f"""\
                topic: orders
                schedule: "@hourly"
                start_date: 2025-01-01
                retries: 0
                runtime: local
                wait_for_data: {{poke_interval_seconds: 5, timeout_minutes: 1}}
                storage:
                  warehouse: {self.root / "warehouse"}
                  contracts_dir: {contracts_dir}
                  expectations_dir: {self.root / "expectations"}
                  run_reports_dir: {self.root / "reports"}
                local:
                  project_dir: {REPO}
                  env: {{SPARK_DRIVER_MEMORY: 1g, SPARK_SHUFFLE_PARTITIONS: "2", TQDM_DISABLE: "1"}}
                """
            )
        )
        return dags

    def dags_test(self, dags: Path, logical_date: str, conf: dict[str, object] | None = None) -> str:
        command = [AIRFLOW, "dags", "test", "unified__orders", logical_date]
        if conf:
            command += ["--conf", json.dumps(conf)]
        result = subprocess.run(
            command,
            env={**self.env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)},
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = result.stdout + result.stderr
        (self.root / f"dags_test_{logical_date[:10]}.log").write_text(output)
        return output

    def xcom(self, logical_date: str, task_id: str, key: str) -> object:
        """An XCom value of this DAG run, as Airflow stored it (JSON)."""
        with sqlite3.connect(self.root / "airflow.db") as db:
            row = db.execute(
                "SELECT x.value FROM xcom x JOIN dag_run dr ON x.dag_id = dr.dag_id AND x.run_id = dr.run_id "
                "WHERE x.dag_id = 'unified__orders' AND x.task_id = ? AND x.key = ? AND dr.logical_date LIKE ?",
                (task_id, key, logical_date[:19].replace("T", " ") + "%"),
            ).fetchone()
        assert row is not None, f"no XCom {task_id}.{key}"
        return json.loads(row[0])

    def table_rows(self, namespace: str, table: str) -> list[dict[str, object]]:
        """Rows of an output table, read with pyiceberg (no Spark)."""
        from pyiceberg.table import StaticTable

        location = f"file://{self.root / 'warehouse' / namespace / table}"
        return StaticTable.from_metadata(location).scan().to_arrow().to_pylist()  # type: ignore[no-any-return]

    def task_states(self, logical_date: str) -> dict[str, str]:
        with sqlite3.connect(self.root / "airflow.db") as db:
            rows = db.execute(
                "SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run dr "
                "ON ti.dag_id = dr.dag_id AND ti.run_id = dr.run_id "
                "WHERE ti.dag_id = 'unified__orders' AND dr.logical_date LIKE ?",
                (logical_date[:19].replace("T", " ") + "%",),
            ).fetchall()
        return {task_id: state for task_id, state in rows}

    def asset_events(self) -> list[tuple[str, dict[str, object]]]:
        """Asset events in the metadata DB, oldest first: (asset name, extra)."""
        with sqlite3.connect(self.root / "airflow.db") as db:
            rows = db.execute(
                "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id ORDER BY e.id"
            ).fetchall()
        return [(name, json.loads(extra)) for name, extra in rows]

    def lineage_events(self, job: str) -> list[dict[str, object]]:
        """OpenLineage events the provider's file transport wrote for ``job`` (``<dag>.<task>``)."""
        path = self.root / "openlineage.jsonl"
        events = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [e for e in events if e.get("job", {}).get("name") == job]

    def alerted(self) -> set[str]:
        """The alert memory: Airflow Variables ``AlertMemoryHook`` keeps in the metadata DB."""
        with sqlite3.connect(self.root / "airflow.db") as db:
            rows = db.execute("SELECT key FROM variable WHERE key LIKE 'lakehouse_unified.alerted.%'").fetchall()
        return {key for (key,) in rows}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which("java") is None:
        pytest.skip("no Java: the job's local Spark cannot start")
    root = tmp_path_factory.mktemp("airflow-e2e")
    (root / "contracts").mkdir()
    (root / "no_contracts").mkdir()
    (root / "expectations").mkdir()
    (root / "contracts" / "orders.yaml").write_text(CONTRACT)
    (root / "expectations" / "orders.json").write_text(json.dumps(SUITE))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(root / "airflow_home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{root / 'airflow.db'}",
        "LAKEHOUSE_PROJECT_DIR": str(REPO),
        "PII_HASH_KEY": "e2e-test-only-hmac-key-0123456789",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(PLUGINS)]),
        # OpenLineage events of every task, to a file (the provider's file transport)
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(root / "openlineage.jsonl"), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "lakehouse-e2e",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    subprocess.run(
        [sys.executable, "-c", WRITE_RAW, str(root / "warehouse")],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    yield Stack(root=root, env=env)


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
