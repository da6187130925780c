"""``forget_subject``: the DAG and its params, planning a request over topics, the forget command's
arguments, the mapped operators, the summary, and one real run end to end (``airflow dags test``,
the real forget command on a real warehouse).

The EMR Serverless request of the forget is tested with the job's in ``test_airflow_emr_serverless.py``
(same botocore model, Stubber and moto), the mapped EMR task too.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.definitions.mappedoperator import MappedOperator
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    ParamValidationError,
)
from airflow.serialization.serialized_objects import DagSerialization
from airflow_e2e_stack import Stack
from airflow_testkit import emr_topic_yaml, local_topic_yaml, make_context, topic_config
from conftest import DAGS
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.forget_dag import (
    EMR_TASK_ID,
    FORGET_RETRIES,
    LOCAL_TASK_ID,
    PLAN_TASK_ID,
    SUMMARY_TASK_ID,
    emr_serverless_topic,
    local_topic,
)
from lakehouse_unified.hooks.unified_job import FORGET_MODULE, LocalUnifiedJobHook
from lakehouse_unified.job_arguments import forget_report_uri, job_args_for
from lakehouse_unified.notifiers.topic_alert import TaskTopicAlertNotifier, TopicAlertNotifier
from lakehouse_unified.operators._common import forget_request
from lakehouse_unified.operators.forget import (
    ForgetSubjectOnEmrServerlessOperator,
    ForgetSubjectOperator,
    PlanForgetOperator,
    SummarizeForgetOperator,
)
from lakehouse_unified.run_plan import RunPlan

from spark_jobs.forget.request import REMEMBER_DAYS, parse_args

TOPICS = sorted(p.stem for p in (DAGS / "topics").glob("*.yaml"))
PARAMS = ("topics", "field", "values_file", "keys_file", "remember_days")
TASKS = {PLAN_TASK_ID, LOCAL_TASK_ID, EMR_TASK_ID, SUMMARY_TASK_ID}
RUN_ID = "manual__2025-04-01T00:00:00+00:00"
VALUE = "ann.smith@example.com"  # the person's value: only ever in a file


def forget_context(conf: dict[str, Any]) -> dict[str, Any]:
    """A task context of a ``forget_subject`` run triggered with ``conf`` (params resolved as Airflow does)."""
    context = make_context(run_id=RUN_ID, run_type="manual")
    context["dag_run"].conf = dict(conf)
    defaults = {"topics": None, "field": None, "values_file": None, "keys_file": None, "remember_days": REMEMBER_DAYS}
    context["params"] = {**defaults, **conf}
    return context


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_one_manual_dag_plans_then_maps_one_forget_per_topic_then_summarizes(dagbag: DagBag) -> None:
    assert not [d for d in dagbag.dags if d.startswith("forget__")]  # no DAG per topic any more
    dag = dagbag.dags["forget_subject"]
    assert set(dag.task_dict) == TASKS
    assert {t: set(dag.task_dict[t].downstream_task_ids) for t in TASKS} == {
        PLAN_TASK_ID: {LOCAL_TASK_ID, EMR_TASK_ID, SUMMARY_TASK_ID},
        LOCAL_TASK_ID: {SUMMARY_TASK_ID},
        EMR_TASK_ID: {SUMMARY_TASK_ID},
        SUMMARY_TASK_ID: set(),
    }
    assert dag.schedule is None and type(dag.timetable).__name__ == "NullTimetable"  # manual runs only
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert {"lakehouse", "forget"} <= set(dag.tags)
    assert set(dag.params) == set(PARAMS)  # no `value`/`values`: clear values never in a run's conf
    assert dag.params["remember_days"] == REMEMBER_DAYS
    assert dag.params.get_param("topics").schema["items"]["enum"] == TOPICS  # the topic files' names
    assert "Why no `value` param" in (dag.doc_md or "")
    assert dag.task_dict[PLAN_TASK_ID].conf_keys == PARAMS  # a run's conf may hold the params, nothing else
    for task_id, operator in (
        (LOCAL_TASK_ID, ForgetSubjectOperator),
        (EMR_TASK_ID, ForgetSubjectOnEmrServerlessOperator),
    ):
        task = dag.task_dict[task_id]
        assert isinstance(task, MappedOperator) and task.operator_class is operator
        assert task.max_active_tis_per_dag == 1 and task.retries == FORGET_RETRIES >= 1
        assert task.partial_kwargs["conf_keys"] == PARAMS
        assert task.partial_kwargs["topics_dir"] == str(DAGS / "topics")
        assert task.map_index_template == "{{ task.topic }}"  # the grid names each instance's topic
        assert [type(c) for c in task.on_failure_callback] == [TaskTopicAlertNotifier]  # the topic's alerts
    assert dag.task_dict[SUMMARY_TASK_ID].trigger_rule == "all_done"
    restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert set(restored.task_dict) == TASKS and set(restored.params) == set(PARAMS)


def test_params_take_existing_topics_and_file_locations_never_values(dagbag: DagBag) -> None:
    params = dagbag.dags["forget_subject"].params
    topics = params.get_param("topics")
    assert topics.resolve(["orders", "payments"]) == ["orders", "payments"]
    for not_topics in ([], ["refunds"], ["orders", "orders"], "orders", None):
        with pytest.raises(ParamValidationError):  # refused at trigger time: no run
            topics.resolve(not_topics)
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


def test_parsing_reads_the_topic_files_names_not_their_contents(tmp_path: Path) -> None:
    """A topic file that is not even YAML is a choice of ``topics``; it fails the runs naming it (planning)."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "forget_subject.py", dags)
    (dags / "topics").mkdir()
    (dags / "topics" / "refunds.yaml").write_text("topic: [refunds\n")
    (dags / "topics" / "orders.yaml").write_text((DAGS / "topics" / "orders.yaml").read_text())
    bag = DagBag(dag_folder=str(dags))
    assert bag.import_errors == {}
    assert bag.dags["forget_subject"].params.get_param("topics").schema["items"]["enum"] == ["orders", "refunds"]
    plan = PlanForgetOperator(task_id=PLAN_TASK_ID, topics_dir=str(dags / "topics"), conf_keys=PARAMS)
    with pytest.raises(AirflowFailException, match=r"topic 'refunds': .*refunds\.yaml: not valid YAML") as info:
        plan.execute(forget_context({"topics": ["orders", "refunds"], "keys_file": "/srv/keys.txt"}))
    assert "Nothing was forgotten" in str(info.value)


