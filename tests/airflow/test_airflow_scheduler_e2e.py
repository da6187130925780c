"""End to end with a real scheduler: backfills, REST-triggered runs, row-capped backlogs.

``make airflow-standalone`` (the documented command: scheduler, dag-processor,
triggerer and api-server, found on PATH as ``airflow``) is started on 127.0.0.1 in a
temporary AIRFLOW_HOME with a SQLite metadata DB and a temporary copy of dags/ with
two topics:

- ``orders``: scheduled every minute (so a backfill's intervals are minutes and raw
  commits can fall into some intervals and not others), live runs unpaused throughout;
- ``orders_capped``: manual runs only, ``max_rows_per_run`` = one raw batch.

Raw data comes from the demo generator (``demo.generate_raw``), the job is the
repository's, run by the local runtime. Everything the module starts is stopped at the
end (every descendant process, the jobs' Spark JVMs included). Slow (about 8 minutes):
marked ``airflow_e2e`` and ``slow``; CI runs it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urljoin

import psutil
import pytest
from conftest import DAGS, PLUGINS, REPO, free_port

from spark_jobs.faults import BARRIER_DIR_ENV, BARRIER_ENV, BARRIER_PARTIES_ENV

pytestmark = [pytest.mark.airflow_e2e, pytest.mark.slow]

ROWS = 150  # raw rows per generated batch
DAG_ORDERS, DAG_CAPPED, DAG_ASSETS = "unified__orders", "unified__orders_capped", "unified__orders_assets"
CONSUMERS = {layer: f"example_consumer__orders_assets_{layer}" for layer in ("curated", "semantic")}
FINISHED = {"success", "failed"}
T = TypeVar("T")

WRITE_RAW = """\
import sys
from demo.generate_raw import write_batches
from spark_jobs.session import build_session

warehouse, batches, rows, *tables = sys.argv[1:]
spark = build_session("hadoop", warehouse, app_name="scheduler-e2e-raw")
for table in tables:  # the same generated events (same seed) in every table
    write_batches(spark, "orders", int(batches), int(rows), seed=11, table=table)
