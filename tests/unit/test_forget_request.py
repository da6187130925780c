"""The forget command's arguments: what Airflow writes is what the command reads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from spark_jobs.exceptions import JobArgumentError
from spark_jobs.forget.request import ForgetArgs, parse_args, request_problem


def test_argv_round_trip_with_every_option() -> None:
    args = ForgetArgs(
        topic="orders",
        field="customer_email",
        values=("ann@example.com",),
        values_file="s3://bucket/requests/ann.txt",
        keys=("k1", "k2"),
        keys_file="/tmp/keys.txt",
        contracts_dir="s3://bucket/contracts",
        expectations_dir="s3://bucket/expectations",
        warehouse="s3://bucket/warehouse",
        catalog_type="glue",
        report="s3://bucket/reports/forget.json",
        request_id="forget__r1",
        remember_days=90,
        catch_up=True,
    )
    assert parse_args(args.to_argv()) == args


def test_defaults_are_left_off_the_command_line() -> None:
    args = ForgetArgs(topic="orders", keys=("k1",), request_id="r")
    assert parse_args(args.to_argv()) == args
    assert "--remember-days" not in args.to_argv() and "--catch-up" not in args.to_argv()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"values": ("v",)}, "need --field"),
        ({"field": "customer_email"}, "needs --value or --values-file"),
        ({}, "nothing to forget"),
        ({"keys": ("k",), "remember_days": 0}, "--remember-days must be at least 1"),
    ],
)
def test_a_request_that_cannot_run_is_refused_before_spark(change: dict[str, object], problem: str) -> None:
    args = replace(ForgetArgs(topic="orders", request_id="r"), **change)  # type: ignore[arg-type]
    assert problem in str(request_problem(args))
    with pytest.raises(JobArgumentError, match="topic 'orders'"):
        parse_args(args.to_argv())


def test_values_and_keys_files_are_read_line_by_line(tmp_path: Path) -> None:
    values = tmp_path / "values.txt"
    values.write_text("ann@example.com\n\n  bob@example.com  \n")
    args = ForgetArgs(topic="orders", field="customer_email", values=("cy@example.com",), values_file=str(values))
    assert args.subject_values() == ("cy@example.com", "ann@example.com", "bob@example.com")
    with pytest.raises(JobArgumentError, match="no file at"):
        ForgetArgs(topic="orders", keys_file=str(tmp_path / "missing.txt")).subject_keys()


def test_the_command_refuses_a_field_the_contract_lacks_or_a_missing_key_before_spark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from spark_jobs.forget.command import main

    contracts = Path(__file__).resolve().parents[2] / "contracts"
    monkeypatch.setenv("PII_HASH_KEY", "unit-test-key-0123456789")
    argv = ["--topic", "orders", "--contracts-dir", str(contracts), "--field", "email", "--value", "x"]
    assert main(argv) == 2
    assert "--field 'email' is not a field of" in caplog.text and "customer_email" in caplog.text
    monkeypatch.delenv("PII_HASH_KEY")
    caplog.clear()
    assert main([*argv[:-4], "--key", "k1"]) == 2
    assert "PII_HASH_KEY" in caplog.text