# ---- plan_forget: the request checked once, the topics split by runtime -------------------------------------


@pytest.fixture
def mixed_topics(tmp_path: Path) -> Path:
    """``orders`` on the worker, ``payments`` on EMR Serverless: ``<tmp>/dags/topics``."""
    topic_config(local_topic_yaml(), tmp_path)
    topic_config(emr_topic_yaml(), tmp_path)
    return tmp_path / "dags" / "topics"


def plan(topics_dir: Path, conf: dict[str, Any]) -> list[dict[str, str]]:
    return PlanForgetOperator(task_id=PLAN_TASK_ID, topics_dir=str(topics_dir), conf_keys=PARAMS).execute(
        forget_context(conf)
    )


def test_a_mixed_request_is_split_by_runtime_and_each_mapped_task_gets_its_topics(mixed_topics: Path) -> None:
    conf = {"topics": ["payments", "orders", "payments"], "field": "customer_email", "values_file": "s3://p/r.txt"}
    planned = plan(mixed_topics, conf)
    assert planned == [{"topic": "payments", "runtime": "emr_serverless"}, {"topic": "orders", "runtime": "local"}]

    def expand(pick: Any) -> list[str | None]:  # what each mapped instance's `topic` resolves to (None: skipped)
        topics: list[str | None] = []
        for entry in planned:
            try:
                topics.append(pick(entry))
            except AirflowSkipException:
                topics.append(None)
        return topics

    assert expand(local_topic) == [None, "orders"]
    assert expand(emr_serverless_topic) == ["payments", None]


