"""``forget__<topic>``: the DAG and its params, the forget command's arguments, the operator, and
one real run end to end (``airflow dags test``, the real forget command on a real warehouse).

The EMR Serverless request of ``forget_subject`` is tested with the job's in
``test_airflow_emr_serverless.py`` (same botocore model, Stubber and moto).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowException, AirflowFailException, ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization
from airflow_e2e_stack import Stack
from airflow_testkit import emr_topic_yaml, local_topic_yaml, make_context, topic_config
from conftest import DAGS, REPO
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.forget_dag import TASK_ID
from lakehouse_unified.hooks.unified_job import FORGET_MODULE, LocalUnifiedJobHook
from lakehouse_unified.job_arguments import forget_report_uri, job_args_for
from lakehouse_unified.operators._common import forget_request
from lakehouse_unified.operators.forget import ForgetSubjectOperator
from lakehouse_unified.run_plan import RunPlan

from spark_jobs.forget.request import REMEMBER_DAYS, parse_args

TOPICS = sorted(p.stem for p in (DAGS / "topics").glob("*.yaml"))
PARAMS = ("field", "values_file", "keys_file", "remember_days")
RUN_ID = "manual__2025-04-01T00:00:00+00:00"
VALUE = "ann.smith@example.com"  # the person's value: only ever in a file


def forget_context(conf: dict[str, Any]) -> dict[str, Any]:
    """A task context of a ``forget__<topic>`` run triggered with ``conf`` (params resolved as Airflow does)."""
    context = make_context(run_id=RUN_ID, run_type="manual")
    context["dag_run"].conf = dict(conf)
    context["params"] = {"field": None, "values_file": None, "keys_file": None, "remember_days": REMEMBER_DAYS, **conf}
    return context


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


@pytest.mark.parametrize("topic", TOPICS)
def test_forget_dag_is_manual_one_task_one_run_at_a_time(dagbag: DagBag, topic: str) -> None:
    dag = dagbag.dags[f"forget__{topic}"]
    assert set(dag.task_dict) == {TASK_ID}
    assert dag.schedule is None and type(dag.timetable).__name__ == "NullTimetable"  # manual runs only
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert {"lakehouse", "forget", f"topic:{topic}"} <= set(dag.tags)
    assert set(dag.params) == set(PARAMS)  # no `value`/`values`: clear values never in a run's conf
    assert dag.params["remember_days"] == REMEMBER_DAYS
    assert "Why no `value` param" in (dag.doc_md or "")
    task = dag.task_dict[TASK_ID]
    assert isinstance(task, ForgetSubjectOperator)  # the repository's topics run locally
    assert task.max_active_tis_per_dag == 1 and task.retries >= 1
    assert task.conf_keys == PARAMS  # a run's conf may hold the params, nothing else
    assert task.on_failure_callback  # the topic's alert target hears of a forget that failed
    restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert set(restored.task_dict) == {TASK_ID} and set(restored.params) == set(PARAMS)


def test_params_take_file_locations_never_values(dagbag: DagBag) -> None:
    params = dagbag.dags["forget__orders"].params
    for name in ("values_file", "keys_file"):
        param = params.get_param(name)
        for location in ("/srv/erasure/req-42.txt", "s3://privacy-requests/erasure/req-42.txt", None):
            assert param.resolve(location) == location
        for not_a_file in (VALUE, "req-42.txt", "s3://privacy-requests", ""):
            with pytest.raises(ParamValidationError):  # refused at trigger time: no run, no stored conf
                param.resolve(not_a_file)
    assert params.get_param("field").resolve("customer_email") == "customer_email"
    with pytest.raises(ParamValidationError):
        params.get_param("field").resolve(VALUE)
    with pytest.raises(ParamValidationError):
        params.get_param("remember_days").resolve(0)


def test_arguments_carry_the_files_never_the_values_and_the_command_reads_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    config = topic_config(local_topic_yaml(), tmp_path)
    values, keys = tmp_path / "values.txt", tmp_path / "keys.txt"
    values.write_text(f"{VALUE}\n\n")
    keys.write_text("o-17\n")
    context = forget_context({"field": "customer_email", "values_file": str(values), "keys_file": str(keys)})
    request = forget_request(config, context, PARAMS)
    argv = request.args.to_argv()
    report = f"{tmp_path}/reports/orders/forget/manual__2025-04-01T00_00_00_00_00.json"
    assert request.report == report == forget_report_uri(config, RUN_ID)
    assert argv == [
        "--topic", "orders",
        "--contracts-dir", f"{tmp_path}/contracts",
        "--expectations-dir", f"{tmp_path}/expectations",
        "--warehouse", f"{tmp_path}/lakehouse/warehouse",
        "--catalog-type", "hadoop",
        "--request-id", f"forget__orders__{RUN_ID}",
        "--field", "customer_email",
        "--values-file", str(values),
        "--keys-file", str(keys),
        "--report", report,
        "--catch-up",
    ]  # fmt: skip
    assert not any(VALUE in a or "o-17" in a for a in argv)
    # the command parses exactly this request back, and finds the subject in the files
    parsed = parse_args(argv)
    assert parsed == request.args
    assert (parsed.subject_values(), parsed.subject_keys()) == ((VALUE,), ("o-17",))
    # where the job reads and writes: the job's own arguments for the topic
    job = job_args_for(config, RunPlan(kind="incremental"), job_run_id="r", run_report="x")
    assert (parsed.warehouse, parsed.catalog_type, parsed.contracts_dir, parsed.expectations_dir) == (
        job.warehouse,
        job.catalog_type,
        job.contracts_dir,
        job.expectations_dir,
    )
    assert forget_request(config, context, PARAMS) == request  # every try of the run: the same request
    remembered = forget_request(config, forget_context({"keys_file": str(keys), "remember_days": 90}), PARAMS)
    assert remembered.args.to_argv()[-3:] == ["--remember-days", "90", "--catch-up"]


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        ({}, "nothing to forget"),
        ({"values_file": "/srv/erasure/req-42.txt"}, "need --field"),
        ({"field": "customer_email"}, "needs --value or --values-file"),
        (
            {"field": "customer_email", "values_file": "/srv/erasure/req-42.txt", "value": VALUE},
            "keys that are not params of this DAG: ['value']",
        ),
    ],
)
def test_a_request_that_cannot_run_fails_without_retry_before_spark(
    tmp_path: Path, conf: dict[str, Any], problem: str
) -> None:
    op = ForgetSubjectOperator(
        task_id=TASK_ID, topic_config=topic_config(local_topic_yaml(), tmp_path), conf_keys=PARAMS
    )
    op.__dict__["hook"] = None  # any use of the subprocess hook would raise
    with pytest.raises(AirflowFailException, match=problem.replace("[", r"\[").replace("]", r"\]")) as info:
        op.execute(forget_context(conf))
    assert VALUE not in str(info.value)  # the message names the key, never its value


def test_on_emr_serverless_the_files_must_be_on_s3(tmp_path: Path) -> None:
    config = topic_config(emr_topic_yaml(), tmp_path)
    local = forget_context({"field": "customer_email", "values_file": "/srv/erasure/req-42.txt"})
    with pytest.raises(AirflowFailException, match="upload them to s3://"):
        forget_request(config, local, PARAMS)
    on_s3 = forget_context({"field": "customer_email", "values_file": "s3://privacy/req-42.txt"})
    assert (
        forget_request(config, on_s3, PARAMS).report
        == "s3://lake/reports/payments/forget/manual__2025-04-01T00_00_00_00_00.json"
    )


def test_the_forget_command_runs_as_python_dash_m_whatever_the_jobs_launcher(tmp_path: Path) -> None:
    spark_submit = topic_config(local_topic_yaml(extra="local:\n  launcher: spark_submit\n"), tmp_path)
    hook = LocalUnifiedJobHook(runtime=spark_submit.local, project_dir=tmp_path, module=FORGET_MODULE)
    assert hook.command(["--topic", "orders"]) == [sys.executable, "-m", "spark_jobs.forget", "--topic", "orders"]


# ---- the operator's endings, with a stand-in command (the real one: the end-to-end test below) --------------

FAKE_FORGET = """\
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--report")
args, rest = p.parse_known_args()
print("fake forget args:", json.dumps(sys.argv[1:]), flush=True)
code = int(os.environ.get("FAKE_EXIT", "0"))
if os.environ.get("FAKE_REPORT", "1") == "1":
    with open(args.report, "w") as f:
        json.dump({"topic": "orders", "request_id": "r", "complete": code == 0, "keys": ["o-17"],
                   "reason": os.environ.get("FAKE_REASON"), "tables": {}}, f)
