"""The EMR Serverless artifacts on a real multi-JVM Spark cluster (standalone, 2 workers).

``make emr-package`` builds ``entrypoint.py`` + ``spark_jobs.zip`` (``spark_jobs.emr_package``)
and EMR runs ``spark-submit --py-files spark_jobs.zip entrypoint.py <job args>``. Here the
same files go to a standalone master with two workers (pyspark's own launcher), from a
working directory outside the repo and with nothing of the repo on PYTHONPATH, so a
change that only works in ``local[*]`` (driver-only files, closures that do not pickle,
py4j from an executor, code found in the checkout instead of the zip) fails. The tables
must equal, row for row, those of an in-process ``local`` run of the same raw events,
and the event log must show tasks on executors of both workers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo.raw_events import generate_batches
from spark_jobs.emr_package import build_emr_package
from spark_jobs.local_submit import spark_home
from spark_jobs.session import iceberg_runtime_jar
from spark_jobs.tables import TopicTables

from .jobkit import Row, append_raw, run_job, table_rows
from .test_unified_job import assert_invariants

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "orders"  # the demo topic: nested payloads, PII, duplicates, corrections, defects
BATCHES, ROWS_PER_BATCH, SEED = 2, 3000, 11
WORKERS = 2
WORKER_MEMORY, EXECUTOR_MEMORY = "1g", "768m"
STARTUP_TIMEOUT_S, JOB_TIMEOUT_S = 90, 240
# Short-lived JVMs on a 2-core CI box: C1 only (no C2 compile storms) and serial GC
FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _base_env(root: Path) -> dict[str, str]:
    """A clean environment: no PYTHONPATH, no inherited Spark/pyspark gateway settings."""
    conf_dir = root / "conf"  # empty: no spark-defaults/log4j picked up from anywhere
    conf_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "JAVA_HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        {
            "SPARK_HOME": spark_home(),
            "SPARK_CONF_DIR": str(conf_dir),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(root / "logs"),
            "SPARK_LOCAL_DIRS": str(root / "local"),  # shuffle/blocks of the workers' executors
            "SPARK_DAEMON_JAVA_OPTS": FAST_JVM,  # master and workers
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "TQDM_DISABLE": "1",
        }
    )
    return env


def _wait_for(what: str, ready: Callable[[], bool], timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-2000:]}" for log in logs if log.exists())
    raise TimeoutError(f"{what} not ready after {timeout} s\n{tails}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group of ``process`` (spark-class, its JVM and any executor JVMs)."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; children (executor JVMs of a worker) may linger a moment
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(1)


@dataclass(frozen=True)
class StandaloneCluster:
    master_url: str
    master_ui: str
    worker_ui_ports: tuple[int, ...]
    worker_dirs: tuple[Path, ...]
    env: dict[str, str]
    logs: tuple[Path, ...]

    def state(self) -> dict[str, Any]:
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
        with no_proxy.open(f"{self.master_ui}/json/", timeout=5) as response:
            return dict(json.load(response))

    def alive_workers(self) -> int:
        try:
            return sum(w.get("state") == "ALIVE" for w in self.state().get("workers", []))
        except OSError:
            return -1


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """A standalone master and two 1-core workers on 127.0.0.1; every JVM is stopped after."""
    root = tmp_path_factory.mktemp("standalone")
    env = _base_env(root)
    spark_class = str(Path(env["SPARK_HOME"]) / "bin" / "spark-class")
    master_port, master_ui_port = _free_port(), _free_port()
    master_url = f"spark://127.0.0.1:{master_port}"
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []

    def start(name: str, *args: str) -> None:
        log = root / f"{name}.log"
        logs.append(log)
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [spark_class, *args],
                    env=env,
                    cwd=root,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: stopped as a whole
                )
            )

    try:
        start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(master_port),
            "--webui-port",
            str(master_ui_port),
        )
        worker_ports, worker_dirs = [], []
        for index in range(WORKERS):
            work_dir = root / f"worker{index}"
            work_dir.mkdir()
            worker_dirs.append(work_dir)
            worker_ports.append(_free_port())
            start(
                f"worker{index}",
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                WORKER_MEMORY,
                "--work-dir",
                str(work_dir),
                "--webui-port",
                str(worker_ports[-1]),
                master_url,
            )
        cluster = StandaloneCluster(
            master_url,
            f"http://127.0.0.1:{master_ui_port}",
            tuple(worker_ports),
            tuple(worker_dirs),
            env,
            tuple(logs),
        )
        _wait_for(f"{WORKERS} ALIVE workers", lambda: cluster.alive_workers() == WORKERS, STARTUP_TIMEOUT_S, logs)
        yield cluster
    finally:
        for process in reversed(processes):
            _stop(process)


def _demo_topic(tmp_path: Path, topic: str) -> tuple[str, str]:
    """The demo's contract and suite under ``topic``'s name."""
    contracts, expectations = tmp_path / "contracts", tmp_path / "expectations"
    contracts.mkdir(parents=True)
    expectations.mkdir(parents=True)
    text = (REPO / "contracts" / f"{TEMPLATE}.yaml").read_text()
    (contracts / f"{topic}.yaml").write_text(re.sub(rf"^topic: {TEMPLATE}$", f"topic: {topic}", text, flags=re.M))
    shutil.copy(REPO / "expectations" / f"{TEMPLATE}.json", expectations / f"{topic}.json")
    return str(contracts), str(expectations)


def _events(event_dir: Path) -> list[dict[str, Any]]:
    (log,) = [p for p in event_dir.iterdir() if not p.name.endswith(".inprogress")]
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _worker_port(executor_info: dict[str, Any]) -> int:
    """The web UI port of the worker that runs an executor (from its log URLs)."""
    url = next(iter(executor_info["Log Urls"].values()))
    match = re.match(r"https?://[^/:]+:(\d+)/", url)
    assert match, url
    return int(match.group(1))


def _submit_command(
    cluster: StandaloneCluster, entrypoint: Path, package: Path, jar: Path, events_dir: Path
) -> list[str]:
    """spark-submit as EMR runs it: ``--py-files spark_jobs.zip entrypoint.py``, on the cluster."""
    conf = {
        "spark.executor.cores": "1",
        "spark.executor.memory": EXECUTOR_MEMORY,
        "spark.cores.max": str(WORKERS),
        "spark.driver.memory": "1g",
        # schedule only once both executors are registered, so that both get tasks
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "60s",
        # the python of executors: EMR gives spark.executorEnv.PYSPARK_PYTHON (packed venv)
        "spark.pyspark.python": sys.executable,
        "spark.executorEnv.PYSPARK_PYTHON": sys.executable,
        "spark.local.dir": cluster.env["SPARK_LOCAL_DIRS"],
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events_dir.as_uri(),
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": FAST_JVM,
        "spark.executor.extraJavaOptions": FAST_JVM,
        "spark.sql.shuffle.partitions": "4",
    }
    command = [
        str(Path(cluster.env["SPARK_HOME"]) / "bin" / "spark-submit"),
        "--master",
        cluster.master_url,
        "--deploy-mode",
        "client",
        "--py-files",
        str(package),
        "--jars",
        f"{iceberg_runtime_jar()},{jar}",  # the job's JVM functions: from the package, as on EMR
    ]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [*command, str(entrypoint)]


def _comparable(rows: list[dict[str, Any]], batch_of: dict[int, int]) -> list[dict[str, Any]]:
    """Rows with their raw snapshot id replaced by the batch index (each topic has its own ids)."""
    return [{**r, "_raw_snapshot_id": batch_of[r["_raw_snapshot_id"]]} if "_raw_snapshot_id" in r else r for r in rows]


def test_emr_package_runs_on_a_two_worker_cluster_like_local(
    spark, warehouse: Path, tmp_path: Path, hash_key: str, cluster: StandaloneCluster
) -> None:
    # 1. the artifacts, built as `make emr-package` builds them
    entrypoint, package, jar = build_emr_package(tmp_path / "emr")
    assert entrypoint.read_bytes() == (REPO / "spark_jobs" / "entrypoint.py").read_bytes()
    assert "spark_jobs/unified_job.py" in zipfile.ZipFile(package).namelist()
    assert "lakehouse/unified/BoundDepth.class" in zipfile.ZipFile(jar).namelist()

    # 2. the same raw events for the cluster's topic and for the local reference topic
    topic, reference = "emr_orders", "emr_orders_local"
    consumed: list[Row] = []
    batch_of: dict[int, int] = {}  # raw snapshot id (either topic) -> batch index
    last_snapshot = 0
    for index, batch in enumerate(generate_batches(TEMPLATE, BATCHES, ROWS_PER_BATCH, SEED)):
        rows: list[Row] = [event.as_tuple() for event in batch]
        consumed += rows
        last_snapshot = append_raw(spark, topic, rows)
        batch_of[last_snapshot] = index
        batch_of[append_raw(spark, reference, rows)] = index
    assert len(consumed) == BATCHES * ROWS_PER_BATCH

    # 3. spark-submit from outside the repo; the job's code can only come from the zip
    workdir, events_dir = tmp_path / "submit", tmp_path / "events"
    workdir.mkdir()
    events_dir.mkdir()
    env = {**cluster.env, "PII_HASH_KEY": hash_key}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, importlib.util; sys.path[:0] = sys.argv[1:]; print(importlib.util.find_spec('spark_jobs'))",
            str(entrypoint.parent),
            str(entrypoint.parent.parent),  # entrypoint.py's fallback
        ],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "None", f"spark_jobs importable without the zip: {probe.stdout}"
    report_path = tmp_path / "report.json"
    contracts, expectations = _demo_topic(tmp_path / "cluster", topic)
    job_args = ["--topic", topic, "--warehouse", str(warehouse), "--contracts-dir", contracts]
    job_args += ["--expectations-dir", expectations, "--run-id", "emr-cluster-1", "--run-report", str(report_path)]
    output = workdir / "spark-submit.log"
    with output.open("wb") as out:
        submitted = subprocess.Popen(
            [*_submit_command(cluster, entrypoint, package, jar, events_dir), *job_args],
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # meanwhile, the reference: the same job in process (local[2]) on the same events
        local = run_job(spark, reference, _demo_topic(tmp_path / "local", reference), run_id="local-reference")
        submitted.wait(timeout=JOB_TIMEOUT_S)
    finally:
        if submitted.poll() is None:
            _stop(submitted)
    assert local.outcome == "FULL_SUCCESS", local.to_json()
    assert submitted.returncode == 0, output.read_text(errors="replace")[-5000:]
    report = json.loads(report_path.read_text())
    assert report["outcome"] == "FULL_SUCCESS", report
    assert report["raw"]["rows_read"] == len(consumed)

    # 4. the product's invariants, and the very tables of the local run
    assert_invariants(spark, topic, consumed, last_snapshot)
    for layer in ("curated", "semantic", "errors"):
        on_cluster = _comparable(table_rows(spark, getattr(TopicTables(topic), layer)), batch_of)
        in_process = _comparable(table_rows(spark, getattr(TopicTables(reference), layer)), batch_of)
        assert on_cluster, f"{layer} is empty"
        assert on_cluster == in_process, f"{layer} differs between the cluster and the local run"

    # 5. it ran on the cluster: its master, executors on both workers, no task on the driver
    events = _events(events_dir)
    (environment,) = [e for e in events if e["Event"] == "SparkListenerEnvironmentUpdate"]
    assert dict(environment["Spark Properties"])["spark.master"] == cluster.master_url
    worker_of = {
        e["Executor ID"]: _worker_port(e["Executor Info"]) for e in events if e["Event"] == "SparkListenerExecutorAdded"
    }
    task_executors = [e["Task Info"]["Executor ID"] for e in events if e["Event"] == "SparkListenerTaskEnd"]
    assert task_executors and "driver" not in task_executors
    tasks_per_worker = {port: 0 for port in cluster.worker_ui_ports}
    for executor in task_executors:
        tasks_per_worker[worker_of[executor]] += 1
    assert all(tasks_per_worker.values()), f"tasks per worker (by web UI port): {tasks_per_worker}"
    app_id = next(e["App ID"] for e in events if e["Event"] == "SparkListenerApplicationStart")
    for work_dir in cluster.worker_dirs:
        assert list((work_dir / app_id).iterdir()), f"no executor of {app_id} in {work_dir}"