def test_an_unknown_topic_refuses_the_whole_request_naming_it(mixed_topics: Path) -> None:
    with pytest.raises(AirflowFailException, match=r"unknown topic\(s\) \['refunds'\]") as info:
        plan(mixed_topics, {"topics": ["orders", "refunds"], "keys_file": "/srv/erasure/keys.txt"})
    assert "topics: ['orders', 'payments']" in str(info.value) and "refunds.yaml" in str(info.value)


def test_emr_serverless_topics_need_the_files_on_s3_before_any_topic_starts(mixed_topics: Path) -> None:
    with pytest.raises(AirflowFailException, match=r"topic 'payments': cannot forget: .*upload them to s3://"):
        plan(mixed_topics, {"topics": ["orders", "payments"], "field": "customer_email", "values_file": "/srv/r.txt"})
    assert plan(mixed_topics, {"topics": ["orders"], "field": "customer_email", "values_file": "/srv/r.txt"}) == [
        {"topic": "orders", "runtime": "local"}
    ]


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        ({"topics": ["orders"]}, "nothing to forget"),
        ({"topics": ["orders"], "values_file": "/srv/erasure/req-42.txt"}, "need --field"),
        ({"topics": ["orders"], "field": "customer_email"}, "needs --value or --values-file"),
        (
            {"topics": ["orders"], "field": "customer_email", "values_file": "/srv/erasure/req-42.txt", "value": VALUE},
            "keys that are not params of this DAG: ['value']",
        ),
        ({"topics": "orders", "keys_file": "/srv/erasure/keys.txt"}, "'topics' must be a non-empty list"),
    ],
)
def test_a_request_that_cannot_run_is_refused_by_planning_without_retry(
    mixed_topics: Path, conf: dict[str, Any], problem: str
) -> None:
    with pytest.raises(AirflowFailException, match=problem.replace("[", r"\[").replace("]", r"\]")) as info:
        plan(mixed_topics, conf)
    assert VALUE not in str(info.value)  # the message names the key, never its value


def test_the_mapped_task_checks_the_request_again_before_spark(tmp_path: Path) -> None:
    """A mapped instance cleared and run alone still refuses a bad conf (no subprocess)."""
    topic_config(local_topic_yaml(), tmp_path)
    op = ForgetSubjectOperator(
        task_id=LOCAL_TASK_ID, topic="orders", topics_dir=str(tmp_path / "dags" / "topics"), conf_keys=PARAMS
    )
    op.__dict__["hook"] = None  # any use of the subprocess hook would raise
    with pytest.raises(AirflowFailException, match=r"keys that are not params of this DAG: \['value'\]"):
        op.execute(forget_context({"topics": ["orders"], "keys_file": "/srv/keys.txt", "value": VALUE}))


def test_a_topic_whose_runtime_changed_since_planning_is_not_run_on_the_wrong_one(mixed_topics: Path) -> None:
    op = ForgetSubjectOperator(task_id=LOCAL_TASK_ID, topic="payments", topics_dir=str(mixed_topics), conf_keys=PARAMS)
    with pytest.raises(AirflowFailException, match="now has runtime 'emr_serverless', not 'local'"):
        op.execute(forget_context({"topics": ["payments"], "keys_file": "s3://p/keys.txt"}))


# ---- the forget command's arguments --------------------------------------------------------------------------


