"""check_schema_exists / no_schema and publish_outcome: report -> task result."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow_testkit import local_topic_yaml, make_context, run_report, topic_config
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.alert_memory import AlertMemoryHook
from lakehouse_unified.job_arguments import run_report_uri
from lakehouse_unified.notifiers.topic_alert import TopicAlertNotifier
from lakehouse_unified.operators.outcome import PublishOutcomeOperator
from lakehouse_unified.operators.schema import CheckSchemaExistsOperator, NoSchemaOperator
from lakehouse_unified.outcomes import COUNTS_KEY, NO_NEW_DATA_KEY, OUTCOME_KEY, decide_outcome, parse_report
from lakehouse_unified.schema_validation import basic_validator, default_validator, job_validator, validate_schema

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "integration" / "fixtures"
CONTRACT = """\
topic: orders
fields:
  - {name: order_id, type: string, nullable: false}
  - {name: amount, type: "decimal(10,2)"}
"""
SUITE = json.dumps(
    {
        "name": "orders",
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}}],
    }
)
RUN_ID = "scheduled__2025-01-01T00:00:00+00:00"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TopicConfig:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    (tmp_path / "contracts").mkdir()
    (tmp_path / "expectations").mkdir()
    return topic_config(local_topic_yaml(), tmp_path)


def write_schema(root: Path, contract: str | None = CONTRACT, suite: str | None = SUITE) -> None:
    if contract is not None:
        (root / "contracts" / "orders.yaml").write_text(contract)
    if suite is not None:
        (root / "expectations" / "orders.json").write_text(suite)


@pytest.fixture(autouse=True)
def alert_memory(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """AlertMemoryHook's Airflow Variables, as a dict (no task runner here)."""
    memory: dict[str, str] = {}

    def first_time(self: AlertMemoryHook, problem: str) -> bool:
        seen = memory.get(self.key) == self.fingerprint(problem)
        memory[self.key] = self.fingerprint(problem)
        return not seen

    monkeypatch.setattr(AlertMemoryHook, "first_time", first_time)
    monkeypatch.setattr(AlertMemoryHook, "forget", lambda self: memory.pop(self.key, None))
    return memory


def branch(config: TopicConfig) -> tuple[list[str], dict[str, Any]]:
    op = CheckSchemaExistsOperator(
        task_id="check_schema_exists",
        topic_config=config,
        next_task_id="wait_for_new_snapshot",
        no_schema_task_id="no_schema",
    )
    ctx = make_context()
    return op.choose_branch(ctx), ctx["ti"].pushed


@pytest.mark.parametrize(
    ("contract", "suite", "problem"),
    [
        (None, SUITE, "contract .*orders.yaml does not exist"),
        (CONTRACT, None, "suite .*orders.json does not exist"),
        ("topic: orders\nfields: []\n", SUITE, "fields"),
        ("topic: [orders\n", SUITE, "not valid YAML"),
        (CONTRACT, "{not json", "not valid JSON"),
        (CONTRACT, json.dumps({"expectations": {}}), "expectations"),
    ],
)
def test_branch_goes_to_no_schema_with_the_problem(
    config: TopicConfig, tmp_path: Path, contract: str | None, suite: str | None, problem: str
) -> None:
    write_schema(tmp_path, contract, suite)
    chosen, pushed = branch(config)
    assert chosen == ["wait_for_new_snapshot", "no_schema"]  # curated still runs; no_schema alerts
    assert pushed["schema_problem"].startswith("topic 'orders': ")
    assert re.search(problem, pushed["schema_problem"])


def test_branch_runs_the_job_with_a_valid_schema(config: TopicConfig, tmp_path: Path) -> None:
    write_schema(tmp_path)
    assert branch(config) == (["wait_for_new_snapshot"], {})


def test_the_jobs_validator_is_used_when_importable() -> None:
    name, validator = default_validator()
    assert validator is job_validator and "spark_jobs" in name
    # A suite referencing an unknown column passes the structural check but not the job's.
    bad_suite = json.dumps(
        {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}}]}
    )
    assert validate_schema("orders", (CONTRACT, "c.yaml"), (bad_suite, "s.json"), basic_validator) is None
    problem = validate_schema("orders", (CONTRACT, "orders.yaml"), (bad_suite, "s.json"), job_validator)
    assert problem is not None and "'nope'" in problem


