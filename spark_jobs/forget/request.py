"""The forget command's arguments: one definition, built by Airflow, parsed by the command.

Like ``spark_jobs.config.job_args`` this module imports no Spark. Clear values never go on a
command line Airflow builds (it would land in the task's log and the DAG run's conf): the
Airflow path passes ``--values-file``/``--keys-file`` (a local path or ``s3://``).
"""

from __future__ import annotations

import argparse
import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from spark_jobs.config.storage import read_text
from spark_jobs.exceptions import JobArgumentError
from spark_jobs.interface import CatalogType
from spark_jobs.session import DEFAULT_WAREHOUSE

REMEMBER_DAYS = 30
"""How long the job drops a forgotten key's late arrivals (``forgotten_keys.py``)."""


@dataclass(frozen=True)
class ForgetArgs:
    topic: str
    field: str | None = None
    """A contract field naming the subject (``customer_email``); its values: ``values``/``values_file``."""
    values: tuple[str, ...] = ()
    values_file: str | None = None
    keys: tuple[str, ...] = ()
    """``idempotency_key``s of the subject, forgotten whatever the fields say."""
    keys_file: str | None = None
    contracts_dir: str = "contracts"
    expectations_dir: str = "expectations"
    warehouse: str = DEFAULT_WAREHOUSE
    catalog_type: CatalogType = "hadoop"
    report: str | None = None
    """Where the JSON report is written (a path or ``s3://``); it is printed too."""
    request_id: str = dataclasses.field(default_factory=lambda: f"forget__{uuid.uuid4().hex[:12]}")
    remember_days: int = REMEMBER_DAYS
    catch_up: bool = False
    """Run the topic's job first, so that every layer has consumed raw (forget needs that)."""

    def to_argv(self) -> list[str]:
        argv = [
            *("--topic", self.topic, "--contracts-dir", self.contracts_dir),
            *("--expectations-dir", self.expectations_dir, "--warehouse", self.warehouse),
            *("--catalog-type", self.catalog_type, "--request-id", self.request_id),
        ]
        options: list[tuple[str, object, object]] = [
            ("--field", self.field, None),
            ("--values-file", self.values_file, None),
            ("--keys-file", self.keys_file, None),
            ("--report", self.report, None),
            ("--remember-days", self.remember_days, REMEMBER_DAYS),
        ]
        for flag, value, default in options:
            if value != default:
                argv += [flag, str(value)]
        for value in self.values:
            argv += ["--value", value]
        for key in self.keys:
            argv += ["--key", key]
        return argv + (["--catch-up"] if self.catch_up else [])

    def subject_values(self) -> tuple[str, ...]:
        """``values`` and the lines of ``values_file`` (blank lines skipped)."""
        return self.values + _lines(self.values_file)

    def subject_keys(self) -> tuple[str, ...]:
        return self.keys + _lines(self.keys_file)


def _lines(uri: str | None) -> tuple[str, ...]:
    if uri is None:
        return ()
    try:
        text = read_text(uri)
    except FileNotFoundError as exc:
        raise JobArgumentError(f"no file at {uri!r} (the subject's values or keys)") from exc
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m spark_jobs.forget",
        description="Erase a data subject from a topic's raw, curated, semantic and errors tables and their history.",
    )
    p.add_argument("--topic", required=True)
    p.add_argument("--field", help="the contract field that names the subject (e.g. customer_email)")
    p.add_argument("--value", action="append", default=[], help="a value of --field (repeatable)")
    p.add_argument("--values-file", help="a file (path or s3://) of values of --field, one per line")
    p.add_argument("--key", action="append", default=[], help="an idempotency_key of the subject (repeatable)")
    p.add_argument("--keys-file", help="a file (path or s3://) of idempotency_keys, one per line")
    p.add_argument("--contracts-dir", default="contracts")
    p.add_argument("--expectations-dir", default="expectations")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    p.add_argument("--catalog-type", choices=("hadoop", "glue"), default="hadoop")
    p.add_argument("--report", help="write the JSON report here too (path or s3://)")
    p.add_argument("--request-id", default="", help="recorded with the forgotten keys (default: generated)")
    p.add_argument(
        "--remember-days",
        type=int,
        default=REMEMBER_DAYS,
        help=f"how long the job drops late copies of the forgotten keys (default {REMEMBER_DAYS})",
    )
    p.add_argument(
        "--catch-up",
        action="store_true",
        help="run the topic's job first (forget needs every layer to have consumed raw)",
    )
    return p


def parse_args(argv: Sequence[str] | None = None) -> ForgetArgs:
    ns = build_parser().parse_args(argv)
    args = ForgetArgs(
        topic=ns.topic,
        field=ns.field,
        values=tuple(ns.value),
        values_file=ns.values_file,
        keys=tuple(ns.key),
        keys_file=ns.keys_file,
        contracts_dir=ns.contracts_dir,
        expectations_dir=ns.expectations_dir,
        warehouse=ns.warehouse,
        catalog_type=ns.catalog_type,
        report=ns.report,
        remember_days=ns.remember_days,
        catch_up=ns.catch_up,
        **({"request_id": ns.request_id} if ns.request_id else {}),
    )
    problem = request_problem(args)
    if problem:
        raise JobArgumentError(f"topic {args.topic!r}: {problem}")
    return args


def request_problem(args: ForgetArgs) -> str | None:
    """Why the request cannot be run (None: it can); checked before Spark starts."""
    has_values = bool(args.values or args.values_file)
    if has_values and not args.field:
        return "--value/--values-file need --field (the contract field they are values of)"
    if args.field and not has_values:
        return f"--field {args.field} needs --value or --values-file"
    if not has_values and not (args.keys or args.keys_file):
        return "nothing to forget: give --field with --value/--values-file, or --key/--keys-file"
    if args.remember_days < 1:
        return f"--remember-days must be at least 1, got {args.remember_days}"
    return None
