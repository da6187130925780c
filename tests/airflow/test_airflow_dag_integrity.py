"""DagBag integrity: every topic has its DAG with the expected shape; a bad topic fails alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronDataIntervalTimetable
from airflow.serialization.serialized_objects import DagSerialization
from airflow_testkit import emr_topic_yaml
from conftest import DAGS, PLUGINS, REPO
from lakehouse_unified.dag_files import loader_source, sync_loaders
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
    # the topic's DAG file, and the example consumers of its tables (they name its assets)
    assert sorted(bag.import_errors) == [
        str(dags / "example_consumers__orders.py"),
        str(dags / "unified__orders.py"),
    ]
    for message in bag.import_errors.values():
        assert str(topic_file) in message
        assert "field 'runtime'" in message and "'emr_serverles'" in message
    assert "unified__orders" not in bag.dags
    assert {f"unified__{t}" for t in TOPICS if t != "orders"} <= set(bag.dags)
    # forget_subject reads no topic file when parsed: a run naming orders fails in plan_forget
    assert "forget_subject" in bag.dags


def test_a_topic_file_without_dag_file_and_an_orphan_are_reported(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    (dags / "topics" / "refunds.yaml").write_text("topic: refunds\n")
    (dags / "topics" / "payments.yaml").unlink()
    problems = sync_loaders(dags, check=True)
    assert problems == [
        f"would write {dags / 'unified__refunds.py'}",
        f"orphan {dags / 'unified__payments.py'}: no topics/payments.yaml",
    ]  # forget_subject.py is one file for every topic: neither missing nor an orphan
    bag = DagBag(dag_folder=str(dags))
    assert "topic configuration file not found" in bag.import_errors[str(dags / "unified__payments.py")]
    assert str(dags / "forget_subject.py") not in bag.import_errors


PARSE_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
before = set(sys.modules)
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
took = time.perf_counter() - start
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
amazon = sorted(m for m in set(sys.modules) - before if m.startswith("airflow.providers.amazon.aws"))
report = {"errors": bag.import_errors, "dags": sorted(bag.dags), "new": new, "amazon": amazon, "seconds": took}
print(json.dumps(report))
"""
HEAVY = {"pyspark", "great_expectations", "pyiceberg", "boto3", "botocore", "aiobotocore", "pyarrow", "pandas"}


def parse_in_fresh_interpreter(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(PLUGINS)},
    )
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_parsing_imports_nothing_heavy() -> None:
    """No pyspark, great_expectations, pyiceberg or boto3 at parse time (a fresh interpreter)."""
    report = parse_in_fresh_interpreter(DAGS)
    assert report["errors"] == {}
    consumers = {f"example_consumer__orders_{layer}" for layer in ("curated", "semantic")}
    assert {f"unified__{t}" for t in TOPICS} | {"forget_subject"} | consumers == set(report["dags"])
    assert HEAVY.isdisjoint(report["new"]), sorted(HEAVY & set(report["new"]))
    assert report["amazon"] == []  # the repository's topics run locally


def test_the_forget_dag_never_imports_the_amazon_provider_at_parse_time(tmp_path: Path) -> None:
    """Even with every topic on EMR Serverless: its EMR task builds the provider's operator when it runs.
    (A topic's own DAG file, ``unified__<t>.py``, imports the provider for an EMR topic.)"""
    dags = tmp_path / "dags"
    (dags / "topics").mkdir(parents=True)
    shutil.copy(DAGS / "forget_subject.py", dags)
    (dags / "topics" / "payments.yaml").write_text(emr_topic_yaml())
    report = parse_in_fresh_interpreter(dags / "forget_subject.py")
    assert report["errors"] == {} and report["dags"] == ["forget_subject"]
    assert report["amazon"] == [] and HEAVY.isdisjoint(report["new"]), report
    (dags / "unified__payments.py").write_text(loader_source("payments"))
    assert parse_in_fresh_interpreter(dags / "unified__payments.py")["amazon"] != []  # the probe sees it
