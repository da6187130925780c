from __future__ import annotations

import pytest

from spark_jobs.config.contract import load_contract, parse_contract
from spark_jobs.exceptions import ContractError, JobArgumentError
from spark_jobs.tables import TopicTables

GOOD = """
topic: orders
checkpoint_mode: unified
dedup: {message_id_lookback_days: 3, max_event_ts_ahead_minutes: 0}
fields:
  - {name: order_id, type: string, nullable: false}
  - {name: customer_email, path: customer.email, type: string, pii: hash}
  - {name: amount, type: "decimal(12, 2)"}
"""


def test_parses_fields_paths_and_options() -> None:
    contract = parse_contract(GOOD, "contracts/orders.yaml")
    assert contract.topic == "orders"
    assert contract.checkpoint_mode == "unified"
    assert contract.message_id_lookback_days == 3
    assert contract.max_event_ts_ahead_minutes == 0
    assert (
        parse_contract("topic: orders\nfields: [{name: a, type: string}]", "orders.yaml").max_event_ts_ahead_minutes
        == 5
    )
    assert contract.field_names == ("order_id", "customer_email", "amount")
    email = contract.field("customer_email")
    assert email is not None and email.path == ("customer", "email") and email.pii == "hash"
    amount = contract.field("amount")
    assert amount is not None and amount.type == "decimal(12,2)"
    assert amount.decimal_precision_scale == (12, 2)
    assert contract.has_hashed_pii


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ("topic: orders\nfields: []", None, "non-empty list"),
        ("topic: Orders!\nfields: [{name: a, type: string}]", None, "'topic' must match"),
        ("topic: orders_errors\nfields: [{name: a, type: string}]", None, "errors table of topic 'orders'"),
        ("topic: other\nfields: [{name: a, type: string}]", None, "does not match the file name"),
        ("topic: orders\nfields: [{name: a, type: integer}]", "a", "type 'integer'"),
        ("topic: orders\nfields: [{name: a, type: 'decimal(40,2)'}]", "a", "decimal(p,s)"),
        ("topic: orders\nfields: [{name: a, type: string, pii: encrypt}]", "a", "pii must be one of"),
        ("topic: orders\nfields: [{name: a, type: string}, {name: a, type: int}]", "a", "duplicate field name"),
        ("topic: orders\nfields: [{name: 'drop table', type: string}]", None, "fields[0].name"),
        ("topic: orders\nfields: [{name: a, type: string, nulable: true}]", "a", "unknown keys"),
        ("topic: orders\ncheckpoint_mode: eager\nfields: [{name: a, type: string}]", None, "checkpoint_mode"),
        ("topic: orders\ndedup: {message_id_lookback_days: 0}\nfields: [{name: a, type: string}]", None, "lookback"),
        (
            "topic: orders\ndedup: {max_event_ts_ahead_minutes: -1}\nfields: [{name: a, type: string}]",
            None,
            "0..525600",
        ),
        ("topic: orders\ndedup: {lookback: 3}\nfields: [{name: a, type: string}]", None, "unknown keys in 'dedup'"),
        ("topic: [unclosed", None, "not valid YAML"),
        ("topic: orders\ncurated: {max_depth: 51}\nfields: [{name: a, type: string}]", None, "1..50, got 51"),
        (
            "topic: orders\ncurated: {max_payload_chars: 30000000}\nfields: [{name: a, type: string}]",
            None,
            "'curated.max_payload_chars' must be an integer 1..20000000",
        ),
        (
            "topic: orders\ncurated: {max_depth: 2}\nfields: [{name: a, path: x.y.z, type: string}]",
            "a",
            "path 'x.y.z' has 3 levels, deeper than curated.max_depth (2)",
        ),
    ],
)
def test_invalid_contracts_name_file_field_and_problem(text: str, field: str | None, fragment: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_contract(text, "contracts/orders.yaml")
    message = str(info.value)
    assert message.startswith("contracts/orders.yaml")
    assert fragment in message
    assert info.value.field == field


def test_missing_file_is_a_contract_error(tmp_path) -> None:
    with pytest.raises(ContractError, match="not found"):
        load_contract(str(tmp_path / "nope.yaml"))


def test_a_topic_named_like_an_errors_table_is_refused_by_the_job() -> None:
    with pytest.raises(JobArgumentError, match=r"semantic_db\.orders_errors is the errors table of topic 'orders'"):
        TopicTables("orders_errors")
    assert TopicTables("orders_errors_log").errors == "semantic_db.`orders_errors_log_errors`"
