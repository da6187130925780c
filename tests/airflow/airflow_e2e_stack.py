"""The Airflow end-to-end tests' shared stack: one AIRFLOW_HOME + sqlite DB and one warehouse per session.

``make_stack`` migrates the metadata DB and writes the raw tables of two topics in one Spark
process (the costly part); ``Stack.dags`` copies dags/ with every topic file pointed at the
stack's folders. ``orders`` is the topic of ``test_airflow_dags_e2e.py``; ``payments`` is
``test_airflow_forget_dag.py``'s (forgetting a person there leaves orders' tables alone,
whichever module runs first). The job's code is the repository's spark_jobs/.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from conftest import DAGS, PLUGINS, REPO

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
schema = "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, payload string"
t0 = datetime(2025, 3, 1, 9, 0, 0)
for topic, key, domain in (("orders", "o", "example.com"), ("payments", "p", "payments.example")):
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS raw_db.{topic} ({schema}) USING iceberg PARTITIONED BY (days(ingest_ts)) "
        "TBLPROPERTIES ('format-version'='2')"
    )
    rows = []
    for i in range(20):
        payload = {"order_id": f"{key}{i}", "customer": {"email": f"c{i}@{domain}"}, "amount": 10 + i,
                   "status": "paid" if i % 2 else "new"}
        rows.append((f"m{i}", f"{key}{i}", t0 + timedelta(seconds=i), t0 + timedelta(seconds=i), json.dumps(payload)))
    rows.append(("m0", f"{key}0", t0, t0 + timedelta(seconds=30), rows[0][4]))  # a network retry
    spark.createDataFrame(rows, schema).writeTo(f"raw_db.{topic}").append()
spark.stop()
"""
TOPICS = ("orders", "payments")
"""Raw tables of the stack: orders (``c<i>@example.com``, keys ``o<i>``), payments
(``c<i>@payments.example``, keys ``p<i>``); 20 events each and one network retry."""


@dataclass(frozen=True)
class Stack:
    root: Path
    env: dict[str, str]

    def dags(self, name: str, contracts_dir: Path) -> Path:
        """A copy of dags/ whose topic files (orders, payments) point at this stack's folders."""
        dags = self.root / name
        shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
        for topic in TOPICS:
            (dags / "topics" / f"{topic}.yaml").write_text(
                textwrap.dedent(
                    f"""\
                    topic: {topic}
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

    def dags_test(
        self, dags: Path, logical_date: str, conf: dict[str, object] | None = None, dag_id: str = "unified__orders"
    ) -> str:
        command = [AIRFLOW, "dags", "test", dag_id, logical_date]
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
        (self.root / f"dags_test_{dag_id}_{logical_date[:10]}.log").write_text(output)
        return output

    def xcom(self, logical_date: str, task_id: str, key: str, dag_id: str = "unified__orders") -> object:
        """An XCom value of this DAG run, as Airflow stored it (JSON)."""
        with sqlite3.connect(self.root / "airflow.db") as db:
            row = db.execute(
                "SELECT x.value FROM xcom x JOIN dag_run dr ON x.dag_id = dr.dag_id AND x.run_id = dr.run_id "
                "WHERE x.dag_id = ? AND x.task_id = ? AND x.key = ? AND dr.logical_date LIKE ?",
                (dag_id, task_id, key, logical_date[:19].replace("T", " ") + "%"),
            ).fetchone()
        assert row is not None, f"no XCom {dag_id}.{task_id}.{key}"
        return json.loads(row[0])

    def table_rows(self, namespace: str, table: str) -> list[dict[str, object]]:
        """Rows of an output table, read with pyiceberg (no Spark)."""
        from pyiceberg.table import StaticTable

        location = f"file://{self.root / 'warehouse' / namespace / table}"
        return StaticTable.from_metadata(location).scan().to_arrow().to_pylist()  # type: ignore[no-any-return]

    def task_states(self, logical_date: str, dag_id: str = "unified__orders") -> dict[str, str]:
        with sqlite3.connect(self.root / "airflow.db") as db:
            rows = db.execute(
                "SELECT ti.task_id, ti.state FROM task_instance ti JOIN dag_run dr "
                "ON ti.dag_id = dr.dag_id AND ti.run_id = dr.run_id "
                "WHERE ti.dag_id = ? AND dr.logical_date LIKE ?",
                (dag_id, logical_date[:19].replace("T", " ") + "%"),
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


def make_stack(root: Path) -> Stack:
    """Contracts and suites of both topics, a migrated metadata DB and the raw tables, under ``root``."""
    (root / "contracts").mkdir()
    (root / "no_contracts").mkdir()
    (root / "expectations").mkdir()
    for topic in TOPICS:
        (root / "contracts" / f"{topic}.yaml").write_text(CONTRACT.replace("topic: orders", f"topic: {topic}", 1))
        (root / "expectations" / f"{topic}.json").write_text(json.dumps({**SUITE, "name": topic}))
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
    return Stack(root=root, env=env)
