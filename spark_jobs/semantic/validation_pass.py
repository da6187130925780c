"""One validation pass over the typed rows: counts per check and GX's validation result.

The typed rows already carry a flag per check (``typed_rows.py``). One aggregate over
them gives the valid rows, the rows per failed check, and the metrics GX's column-map
expectations are judged from (domain rows, nulls, unexpected rows, a few unexpected
values). GX then judges each expectation from those metrics with its own
``metrics_validate`` (``mostly`` included), so its ``ExpectationSuiteValidationResult``
comes from the same pass that decided the rows. Metrics the pass does not compute
(those of batch expectations: a mean, a row-count range, ...) GX resolves itself on
the batch.

Unexpected values in the result are shown only when neither the contract nor their
look says PII.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.config.contract import TopicContract
from spark_jobs.config.suite import SuiteExpectation, TopicSuite
from spark_jobs.semantic.gx_engine import PARTIAL_UNEXPECTED_COUNT, SuiteEngine, result_format
from spark_jobs.semantic.pii import PII_SAMPLE
from spark_jobs.semantic.typed_rows import MALFORMED, VALID, Check

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.validator.metric_configuration import MetricConfiguration, MetricConfigurationID

log = logging.getLogger(__name__)
_SAMPLE_KEY = "_idempotency_key"  # spreads the listed unexpected values over rows


@dataclass
class ValidationOutcome:
    valid_rows: int
    failed_checks: dict[str, int]  # rows per failed check that quarantines (key: ``rule:column``)
    warned: dict[str, int]  # rows per failed ``warn`` expectation (kept in semantic)
    result: ExpectationSuiteValidationResult | None  # GX's own result (None for an empty suite)
    expectations: list[dict[str, Any]] = field(default_factory=list)  # per expectation, for the report

    @property
    def failed_expectations(self) -> list[dict[str, Any]]:
        """Unsuccessful expectations whose action is ``fail``."""
        return [e for e in self.expectations if e["action"] == "fail" and not e["success"]]


def validate(
    typed: DataFrame,
    checks: Sequence[Check],
    suite: TopicSuite,
    contract: TopicContract,
    engine: SuiteEngine | None,
) -> ValidationOutcome:
    """Judge the increment: one aggregate over ``typed`` (plus GX's own batch metrics)."""
    well_formed = ~F.col(MALFORMED)
    deps: dict[SuiteExpectation, dict[str, MetricConfiguration]] = {}
    if engine is not None and suite.expectations:
        engine.load(typed.where(well_formed).select(*contract.field_names))
        deps = {e: engine.dependencies(e) for e in suite.expectations}
    flags = {c.key: c.flag for c in checks}

    aggregates: dict[str, Column] = {"_valid_rows": F.count_if(F.col(VALID))}
    aggregates.update({f"_n_{i}": F.count_if(F.col(c.flag)) for i, c in enumerate(checks)})
    computed: dict[str, MetricConfiguration] = {}  # aggregate alias -> metric it answers
    samples: dict[str, tuple[MetricConfiguration, str, Column]] = {}  # alias -> metric, flag, aggregate
    residual: dict[MetricConfigurationID, MetricConfiguration] = {}
    for expectation, by_name in deps.items():
        flag = flags.get(expectation.rule_id) if expectation.kind == "row" else None
        for name, config in by_name.items():
            column = _metric_column(name, config, flag, well_formed, engine, contract)
            alias = f"_m_{len(computed) + len(samples)}"
            if column is None:
                residual[config.id] = config
            elif name.endswith(".unexpected_values") and flag is not None:
                samples[alias] = (config, flag, column)
            else:
                computed[alias] = config
                aggregates[alias] = column

    row = typed.agg(*[c.alias(alias) for alias, c in aggregates.items()]).collect()[0]
    counts = {c: int(row[f"_n_{i}"]) for i, c in enumerate(checks)}
    metrics: dict[MetricConfigurationID, Any] = {}
    for alias, config in computed.items():
        metrics[config.id] = _metric_value(config, row[alias])
    metrics.update(_unexpected_values(typed, samples, {c.flag: n for c, n in counts.items()}))
    if residual and engine is not None:
        metrics.update(engine.resolve(residual.values()))

    results = [_judge(e, metrics, engine) for e in deps]
    outcome = ValidationOutcome(
        valid_rows=int(row["_valid_rows"]),
        failed_checks={c.key: n for c, n in counts.items() if n and c.quarantines},
        warned={c.key: n for c, n in counts.items() if n and not c.quarantines},
        result=_suite_result(suite, results) if results else None,
    )
    outcome.expectations = [_summary(e, r) for e, r in zip(deps, results, strict=True)]
    return outcome


def _metric_column(
    name: str,
    config: MetricConfiguration,
    flag: str | None,
    well_formed: Column,
    engine: SuiteEngine | None,
    contract: TopicContract,
) -> Column | None:
    """The aggregate that answers a metric in this pass, or None (GX resolves it on the batch).

    Row counts and null counts of a domain for any expectation; unexpected rows and
    values for a row expectation (``flag`` is its check's column).
    """
    if engine is None:
        return None
    domain = well_formed & engine.domain_filter(dict(config.metric_domain_kwargs))
    column = config.metric_domain_kwargs.get("column")
    if name == "table.row_count":
        return F.count_if(domain)
    if name == "column_values.nonnull.unexpected_count" and column:
        return F.count_if(domain & F.col(column).isNull())
    if flag is None:
        return None
    if name.endswith(".unexpected_count"):
        return F.count_if(F.col(flag))
    if name.endswith(".unexpected_values") and column:
        spec = contract.field(column)
        # A contract field the contract calls not PII is shown as sent; any other column hidden.
        shown: Column = (
            F.lit(PII_SAMPLE)
            if spec is None or spec.pii != "none"
            else F.substring(F.col(column).cast("string"), 1, 60)
        )
        bucket = F.pmod(F.hash(F.col(_SAMPLE_KEY)), F.lit(PARTIAL_UNEXPECTED_COUNT))
        found = F.col(flag) & F.col(column).isNotNull()
        samples = [
            F.first(F.when(found & (bucket == j), shown), ignorenulls=True) for j in range(PARTIAL_UNEXPECTED_COUNT)
        ]
        return F.array(*samples)
    return None


def _unexpected_values(
    typed: DataFrame, samples: dict[str, tuple[MetricConfiguration, str, Column]], flagged: dict[str, int]
) -> dict[MetricConfigurationID, Any]:
    """The listed unexpected values, from the rows that failed a row expectation only.

    A second, small aggregate: in the counting pass, five sampling aggregates per
    expectation over every row cost more than all the counts (4 s of 4.5 at 1M rows,
    measured 2026-12-04); here they see only the failing rows, and expectations that
    failed no row list nothing without a scan.
    """
    wanted = {alias: spec for alias, spec in samples.items() if flagged.get(spec[1])}
    values: dict[MetricConfigurationID, Any] = {config.id: [] for config, _, _ in samples.values()}
    if not wanted:
        return values
    failing = reduce(operator.or_, [F.col(flag) for flag in {flag for _, flag, _ in wanted.values()}])
    row = typed.where(failing).agg(*[column.alias(alias) for alias, (_, _, column) in wanted.items()]).collect()[0]
    for alias, (config, _, _) in wanted.items():
        values[config.id] = _metric_value(config, row[alias])
    return values


def _metric_value(config: MetricConfiguration, value: Any) -> Any:
    if config.metric_name.endswith(".unexpected_values"):
        return [v for v in value if v is not None]
    return int(value)


def _judge(
    expectation: SuiteExpectation, metrics: dict[MetricConfigurationID, Any], engine: SuiteEngine | None
) -> ExpectationValidationResult:
    assert engine is not None
    gx_expectation = expectation.gx_expectation()
    result = gx_expectation.metrics_validate(
        metrics=metrics, runtime_configuration={"result_format": result_format()}, execution_engine=engine.engine
    )
    result.expectation_config = gx_expectation.configuration
    if expectation.kind == "row" and result.result.get("partial_unexpected_list") is not None:
        # A null is unexpected only for not_be_null: GX lists it as None.
        unexpected = int(result.result.get("unexpected_count") or 0)
        listed = result.result["partial_unexpected_list"]
        if not listed and unexpected and expectation.type == "expect_column_values_to_not_be_null":
            result.result["partial_unexpected_list"] = [None] * min(unexpected, PARTIAL_UNEXPECTED_COUNT)
    return result


def _suite_result(suite: TopicSuite, results: list[ExpectationValidationResult]) -> ExpectationSuiteValidationResult:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    statistics = calc_validation_statistics(results)
    return ExpectationSuiteValidationResult(
        success=statistics.success,
        results=results,
        suite_name=suite.name,
        statistics=statistics._asdict(),
        meta={"suite_file": suite.source},
    )


def _summary(expectation: SuiteExpectation, result: ExpectationValidationResult) -> dict[str, Any]:
    """What the run report shows of one expectation's result (no clear PII)."""
    body = result.result or {}
    summary: dict[str, Any] = {
        "rule": expectation.rule_id,
        "type": expectation.type,
        "column": expectation.column,
        "action": expectation.action,
        "success": bool(result.success),
    }
    for key in ("element_count", "unexpected_count", "unexpected_percent", "partial_unexpected_list", "observed_value"):
        if key in body:
            summary[key] = body[key]
    return summary