def test_arguments_carry_the_files_never_the_values_and_the_command_reads_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    config = topic_config(local_topic_yaml(), tmp_path)
    values, keys = tmp_path / "values.txt", tmp_path / "keys.txt"
    values.write_text(f"{VALUE}\n\n")
    keys.write_text("o-17\n")
    conf = {"topics": ["orders"], "field": "customer_email", "values_file": str(values), "keys_file": str(keys)}
    context = forget_context(conf)
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
    remembered = forget_request(
        config, forget_context({"topics": ["orders"], "keys_file": str(keys), "remember_days": 90}), PARAMS
    )
    assert remembered.args.to_argv()[-3:] == ["--remember-days", "90", "--catch-up"]
    # another topic of the same run: its own request id and report
    other = forget_request(topic_config(local_topic_yaml(topic="refunds"), tmp_path), context, PARAMS)
    assert other.name == f"forget__refunds__{RUN_ID}" and other.report.endswith(
        "/refunds/forget/manual__2025-04-01T00_00_00_00_00.json"
    )


def test_the_forget_command_runs_as_python_dash_m_whatever_the_jobs_launcher(tmp_path: Path) -> None:
    spark_submit = topic_config(local_topic_yaml(extra="local:\n  launcher: spark_submit\n"), tmp_path)
    hook = LocalUnifiedJobHook(runtime=spark_submit.local, project_dir=tmp_path, module=FORGET_MODULE)
    assert hook.command(["--topic", "orders"]) == [sys.executable, "-m", "spark_jobs.forget", "--topic", "orders"]


# ---- forget_local's endings, with a stand-in command (the real one: the end-to-end test below) ---------------

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


def run_forget(config: TopicConfig, context: dict[str, Any] | None = None) -> dict[str, Any]:
    topics_dir = str(Path(config.source).parent)  # the operator reads the topic file itself
    op = ForgetSubjectOperator(task_id=LOCAL_TASK_ID, topic=config.topic, topics_dir=topics_dir, conf_keys=PARAMS)
    return op.execute(context or forget_context({"topics": ["orders"], "keys_file": "/srv/erasure/keys.txt"}))


def test_complete_returns_this_runs_report(fake_project: TopicConfig, capsys: pytest.CaptureFixture[str]) -> None:
    stale = Path(forget_report_uri(fake_project, RUN_ID))
    stale.write_text(json.dumps({"complete": True, "reason": "a previous try's"}))
    report = run_forget(fake_project)
    assert report["complete"] is True and report["keys"] == ["o-17"] and report["reason"] is None
    logged = capsys.readouterr().out
    assert '"--keys-file", "/srv/erasure/keys.txt"' in logged and '"--catch-up"' in logged
    assert f'"--request-id", "forget__orders__{RUN_ID}"' in logged


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
    context = forget_context({"topics": ["orders"], "keys_file": "/srv/erasure/keys.txt"})
    with pytest.raises(error, match=message) as info:
        run_forget(fake_project, context)
    assert isinstance(info.value, AirflowFailException) == (error is AirflowFailException)  # retried or not
    if "FAKE_REASON" in env:
        assert env["FAKE_REASON"] in str(info.value)
        # the incomplete report stays the instance's XCom: summarize says why
        assert context["ti"].pushed["return_value"]["reason"] == env["FAKE_REASON"]
    else:
        assert "return_value" not in context["ti"].pushed


# ---- summarize --------------------------------------------------------------------------------------------------


@dataclass
class SummaryTI:
    """XComs as Airflow returns them to ``summarize``: the plan, and the mapped tasks' values as one list."""

    plan: list[dict[str, str]] | None
    reports: list[dict[str, Any]]
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_pull(self, task_ids: str | list[str], key: str = "return_value") -> Any:
        if task_ids == PLAN_TASK_ID:
            return self.plan
        assert task_ids == [LOCAL_TASK_ID, EMR_TASK_ID] and key == "return_value"
        return self.reports

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def forget_report(topic: str, complete: bool = True, reason: str | None = None) -> dict[str, Any]:
    table = {"table": f"lakehouse.raw_db.{topic}", "rows_deleted": 2, "keys": ["k-secret"], "data_files_rewritten": 1}
    return {"topic": topic, "request_id": f"forget__{topic}__{RUN_ID}", "complete": complete, "reason": reason,
            "keys": ["k-secret"], "tables": {"raw": table}}  # fmt: skip