spark.stop()
"""


def wait_for(what: str, check: Callable[[], T | None], timeout: float, log: Path) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and the log's tail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-6000:] if log.exists() else ""
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}\n--- standalone log tail ---\n{tail}"
            )
        time.sleep(2)


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    api: str
    log: Path
    token: str = ""

    # ---- REST API (what the UI and users call) -----------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.api}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")
        except urllib.error.URLError as exc:  # not listening (yet)
            return 0, str(exc)

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> tuple[int, Any]:
        """What the UI's trigger form sends."""
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})

    # ---- the metadata DB, read-only, for assertions ------------------------------------
    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.root / 'home' / 'airflow.db'}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT run_id, run_type, state, data_interval_start, data_interval_end FROM dag_run WHERE dag_id = ?",
            dag_id,
        )
        keys = ("run_id", "run_type", "state", "start", "end")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def task(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        rows = self.query(
            "SELECT state, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            dag_id,
            run_id,
            task_id,
        )
        return dict(zip(("state", "start", "end"), rows[0], strict=True)) if rows else {}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        rows = self.query(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = ?",
            dag_id,
            run_id,
            task_id,
            key,
        )
        return json.loads(rows[0][0]) if rows else None

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        return next((r["state"] for r in self.runs(dag_id) if r["run_id"] == run_id), None)

    # ---- the lakehouse -------------------------------------------------------------------
    def write_raw(self, batches: int, *tables: str) -> None:
        subprocess.run(
            [sys.executable, "-c", WRITE_RAW, str(self.root / "warehouse"), str(batches), str(ROWS), *tables],
            env=self.env,
            cwd=REPO,
            check=True,
            capture_output=True,
            timeout=600,
        )

    def snapshots(self, topic: str) -> list[tuple[int, datetime]]:
        """Raw's snapshots, oldest first, with their commit times."""
        from pyiceberg.table import StaticTable

        table = StaticTable.from_metadata(f"file://{self.root / 'warehouse' / 'raw_db' / topic}")
        return sorted(
            ((s.snapshot_id, datetime.fromtimestamp(s.timestamp_ms / 1000, UTC)) for s in table.snapshots()),
            key=lambda s: s[1],
        )

    def checkpoints(self, topic: str) -> tuple[int | None, int | None]:
        from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook

        state = IcebergSnapshotHook(CatalogSpec("hadoop", str(self.root / "warehouse"))).read_topic_state(topic)
        return state.curated_checkpoint, state.semantic_checkpoint

    def rows(self, namespace: str, table: str, after_run: str | None = None) -> list[dict[str, Any]]:
        """An output table's rows (as of the last commit of DAG run ``after_run``, else now),
        without the columns that differ run to run or table to table."""
        from pyiceberg.table import StaticTable

        location = f"file://{self.root / 'warehouse' / namespace / table}"
        iceberg = StaticTable.from_metadata(location)
        snapshot_id = None
        if after_run is not None:
            commits = [
                s
                for s in iceberg.snapshots()
                if ((s.summary or {}).get("unified-job.run-id") or "").endswith(after_run)
            ]
            assert commits, f"no commit of run {after_run} in {namespace}.{table}"
            snapshot_id = max(commits, key=lambda s: s.timestamp_ms).snapshot_id
        rows = iceberg.scan(snapshot_id=snapshot_id).to_arrow().to_pylist()
        kept = [{k: v for k, v in r.items() if k not in ("_run_id", "_raw_snapshot_id")} for r in rows]
        return sorted(kept, key=lambda r: json.dumps(r, sort_keys=True, default=str))

    def current_snapshot(self, namespace: str, table: str) -> int | None:
        from pyiceberg.table import StaticTable

        snapshot = StaticTable.from_metadata(f"file://{self.root / 'warehouse' / namespace / table}").current_snapshot()
        return None if snapshot is None else snapshot.snapshot_id

    def make(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "-s", "-C", str(REPO), *args, *self._make_vars()],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def _make_vars(self) -> list[str]:
        return [f"AIRFLOW_HOME_DIR={self.root / 'home'}", f"DAGS_DIR={self.root / 'dags'}"]


def _topic_yaml(root: Path, topic: str, extra: str, env: str = "") -> str:
    return textwrap.dedent(
        f"""\
        topic: {topic}
        start_date: 2025-01-01
        retries: 0
        runtime: local
        storage:
          warehouse: {root / "warehouse"}
          contracts_dir: {root / "contracts"}
          expectations_dir: {root / "expectations"}
          run_reports_dir: {root / "reports"}
        local:
          project_dir: {REPO}
          env: {{SPARK_DRIVER_MEMORY: 1g, SPARK_SHUFFLE_PARTITIONS: "2", TQDM_DISABLE: "1"{env}}}
        maintenance: {{delete_file_threshold: null, expire_output_snapshots_after_hours: null}}
        """
    ) + textwrap.dedent(extra)


def _project(root: Path) -> None:
    """Contracts, suites and a dags/ copy with this module's two topics only."""
    (root / "contracts").mkdir()
    (root / "expectations").mkdir()
    contract = (REPO / "contracts" / "orders.yaml").read_text()
    suite = (REPO / "expectations" / "orders.json").read_text()
    for topic in ("orders", "orders_capped", "orders_whole", "orders_assets"):
        (root / "contracts" / f"{topic}.yaml").write_text(contract.replace("topic: orders", f"topic: {topic}", 1))
        (root / "expectations" / f"{topic}.json").write_text(suite)
    dags = root / "dags"
    shutil.copytree(DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    for old in [*dags.glob("unified__*.py"), dags / "forget_subject.py", *(dags / "topics").glob("*.yaml")]:
        old.unlink()
    wait = "wait_for_data: {poke_interval_seconds: 5, timeout_minutes: 1}\n"
    # orders' jobs wait at the barrier until two parties arrived: the backfill test is the
    # second, once its backfill exists, so the live job is still running when it is created
    held = f", {BARRIER_ENV}: planning, {BARRIER_DIR_ENV}: {root / 'barrier-orders'}, {BARRIER_PARTIES_ENV}: '2'"
    (dags / "topics" / "orders.yaml").write_text(_topic_yaml(root, "orders", 'schedule: "* * * * *"\n' + wait, held))
    capped = f"schedule: null\nmax_rows_per_run: {ROWS}\n" + wait
    (dags / "topics" / "orders_capped.yaml").write_text(_topic_yaml(root, "orders_capped", capped))
    (dags / "topics" / "orders_assets.yaml").write_text(_topic_yaml(root, "orders_assets", "schedule: null\n" + wait))
    # the repository's example consumers, pointed at this module's orders_assets
    example = (DAGS / "example_consumers__orders.py").read_text()
    assert 'TOPIC = "orders"\n' in example
    (dags / "example_consumers__orders.py").write_text(
        example.replace('TOPIC = "orders"\n', 'TOPIC = "orders_assets"\n')
    )
    subprocess.run(
        [sys.executable, "-m", "lakehouse_unified.dag_files", "sync", str(dags)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(PLUGINS)])},
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the standalone and every process below it (jobs run in their own sessions)."""
    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=30)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which("java") is None:
        pytest.skip("no Java: the job's local Spark cannot start")
    root = tmp_path_factory.mktemp("scheduler-e2e")
    _project(root)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key not in ("PYTEST_CURRENT_TEST", "VIRTUAL_ENV")
    }
    env.update(
        {
            # `make` puts .venv/bin on PATH; start from a PATH without it, as a new shell has
            "PATH": os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "PII_HASH_KEY": "scheduler-e2e-only-hmac-key-0123456789",
            "TQDM_DISABLE": "1",
        }
    )
    stack_env_ready = Stack(root=root, env=env, api="", log=root / "standalone.log")
    stack_env_ready.write_raw(1, "raw_db.orders")  # batch A of the backfill scenario, before Airflow runs
    log = root / "standalone.log"
    stack = Stack(root=root, env=env, api=f"http://127.0.0.1:{port}", log=log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "-s", "-C", str(REPO), "airflow-standalone", *stack._make_vars()],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        passwords = root / "home" / "simple_auth_manager_passwords.json.generated"
        wait_for(
            "the api-server", lambda: passwords.exists() and stack.request("GET", "/api/v2/version")[0] == 200, 240, log
        )
        user, password = next(iter(json.loads(passwords.read_text()).items()))
        status, body = stack.request("POST", "/auth/token", {"username": user, "password": password})
        assert status in (200, 201), body
        stack.token = body["access_token"]
        for dag_id in (DAG_ORDERS, DAG_CAPPED, DAG_ASSETS, *CONSUMERS.values()):  # paused at creation: tests unpause
            wait_for(f"{dag_id} parsed", lambda d=dag_id: stack.request("GET", f"/api/v2/dags/{d}")[0] == 200, 180, log)
        yield stack
    finally:
        _stop(process)
        leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(root) in " ".join(p.info["cmdline"] or [])]
        for p in leftovers:
            p.kill()
        assert not leftovers, f"processes outlived the standalone: {[p.info['cmdline'][:3] for p in leftovers]}"


_CDP_IDS = itertools.count(1)


class Browser:
    """Headless Chromium driven over the DevTools protocol, signed in to the stack's UI
    with its token (the ``_token`` cookie the UI and the api-server read)."""

    def __init__(self, ws: Any, stack: Stack) -> None:
        self.ws, self.stack = ws, stack

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One protocol call: its result (events in between are skipped)."""
        call_id = next(_CDP_IDS)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == call_id:
                assert "error" not in message, message
                return dict(message.get("result") or {})

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True).get("result", {}).get("value")

    def open(self, url: str, ready: str, what: str) -> Any:
        """Navigate to ``url``; the value of the JS expression ``ready`` once it is truthy."""
        self.call("Page.navigate", url=url)
        return wait_for(what, lambda: self.evaluate(ready), 90, self.stack.log)