def test_repo_fixture_contract_passes_both_validators() -> None:
    contract = (FIXTURES / "shop.yaml").read_text()
    suite = (FIXTURES / "shop.json").read_text()
    for validator in (basic_validator, job_validator):
        assert validate_schema("shop", (contract, "shop.yaml"), (suite, "shop.json"), validator) is None
    assert "declares topic 'shop'" in str(
        validate_schema("orders", (contract, "orders.yaml"), (suite, "orders.json"), basic_validator)
    )


def test_no_schema_alerts_once_per_problem(
    config: TopicConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(TopicAlertNotifier, "send", lambda self, subject, message: sent.append((subject, message)))
    op = NoSchemaOperator(task_id="no_schema", topic_config=config, check_task_id="check_schema_exists")

    def run(problem: str) -> None:
        assert op.execute(make_context(xcoms={("check_schema_exists", "schema_problem"): problem})) == problem

    problem = "topic 'orders': contract /x/orders.yaml does not exist"
    run(problem)
    assert len(sent) == 1 and sent[0][0] == "topic orders: no schema registered" and problem in sent[0][1]
    assert "writes curated only" in sent[0][1]
    run(problem)  # the next run, same problem: no second alert
    assert len(sent) == 1
    run("topic 'orders': suite /x/orders.json: not valid JSON")  # another problem alerts
    assert len(sent) == 2
    write_schema(tmp_path)
    branch(config)  # the schema is fixed: forgotten, so the same problem would alert again
    run(problem)
    assert len(sent) == 3


def test_a_curated_only_run_without_schema_is_published_as_curated_only(
    config: TopicConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(TopicAlertNotifier, "send", lambda self, subject, message: sent.append(subject))
    problem = "topic 'orders': contract /x/orders.yaml does not exist"
    result, pushed = publish(config, run_report("FULL_SUCCESS"), problem=problem)
    assert result == pushed["outcome"] == "CURATED_ONLY"
    assert pushed["counts"]["curated_rows"] == 91
    assert sent == []  # no_schema alerts, once per problem; not every run here


# ---- publish_outcome --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "action"),
    [
        ("FULL_SUCCESS", "succeed"),
        ("CURATED_ONLY", "succeed_and_alert"),
        ("NO_NEW_DATA", "skip"),
        ("CURATED_FAILED", "fail"),
        ("SEMANTIC_FAILED", "fail"),
    ],
)
def test_decide_outcome(outcome: str, action: str) -> None:
    decision = decide_outcome(run_report(outcome, reason="cast failed: amount"))
    assert (decision.outcome, decision.action) == (outcome, action)
    assert decision.counts["rows_read"] == 100 and decision.counts["semantic_rows_errors"] == 11
    assert (decision.counts["drift_folded_objects"], decision.counts["drift_overflow_fields"]) == (1, 300)
    assert decision.counts["drift_deep_values"] == 2
    if action in ("fail", "succeed_and_alert"):
        assert "cast failed: amount" in decision.message


def test_a_failed_maintenance_step_is_reported_not_an_outcome() -> None:
    maintenance = {
        "compaction": {"error": "ValidationException: found new position delete", "seconds": 1.0},
        "output_expiry": {"result": {}, "seconds": 0.2},
    }
    decision = decide_outcome(run_report("FULL_SUCCESS", maintenance=maintenance))
    assert decision.action == "succeed"
    assert decision.counts["maintenance_errors"] == {"compaction": "ValidationException: found new position delete"}
    assert "table maintenance failed" in decision.message and "found new position delete" in decision.message
    assert decide_outcome(run_report("FULL_SUCCESS")).counts["maintenance_errors"] == {}


def test_parse_report_rejects_garbage() -> None:
    with pytest.raises(Exception, match=r"r\.json: run report outcome"):
        parse_report(json.dumps({"outcome": "MAYBE"}), "r.json")
    with pytest.raises(Exception, match="not valid JSON"):
        parse_report("{", "r.json")


def publish(
    config: TopicConfig, report: dict[str, Any] | None, run_ok: bool = True, problem: str | None = None
) -> tuple[Any, dict[str, Any]]:
    uri = run_report_uri(config, RUN_ID)
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    if report is not None:
        Path(uri).write_text(json.dumps(report))
    op = PublishOutcomeOperator(task_id="publish_outcome", topic_config=config)
    xcoms: dict[tuple[str, str], Any] = {("wait_for_new_snapshot", "return_value"): {"kind": "incremental"}}
    if problem:
        xcoms[("check_schema_exists", "schema_problem")] = problem
    if run_ok:
        xcoms[("run_unified_job", "return_value")] = uri
    ctx = make_context(xcoms=xcoms)
    try:
        return op.execute(ctx), ctx["ti"].pushed
    finally:
        shutil.rmtree(Path(uri).parent)


def test_full_success_succeeds_and_pushes_counts(config: TopicConfig) -> None:
    result, pushed = publish(config, run_report("FULL_SUCCESS"))
    assert result == "FULL_SUCCESS"
    assert pushed["outcome"] == "FULL_SUCCESS" and pushed["counts"]["curated_rows"] == 91


def test_curated_only_succeeds_and_alerts(config: TopicConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(TopicAlertNotifier, "send", lambda self, subject, message: sent.append(subject + message))
    result, _ = publish(config, run_report("CURATED_ONLY", reason="semantic: type mismatch on amount"))
    assert result == "CURATED_ONLY"
    assert len(sent) == 1 and "type mismatch on amount" in sent[0]


@pytest.mark.parametrize("outcome", ["CURATED_FAILED", "SEMANTIC_FAILED"])
def test_failed_outcomes_fail_with_the_reason(config: TopicConfig, outcome: str) -> None:
    with pytest.raises(AirflowFailException, match=f"{outcome}: curated_db.orders commit conflict"):
        publish(config, run_report(outcome, reason="curated_db.orders commit conflict"), run_ok=False)


def test_no_new_data_is_skipped(config: TopicConfig) -> None:
    with pytest.raises(AirflowSkipException, match="NO_NEW_DATA"):
        publish(config, run_report("NO_NEW_DATA"))


def test_missing_report_fails(config: TopicConfig) -> None:
    with pytest.raises(AirflowException, match=r"no run report at .*orders/scheduled__2025-01-01T00_00_00_00_00\.json"):
        publish(config, None, run_ok=False)


def test_success_report_with_a_failed_job_task_still_fails(config: TopicConfig) -> None:
    with pytest.raises(AirflowFailException, match="did not succeed although"):
        publish(config, run_report("FULL_SUCCESS"), run_ok=False)


def test_no_new_data_from_the_sensor_is_published_and_skipped(config: TopicConfig) -> None:
    """No job ran (the wait timed out): the run still ends with an outcome and counts in XCom."""
    why = "NO_NEW_DATA for topic 'orders': no new raw snapshot within 840s"
    plan = {"kind": "incremental", "curated_checkpoint": "41", "semantic_checkpoint": "40"}
    ctx = make_context(
        xcoms={("wait_for_new_snapshot", NO_NEW_DATA_KEY): why, ("get_checkpoint", "return_value"): plan}
    )
    op = PublishOutcomeOperator(task_id="publish_outcome", topic_config=config)
    with pytest.raises(AirflowSkipException, match="no new raw snapshot within 840s"):
        op.execute(ctx)
    pushed = ctx["ti"].pushed
    assert pushed[OUTCOME_KEY] == "NO_NEW_DATA"
    assert pushed[COUNTS_KEY]["rows_read"] == 0 and pushed[COUNTS_KEY]["backlog_rows"] == 0
    assert (pushed[COUNTS_KEY]["curated_checkpoint_after"], pushed[COUNTS_KEY]["semantic_checkpoint_after"]) == (
        "41",
        "40",
    )
    assert set(pushed[COUNTS_KEY]) == set(decide_outcome(run_report("NO_NEW_DATA")).counts)


def test_a_job_that_was_not_started_publishes_nothing(config: TopicConfig) -> None:
    """An upstream task failed (no pinned plan, no NO_NEW_DATA): skipped, no outcome."""
    ctx = make_context(xcoms={("check_schema_exists", "schema_problem"): "topic 'orders': no contract"})
    op = PublishOutcomeOperator(task_id="publish_outcome", topic_config=config)
    with pytest.raises(AirflowSkipException, match="the job was not started"):
        op.execute(ctx)
    assert ctx["ti"].pushed == {}