def summarize(ti: SummaryTI) -> dict[str, Any]:
    op = SummarizeForgetOperator(
        task_id=SUMMARY_TASK_ID, plan_task_id=PLAN_TASK_ID, forget_task_ids=(LOCAL_TASK_ID, EMR_TASK_ID)
    )
    return op.execute({"ti": ti})


MIXED_PLAN = [{"topic": "orders", "runtime": "local"}, {"topic": "payments", "runtime": "emr_serverless"}]


def test_summary_of_complete_topics_logs_counts_never_keys(capsys: pytest.CaptureFixture[str]) -> None:
    ti = SummaryTI(MIXED_PLAN, [forget_report("payments"), forget_report("orders")])
    assert summarize(ti) == {
        "orders": {"complete": True, "reason": None},
        "payments": {"complete": True, "reason": None},
    }
    logged = capsys.readouterr().out  # the task log
    assert "topic orders: complete; request forget__orders__manual__" in logged
    assert "topic orders, raw (lakehouse.raw_db.orders): rows_deleted 2, data_files_rewritten 1" in logged
    assert "k-secret" not in logged


def test_a_topic_not_complete_or_without_report_fails_the_run_with_its_summary() -> None:
    ti = SummaryTI(MIXED_PLAN, [forget_report("orders", complete=False, reason="raw received a commit")])
    with pytest.raises(AirflowFailException, match=r"not complete in topic\(s\) \['orders', 'payments'\]") as info:
        summarize(ti)
    assert "orders: raw received a commit" in str(info.value)
    assert ti.pushed["return_value"] == {
        "orders": {"complete": False, "reason": "raw received a commit"},
        "payments": {
            "complete": False,
            "reason": "no report: the emr_serverless forget task of this topic failed before one (see its log)",
        },
    }


def test_a_refused_request_fails_the_summary_too() -> None:
    """The run's state is its leaf's: a summary that succeeded would make a refused request look done."""
    with pytest.raises(AirflowFailException, match="plan_forget refused the request"):
        summarize(SummaryTI(None, []))


def test_a_failed_instance_alerts_its_topics_target(mixed_topics: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, str]] = []
    monkeypatch.setattr(
        TopicAlertNotifier, "send", lambda self, subject, message: sent.append((self.topic, subject, message))
    )
    task = ForgetSubjectOperator(task_id=LOCAL_TASK_ID, topic="orders", topics_dir=str(mixed_topics), conf_keys=PARAMS)
    context = {**make_context(run_id=RUN_ID), "task": task, "exception": AirflowException("not complete")}
    TaskTopicAlertNotifier(topics_dir=str(mixed_topics)).notify(context)
    assert [(topic, subject) for topic, subject, _ in sent] == [("orders", "topic orders: task task failed")]


# ---- end to end ---------------------------------------------------------------------------------------------