@contextlib.contextmanager
def browser(stack: Stack) -> Iterator[Browser]:
    from websockets.sync.client import connect

    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("Chromium is not installed: `make setup` installs it (Debian: apt-get install chromium)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="chromium-") as home:
        env = {**os.environ, "HOME": home, "TMPDIR": home, "XDG_CONFIG_HOME": f"{home}/.config"}
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={home}/profile"]
        command += [f"--remote-debugging-port={port}", "--remote-allow-origins=*", "about:blank"]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:

            def page_target() -> str | None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                        targets = json.loads(resp.read())
                except OSError:
                    return None
                return next((t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), None)

            target = wait_for("Chromium's debugging port", page_target, 60, stack.log)
            with connect(target, max_size=None) as ws:
                session = Browser(ws, stack)
                session.call("Network.enable")
                session.call("Network.setCookie", name="_token", value=stack.token, url=stack.api)
                yield session
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _sleep_until(t: datetime) -> None:
    time.sleep(max(0.0, (t - datetime.now(UTC)).total_seconds()))


def _db_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text[10:] else datetime.fromisoformat(text)


def _wait_run(stack: Stack, dag_id: str, run_id: str) -> str:
    return wait_for(
        f"{dag_id} run {run_id}",
        lambda: (state := stack.run_state(dag_id, run_id)) in FINISHED and state,
        420,
        stack.log,
    )


@dataclass(frozen=True)
class CappedBacklog:
    snapshots: list[int]  # orders_capped's raw snapshots, oldest first
    run_ids: list[str]  # the three manual runs that took them


@pytest.fixture(scope="module")
def capped_backlog(stack: Stack) -> CappedBacklog:
    """Three raw batches in ``orders_capped`` (and ``orders_whole``), taken by three
    manual runs of one batch each; any test of the module may come first."""
    stack.write_raw(3, "raw_db.orders_capped", "raw_db.orders_whole")
    capped = [s for s, _ in stack.snapshots("orders_capped")]
    status, body = stack.request("PATCH", f"/api/v2/dags/{DAG_CAPPED}", {"is_paused": False})
    assert status == 200, body
    run_ids = []
    for _ in range(3):  # three manual runs queue behind each other (max_active_runs 1)
        status, body = stack.trigger(DAG_CAPPED, {})
        assert status == 200, body
        run_ids.append(body["dag_run_id"])
    for run_id in run_ids:
        assert _wait_run(stack, DAG_CAPPED, run_id) == "success"
    return CappedBacklog(capped, run_ids)


def test_a_row_capped_backlog_is_taken_in_slices_equal_to_one_unsliced_run(
    stack: Stack, capped_backlog: CappedBacklog
) -> None:
    started = time.monotonic()
    capped, run_ids = capped_backlog.snapshots, capped_backlog.run_ids
    counts = [stack.xcom(DAG_CAPPED, run_id, "publish_outcome", "counts") for run_id in run_ids]
    assert [c["rows_read"] for c in counts] == [ROWS, ROWS, ROWS], counts
    assert [c["backlog_rows"] for c in counts] == [2 * ROWS, ROWS, 0], counts
    assert [c["to_snapshot_inclusive"] for c in counts] == [str(s) for s in capped], counts
    assert stack.checkpoints("orders_capped") == (capped[-1], capped[-1])

    # the same raw events in one unsliced run of the job, outside Airflow
    whole = subprocess.run(
        [
            sys.executable,
            "-m",
            "spark_jobs.unified_job",
            "--topic",
            "orders_whole",
            "--warehouse",
            str(stack.root / "warehouse"),
            "--contracts-dir",
            str(stack.root / "contracts"),
            "--expectations-dir",
            str(stack.root / "expectations"),
            "--run-report",
            str(stack.root / "reports" / "orders_whole.json"),
        ],
        env={**stack.env, "SPARK_DRIVER_MEMORY": "1g", "SPARK_SHUFFLE_PARTITIONS": "2"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    assert json.loads((stack.root / "reports" / "orders_whole.json").read_text())["raw"]["rows_read"] == 3 * ROWS
    for namespace, table in (("curated_db", "{}"), ("semantic_db", "{}"), ("semantic_db", "{}_errors")):
        sliced, unsliced = (
            stack.rows(namespace, table.format("orders_capped")),
            stack.rows(namespace, table.format("orders_whole")),
        )
        assert sliced == unsliced, f"{namespace}.{table.format('orders_capped')} differs from the unsliced run"
    assert stack.rows("curated_db", "orders_capped")
    print(f"row-capped scenario: {time.monotonic() - started:.0f}s")


def test_a_rest_triggered_run_with_params_reprocesses_one_layer(stack: Stack, capped_backlog: CappedBacklog) -> None:
    started = time.monotonic()
    assert stack.checkpoints("orders_capped")[0] == capped_backlog.snapshots[-1]
    # a bad parameter is refused by the API, with the parameter named
    status, body = stack.trigger(DAG_CAPPED, {"layers": "everything"})
    assert status == 400 and "layers" in json.dumps(body), body
    status, body = stack.trigger(DAG_CAPPED, {"from_snapshot_exclusive": "latest"})
    assert status == 400 and "from_snapshot_exclusive" in json.dumps(body) and "none" in json.dumps(body), body

    checkpoints = stack.checkpoints("orders_capped")
    semantic_snapshot = stack.current_snapshot("semantic_db", "orders_capped")
    curated = stack.rows("curated_db", "orders_capped")
    conf = {"from_snapshot_exclusive": "none", "layers": "curated", "no_checkpoint": True}
    status, body = stack.trigger(DAG_CAPPED, conf)
    assert status == 200, body
    run_id = body["dag_run_id"]
    assert _wait_run(stack, DAG_CAPPED, run_id) == "success"
    counts = stack.xcom(DAG_CAPPED, run_id, "publish_outcome", "counts")
    # the whole history, past the row cap (an explicit range is taken whole), curated only
    assert counts["rows_read"] == 3 * ROWS and counts["to_snapshot_inclusive"] == str(checkpoints[0]), counts
    assert counts["semantic_status"] in ("skipped", "not_run"), counts
    assert stack.current_snapshot("semantic_db", "orders_capped") == semantic_snapshot
    assert stack.checkpoints("orders_capped") == checkpoints
    assert stack.rows("curated_db", "orders_capped") == curated
    print(f"REST trigger scenario: {time.monotonic() - started:.0f}s")


def test_a_backfill_waits_for_the_live_job_and_reprocesses_exactly_its_intervals_commits(stack: Stack) -> None:
    """Raw batch A was written before Airflow started (the other tests ran since); now batch
    B, then the live schedule is unpaused and, while its first run is in its job task
    (taking A and B), a backfill over [minute(A) - 1, minute(A)] is created: one interval
    without a commit, one with A. The live schedule starts at least three minutes after A
    (its first run's interval is one of the last two minutes), so no live run lies in the
    backfill's window and the backfill creates its own runs; clearing existing runs is
    Airflow's own path, and on SQLite under load it can fail ("database is locked": docs).
    Creating the backfill's own runs can hit that lock too: ``make airflow-backfill`` retries
    then (Airflow removes the partial backfill first), as a user's shell would."""
    started = time.monotonic()
    (a, a_at), *_ = stack.snapshots("orders")
    _sleep_until(_minute(a_at) + timedelta(minutes=3, seconds=1))
    stack.write_raw(1, "raw_db.orders")
    b = stack.snapshots("orders")[-1][0]
    status, body = stack.request("PATCH", f"/api/v2/dags/{DAG_ORDERS}", {"is_paused": False})
    assert status == 200, body

    def live_job_running() -> str | None:
        for r in stack.runs(DAG_ORDERS):
            job = stack.task(DAG_ORDERS, r["run_id"], "run_unified_job")
            if r["run_type"] != "backfill" and job.get("state") == "running":
                return str(r["run_id"])
        return None

    live = wait_for("the live run in its job task", live_job_running, 300, stack.log)
    window = [_minute(a_at) - timedelta(minutes=1), _minute(a_at)]
    try:
        done = stack.make("airflow-backfill", "TOPIC=orders", f"FROM={_iso(window[0])}", f"TO={_iso(window[1])}")
    finally:  # the live job waits at the barrier until the backfill exists (see _project)
        barrier = stack.root / "barrier-orders"  # the job creates it on arrival: it may not be there yet
        barrier.mkdir(exist_ok=True)
        (barrier / "test.arrived").write_text("the backfill exists")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def all_done() -> list[dict[str, Any]]:
        runs = [r for r in stack.runs(DAG_ORDERS) if r["run_type"] == "backfill"]
        finished = len(runs) == 2 and all(r["state"] in FINISHED for r in runs)
        return runs if finished and stack.run_state(DAG_ORDERS, live) in FINISHED else []

    runs = {
        _db_time(r["start"]): r for r in wait_for("the backfill's two runs and the live run", all_done, 600, stack.log)
    }
    assert set(runs) == set(window), runs
    without, with_commit = runs[window[0]], runs[window[1]]
    assert stack.run_state(DAG_ORDERS, live) == with_commit["state"] == without["state"] == "success"

    # the live run took A and B and moved the checkpoints; the backfill's job waited for it
    assert stack.xcom(DAG_ORDERS, live, "publish_outcome", "outcome") == "FULL_SUCCESS"
    live_job = stack.task(DAG_ORDERS, live, "run_unified_job")
    backfill_job = stack.task(DAG_ORDERS, with_commit["run_id"], "run_unified_job")
    # ...held back, not merely later: its run existed while the live job was still running
    ((created,),) = stack.query(
        "SELECT created_at FROM dag_run WHERE dag_id = ? AND run_id = ?", DAG_ORDERS, with_commit["run_id"]
    )
    assert _db_time(created) < _db_time(live_job["end"]) <= _db_time(backfill_job["start"]), (
        created,
        live_job,
        backfill_job,
    )
    # the interval holding A's commit reprocessed exactly A (raw's first snapshot: from the beginning)
    assert stack.xcom(DAG_ORDERS, with_commit["run_id"], "publish_outcome", "outcome") == "FULL_SUCCESS"
    counts = stack.xcom(DAG_ORDERS, with_commit["run_id"], "publish_outcome", "counts")
    assert counts["to_snapshot_inclusive"] == str(a) and counts["from_snapshot_exclusive"] in (None, "none"), counts
    assert counts["rows_read"] == ROWS
    # the interval without a commit ended NO_NEW_DATA, with its outcome in XCom
    assert stack.task(DAG_ORDERS, without["run_id"], "run_unified_job")["state"] == "skipped"
    assert stack.xcom(DAG_ORDERS, without["run_id"], "publish_outcome", "outcome") == "NO_NEW_DATA"
    # the backfill (after the live run) did not move the live checkpoints, nor change a row
    assert stack.checkpoints("orders") == (b, b)
    for namespace in ("curated_db", "semantic_db"):
        assert stack.rows(namespace, "orders") == stack.rows(namespace, "orders", after_run=live), namespace
    print(f"backfill scenario: {time.monotonic() - started:.0f}s")


FAILING_SUITE_EXPECTATION = {
    "type": "expect_column_value_lengths_to_equal",
    "kwargs": {"column": "order_id", "value": 2},
    "meta": {"action": "fail"},
}


def test_a_layer_consumer_starts_exactly_when_its_layer_advances(stack: Stack) -> None:
    """The example consumers (dags/example_consumers__orders.py, pointed at orders_assets):
    FULL_SUCCESS starts both once, with the run's table snapshot in the event; CURATED_ONLY
    (a suite whose ``fail`` expectation fails) starts the curated one only; NO_NEW_DATA
    starts none."""
    started = time.monotonic()
    for dag_id in (DAG_ASSETS, *CONSUMERS.values()):
        status, body = stack.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        assert status == 200, body

    def events() -> list[tuple[str, dict[str, Any]]]:
        rows = stack.query(
            "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE a.name LIKE '%orders_assets%' ORDER BY e.id"
        )
        return [(name, json.loads(extra)) for name, extra in rows]

    def consumer_runs(layer: str, count: int) -> list[str]:
        runs = [r for r in stack.runs(CONSUMERS[layer]) if r["state"] in FINISHED]
        return [str(r["run_id"]) for r in runs] if len(runs) >= count else []

    def run_job(conf: dict[str, Any]) -> str:
        status, body = stack.trigger(DAG_ASSETS, conf)
        assert status == 200, body
        run_id = str(body["dag_run_id"])
        _wait_run(stack, DAG_ASSETS, run_id)
        return run_id

    # 1. FULL_SUCCESS: one event per table that advanced, each consumer started once
    stack.write_raw(1, "raw_db.orders_assets")
    first = run_job({})
    counts = stack.xcom(DAG_ASSETS, first, "publish_outcome", "counts")
    assert stack.xcom(DAG_ASSETS, first, "publish_outcome", "outcome") == "FULL_SUCCESS", counts
    announced = dict(events())
    errors = {"semantic_db.orders_assets_errors"} if counts["semantic_rows_errors"] else set()
    assert set(announced) == {"curated_db.orders_assets", "semantic_db.orders_assets", *errors}, counts
    semantic_event = announced["semantic_db.orders_assets"]
    assert semantic_event["snapshot_id"] == str(stack.current_snapshot("semantic_db", "orders_assets"))
    assert semantic_event["checkpoint"] == counts["semantic_checkpoint_after"]
    assert semantic_event["rows"] == counts["semantic_rows_valid"] > 0
    assert semantic_event["airflow_run_id"] == first
    # the job task links to the run's validation page (what the UI's task view shows)
    status, links = stack.request(
        "GET", f"/api/v2/dags/{DAG_ASSETS}/dagRuns/{first}/taskInstances/run_unified_job/links"
    )
    assert status == 200, links
    link = links["extra_links"]["Data Docs (this run)"]
    assert counts["data_docs_url"] == semantic_event["data_docs_url"] and str(counts["data_docs_url"]).startswith(
        "file://"
    )
    site_page = str(counts["data_docs_url"]).split("/reports/data_docs/", 1)[1]
    assert link == f"/lakehouse-data-docs/{DAG_ASSETS}/{quote(unquote(site_page))}", link
    # the UI's task page shows it (Airflow drops file:// links: the api-server serves the local
    # site), and it opens the run's page, styled from the site itself; not without signing in
    anonymous = urllib.request.Request(urljoin(stack.api, link))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=30)
    assert refused.value.code in (401, 403)
    task_page = f"{stack.api}/dags/{DAG_ASSETS}/runs/{quote(first, safe='')}/tasks/run_unified_job/details"
    shown = "[...document.querySelectorAll('a')].find(a => a.textContent.trim() == 'Data Docs (this run)')?.href"
    with browser(stack) as ui:
        href = ui.open(task_page, shown, "the Data Docs link on the task's page")
        assert href == urljoin(stack.api, link)
        # bootstrap-table's widgets: the page's scripts (jQuery, Bootstrap) came from the site's static/
        widgets = "document.readyState == 'complete' && !!document.querySelector('.bootstrap-table')"
        ui.open(href, widgets, "the run's Data Docs page, its scripts run")
        text = ui.evaluate("document.body.innerText")
    assert "Evaluated Expectations" in text and link.endswith("/orders_assets.html"), text[:500]
    for layer in ("curated", "semantic"):
        (consumer,) = wait_for(f"{layer} consumer run", lambda layer=layer: consumer_runs(layer, 1), 300, stack.log)
        assert stack.run_state(CONSUMERS[layer], consumer) == "success"
        result = stack.xcom(CONSUMERS[layer], consumer, "count_changed_rows", "return_value")
        # the rows the consumer read are exactly what the run wrote to its layer
        expected = counts["semantic_rows_valid"] if layer == "semantic" else counts["curated_rows"]
        assert result["rows"] == expected and result["run_ids"] == [semantic_event["run_id"]], result

    # 2. CURATED_ONLY: curated's consumer starts again, semantic's does not
    suite_path = stack.root / "expectations" / "orders_assets.json"
    good_suite = suite_path.read_text()
    suite = json.loads(good_suite)
    suite["expectations"].append(FAILING_SUITE_EXPECTATION)
    suite_path.write_text(json.dumps(suite))
    stack.write_raw(1, "raw_db.orders_assets")
    try:
        second = run_job({})
    finally:
        suite_path.write_text(good_suite)
    assert stack.xcom(DAG_ASSETS, second, "publish_outcome", "outcome") == "CURATED_ONLY"
    assert [name for name, _ in events()][len(announced) :] == ["curated_db.orders_assets"]
    wait_for("the curated consumer's second run", lambda: consumer_runs("curated", 2), 300, stack.log)

    # 3. NO_NEW_DATA (nothing after raw's current snapshot): no event
    before = len(events())
    current = str(stack.snapshots("orders_assets")[-1][0])
    third = run_job({"from_snapshot_exclusive": current})
    assert stack.xcom(DAG_ASSETS, third, "publish_outcome", "outcome") == "NO_NEW_DATA"
    assert len(events()) == before
    time.sleep(15)  # the scheduler had time to start a consumer, if one had been queued
    assert len(consumer_runs("semantic", 1)) == 1 and len(consumer_runs("curated", 2)) == 2
    assert not stack.query("SELECT * FROM asset_dag_run_queue")
    print(f"asset scenario: {time.monotonic() - started:.0f}s")
