"""DagBag integrity: every topic has its DAG with the expected shape; a bad topic fails alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronDataIntervalTimetable
from airflow.serialization.serialized_objects import DagSerialization
from conftest import DAGS, PLUGINS, REPO
from lakehouse_unified.dag_files import sync_loaders
from lakehouse_unified.sensors.raw_snapshot import NewRawSnapshotSensor

TOPICS = sorted(p.stem for p in (DAGS / "topics").glob("*.yaml"))
EXPECTED_TASKS = {
    "get_checkpoint",
    "wait_for_new_snapshot",
    "check_schema_exists",
    "run_unified_job",
    "no_schema",
    "publish_outcome",
}
EDGES = {
    "get_checkpoint": {"check_schema_exists"},
    "check_schema_exists": {"wait_for_new_snapshot", "no_schema"},
    "wait_for_new_snapshot": {"run_unified_job"},
    "run_unified_job": {"publish_outcome"},
    "no_schema": set(),
    "publish_outcome": set(),
}


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_demo_topics_exist() -> None:
    assert {"orders", "payments"} <= set(TOPICS)


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_dag_shape(dagbag: DagBag, topic: str) -> None:
    dag = dagbag.dags[f"unified__{topic}"]
    assert set(dag.task_dict) == EXPECTED_TASKS
    assert {t: set(dag.task_dict[t].downstream_task_ids) for t in EXPECTED_TASKS} == EDGES
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"lakehouse", "unified-job", f"topic:{topic}"} <= set(dag.tags)
    assert isinstance(dag.timetable, CronDataIntervalTimetable)  # runs have data intervals (backfill)
    assert set(dag.params) == {
        "from_snapshot_exclusive",
        "to_snapshot_inclusive",
        "layers",
        "dry_run",
        "no_checkpoint",
        "replay_quarantine",
    }
    assert dag.task_dict["get_checkpoint"].retries >= 1
    assert dag.task_dict["run_unified_job"].retries >= 1
    assert dag.task_dict["wait_for_new_snapshot"].retries == 0
    assert dag.task_dict["publish_outcome"].trigger_rule == "all_done"  # NO_NEW_DATA gets its outcome too
    assert dag.task_dict["run_unified_job"].max_active_tis_per_dag == 1  # one job per topic, backfills included
    sensor = dag.task_dict["wait_for_new_snapshot"]
    assert isinstance(sensor, NewRawSnapshotSensor) and sensor.deferrable and not sensor.soft_fail
    assert dag.task_dict["run_unified_job"].on_failure_callback in (None, [])  # publish_outcome alerts once
    assert dag.task_dict["publish_outcome"].on_failure_callback


@pytest.mark.parametrize("topic", TOPICS)
def test_dag_serializes(dagbag: DagBag, topic: str) -> None:
    dag = dagbag.dags[f"unified__{topic}"]
    restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert set(restored.task_dict) == EXPECTED_TASKS


def test_params_validate_snapshot_ids_as_strings(dagbag: DagBag) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    param = dagbag.dags["unified__orders"].params.get_param("from_snapshot_exclusive")
    assert param.resolve("9223372036854775807") == "9223372036854775807"
    assert param.resolve("none") == "none"
    assert param.resolve(None) is None
    with pytest.raises(ParamValidationError, match="12abc"):
        param.resolve("12abc")
    layers = dagbag.dags["unified__orders"].params.get_param("layers")
    with pytest.raises(ParamValidationError):
        layers.resolve("gold")


def test_every_topic_file_has_its_dag_file() -> None:
    assert sync_loaders(DAGS, check=True) == []


def test_plugins_manager_loads_only_the_registration_file() -> None:
    """plugins/ holds a package and one AirflowPlugin file: .airflowignore keeps Airflow from
    importing each module of the package as a top-level module (which would shadow names like
    ``iceberg``); the file registers the api-server's Data Docs app, built on its first request
    (every component loads plugins: none but the api-server pays the core API's imports)."""
    from airflow._shared.module_loading.file_discovery import find_path_from_directory

    found = [p for p in find_path_from_directory(str(PLUGINS), ".airflowignore", "glob") if p.endswith(".py")]
    assert found == [str(PLUGINS / "lakehouse_unified_plugin.py")]
    probe = textwrap.dedent(
        f"""
        import sys
        from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory
        plugins, errors = _load_plugins_from_plugin_directory({str(PLUGINS)!r})
        assert errors == {{}}, errors
        print([p.name for p in plugins], [a["url_prefix"] for a in plugins[0].fastapi_apps])
        print(sorted(m for m in ("fastapi", "airflow.api_fastapi.core_api.security") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-2:] == ["['lakehouse_unified'] ['/lakehouse-data-docs']", "[]"], out


def test_a_bad_topic_file_fails_only_its_own_dag(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    topic_file = dags / "topics" / "orders.yaml"
    topic_file.write_text(topic_file.read_text().replace("runtime: local", "runtime: emr_serverles"))
    bag = DagBag(dag_folder=str(dags))
    # the topic's DAG files, and the example consumers of its tables (they name its assets)
    assert sorted(bag.import_errors) == [
        str(dags / "example_consumers__orders.py"),
        str(dags / "forget__orders.py"),
        str(dags / "unified__orders.py"),
    ]
    for message in bag.import_errors.values():
        assert str(topic_file) in message
        assert "field 'runtime'" in message and "'emr_serverles'" in message
    assert "unified__orders" not in bag.dags and "forget__orders" not in bag.dags
    assert {f"{kind}__{t}" for t in TOPICS if t != "orders" for kind in ("unified", "forget")} <= set(bag.dags)


def test_a_topic_file_without_dag_file_and_an_orphan_are_reported(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    (dags / "topics" / "refunds.yaml").write_text("topic: refunds\n")
    (dags / "topics" / "payments.yaml").unlink()
    problems = sync_loaders(dags, check=True)
    for kind in ("unified", "forget"):
        assert any("would write" in p and f"{kind}__refunds.py" in p for p in problems)
        assert any(p.startswith("orphan") and f"{kind}__payments.py" in p for p in problems)
    bag = DagBag(dag_folder=str(dags))
    assert "topic configuration file not found" in bag.import_errors[str(dags / "unified__payments.py")]
    assert "topic configuration file not found" in bag.import_errors[str(dags / "forget__payments.py")]


PARSE_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
before = set(sys.modules)
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
took = time.perf_counter() - start
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"errors": bag.import_errors, "dags": sorted(bag.dags), "new": new, "seconds": took}))
"""


def test_parsing_imports_nothing_heavy(tmp_path: Path) -> None:
    """No pyspark, great_expectations, pyiceberg or boto3 at parse time (a fresh interpreter)."""
    result = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(DAGS)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**__import__("os").environ, "PYTHONPATH": str(PLUGINS)},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    consumers = {f"example_consumer__orders_{layer}" for layer in ("curated", "semantic")}
    assert {f"{kind}__{t}" for t in TOPICS for kind in ("unified", "forget")} | consumers == set(report["dags"])
    heavy = {"pyspark", "great_expectations", "pyiceberg", "boto3", "botocore", "aiobotocore", "pyarrow", "pandas"}
    assert heavy.isdisjoint(report["new"]), sorted(heavy & set(report["new"]))