sys.exit(code)
"""


@pytest.fixture
def fake_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TopicConfig:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    package = tmp_path / "spark_jobs" / "forget"
    package.mkdir(parents=True)
    (tmp_path / "spark_jobs" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(FAKE_FORGET)
    (tmp_path / "reports" / "orders" / "forget").mkdir(parents=True)
    return topic_config(local_topic_yaml(), tmp_path)


def run_forget(config: TopicConfig) -> dict[str, Any]:
    op = ForgetSubjectOperator(task_id=TASK_ID, topic_config=config, conf_keys=PARAMS)
    return op.execute(forget_context({"keys_file": "/srv/erasure/keys.txt"}))


def test_complete_returns_this_runs_report(fake_project: TopicConfig, capsys: pytest.CaptureFixture[str]) -> None:
    stale = Path(forget_report_uri(fake_project, RUN_ID))
    stale.write_text(json.dumps({"complete": True, "reason": "a previous try's"}))
    report = run_forget(fake_project)
    assert report["complete"] is True and report["keys"] == ["o-17"] and report["reason"] is None
    logged = capsys.readouterr().out
    assert '"--keys-file", "/srv/erasure/keys.txt"' in logged and '"--catch-up"' in logged


@pytest.mark.parametrize(
    ("env", "error", "message"),
    [
        ({"FAKE_EXIT": "1", "FAKE_REASON": "a job run committed meanwhile"}, AirflowException, "exited with 1"),
        ({"FAKE_EXIT": "2", "FAKE_REPORT": "0"}, AirflowFailException, "exited with 2"),
        ({"FAKE_EXIT": "0", "FAKE_REPORT": "0"}, AirflowException, "wrote no report at .*/forget/manual__"),
        ({"FAKE_EXIT": "1", "FAKE_REPORT": "0"}, AirflowException, "wrote no report at "),
    ],
)
def test_not_complete_is_retried_a_usage_error_is_not(
    fake_project: TopicConfig,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(error, match=message) as info:
        run_forget(fake_project)
    assert isinstance(info.value, AirflowFailException) == (error is AirflowFailException)  # retried or not
    if "FAKE_REASON" in env:
        assert env["FAKE_REASON"] in str(info.value)


# ---- end to end ---------------------------------------------------------------------------------------------


@pytest.mark.airflow_e2e
def test_a_forget_run_erases_the_person_and_keeps_the_value_out_of_airflow(e2e_stack: Stack, tmp_path: Path) -> None:
    """A real job run of ``payments``, then ``airflow dags test forget__payments`` with a file of one
    e-mail address: the task succeeds with the command's complete report in XCom, the person's rows are
    gone from raw, curated and semantic, the others stay, and the address is nowhere in Airflow."""
    stack = e2e_stack
    dags = stack.dags("dags_forget", contracts_dir=stack.root / "contracts")
    job_env = {**stack.env, "SPARK_DRIVER_MEMORY": "1g", "SPARK_SHUFFLE_PARTITIONS": "2", "TQDM_DISABLE": "1"}
    locations = ["--warehouse", str(stack.root / "warehouse"), "--contracts-dir", str(stack.root / "contracts")]
    locations += ["--expectations-dir", str(stack.root / "expectations")]
    job = subprocess.run(
        [sys.executable, "-m", "spark_jobs.unified_job", "--topic", "payments", *locations],
        env=job_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert job.returncode == 0, (job.stdout + job.stderr)[-6000:]
    everyone = {f"p{i}" for i in range(20)}
    assert {r["order_id"] for r in stack.table_rows("semantic_db", "payments")} == everyone

    value = "c3@payments.example"  # p3's address
    request = tmp_path / "erasure-request.txt"
    request.write_text(f"{value}\n")
    date = "2025-04-01T00:00:00+00:00"
    output = stack.dags_test(
        dags, date, conf={"field": "email", "values_file": str(request)}, dag_id="forget__payments"
    )
    assert stack.task_states(date, dag_id="forget__payments") == {TASK_ID: "success"}, output[-8000:]

    report = stack.xcom(date, TASK_ID, "return_value", dag_id="forget__payments")
    assert isinstance(report, dict), report
    assert report["complete"] is True and report["topic"] == "payments", report
    assert report["request_id"].startswith("forget__payments__manual__") and report["keys"] == ["p3"], report
    for role in ("raw", "curated", "semantic"):
        assert report["tables"][role]["keys"] == ["p3"], report["tables"]
    assert report == json.loads(next((stack.root / "reports" / "payments" / "forget").glob("*.json")).read_text())

    assert {r["idempotency_key"] for r in stack.table_rows("raw_db", "payments")} == everyone - {"p3"}
    assert {r["_idempotency_key"] for r in stack.table_rows("curated_db", "payments")} == everyone - {"p3"}
    assert {r["order_id"] for r in stack.table_rows("semantic_db", "payments")} == everyone - {"p3"}

    # The address is in the request file only: not in the run's conf (the file's path is), not in the
    # task log, nowhere in Airflow's metadata DB (XCom, rendered fields...) nor its log folder.
    with sqlite3.connect(stack.root / "airflow.db") as db:
        (conf,) = db.execute("SELECT conf FROM dag_run WHERE dag_id = 'forget__payments'").fetchone()
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        everything = "\n".join(str(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))
    assert str(request) in str(conf) and value not in str(conf)
    assert value not in output and value not in everything
    logs = [p for p in (stack.root / "airflow_home" / "logs").rglob("*") if p.is_file()]  # none with `dags test`
    assert not [p for p in logs if value in p.read_text(errors="replace")]
    assert value not in json.dumps(report)

    # A run whose conf carries anything but the params fails at once, naming the key (not its value),
    # before any Spark starts; Airflow's own run context is what the check reads.
    later = "2025-04-02T00:00:00+00:00"
    conf = {"field": "email", "values_file": str(request), "value": "not-a-person"}
    output = stack.dags_test(dags, later, conf=conf, dag_id="forget__payments")
    assert stack.task_states(later, dag_id="forget__payments") == {TASK_ID: "failed"}, output[-4000:]
    assert "keys that are not params of this DAG: ['value']" in output and "spark_jobs.forget" not in output