@pytest.mark.airflow_e2e
def test_a_forget_run_erases_the_person_and_keeps_the_value_out_of_airflow(e2e_stack: Stack, tmp_path: Path) -> None:
    """``airflow dags test forget_subject`` for topic ``payments`` (raw written, never processed) with a file
    of one e-mail address: ``forget_local`` (one instance, ``payments``) runs the forget command, whose
    catch-up run of the job writes the three layers first; it succeeds with the command's complete report
    in XCom, ``forget_emr_serverless`` is skipped, ``summarize`` says complete, the person's rows are gone
    from raw, curated and semantic, the others stay, and the address is nowhere in Airflow."""
    stack = e2e_stack
    dags = stack.dags("dags_forget", contracts_dir=stack.root / "contracts")
    everyone = {f"p{i}" for i in range(20)}
    assert {r["idempotency_key"] for r in stack.table_rows("raw_db", "payments")} == everyone

    value = "c3@payments.example"  # p3's address
    request = tmp_path / "erasure-request.txt"
    request.write_text(f"{value}\n")
    date = "2025-04-01T00:00:00+00:00"
    dag_id = "forget_subject"
    conf = {"topics": ["payments"], "field": "email", "values_file": str(request)}
    output = stack.dags_test(dags, date, conf=conf, dag_id=dag_id)
    assert stack.task_states(date, dag_id=dag_id) == {
        PLAN_TASK_ID: "success",
        LOCAL_TASK_ID: "success",
        EMR_TASK_ID: "skipped",  # its one instance: payments runs locally
        SUMMARY_TASK_ID: "success",
    }, output[-8000:]

    report = stack.xcom(date, LOCAL_TASK_ID, "return_value", dag_id=dag_id)
    assert isinstance(report, dict), report
    assert report["complete"] is True and report["topic"] == "payments", report
    assert report["catch_up"] == "FULL_SUCCESS", report  # the job ran first, in the forget's process
    assert report["request_id"].startswith("forget__payments__manual__") and report["keys"] == ["p3"], report
    for role in ("raw", "curated", "semantic"):
        assert report["tables"][role]["keys"] == ["p3"], report["tables"]
    assert report == json.loads(next((stack.root / "reports" / "payments" / "forget").glob("*.json")).read_text())
    assert stack.xcom(date, SUMMARY_TASK_ID, "return_value", dag_id=dag_id) == {
        "payments": {"complete": True, "reason": None}
    }
    assert "topic payments: complete" in output and "topic payments, raw (" in output

    assert {r["idempotency_key"] for r in stack.table_rows("raw_db", "payments")} == everyone - {"p3"}
    assert {r["_idempotency_key"] for r in stack.table_rows("curated_db", "payments")} == everyone - {"p3"}
    assert {r["order_id"] for r in stack.table_rows("semantic_db", "payments")} == everyone - {"p3"}

    # The address is in the request file only: not in the run's conf (the file's path is), not in the
    # task log, nowhere in Airflow's metadata DB (XCom, rendered fields...) nor its log folder.
    with sqlite3.connect(stack.root / "airflow.db") as db:
        (conf_stored,) = db.execute("SELECT conf FROM dag_run WHERE dag_id = ?", (dag_id,)).fetchone()
        labels = db.execute(
            "SELECT rendered_map_index FROM task_instance WHERE dag_id = ? AND task_id = ?", (dag_id, LOCAL_TASK_ID)
        ).fetchall()
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        everything = "\n".join(str(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))
    assert labels == [("payments",)]  # the grid names the mapped instance after its topic
    assert str(request) in str(conf_stored) and value not in str(conf_stored)
    assert value not in output and value not in everything
    logs = [p for p in (stack.root / "airflow_home" / "logs").rglob("*") if p.is_file()]  # none with `dags test`
    assert not [p for p in logs if value in p.read_text(errors="replace")]
    assert value not in json.dumps(report)

    # A run whose conf carries anything but the params fails in plan_forget, naming the key (not its
    # value), before any Spark starts; Airflow's own run context is what the check reads.
    later = "2025-04-02T00:00:00+00:00"
    conf = {"topics": ["payments"], "field": "email", "values_file": str(request), "value": "not-a-person"}
    output = stack.dags_test(dags, later, conf=conf, dag_id=dag_id)
    assert stack.task_states(later, dag_id=dag_id) == {
        PLAN_TASK_ID: "failed",
        LOCAL_TASK_ID: "upstream_failed",
        EMR_TASK_ID: "upstream_failed",
        SUMMARY_TASK_ID: "failed",  # the run ends failed
    }, output[-4000:]
    assert "keys that are not params of this DAG: ['value']" in output and "spark_jobs.forget" not in output
