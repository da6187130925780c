"""Great Expectations' Spark engine over the typed rows: row conditions and metrics.

GX decides which rows an expectation finds unexpected. For a column-map expectation
the metric ``<map_metric>.condition`` is GX's own Spark ``Column`` for that (true for
an unexpected row) plus the domain it applies to (``row_condition``, null filter).
Resolving it costs nothing when the batch is an empty DataFrame with the typed rows'
schema: the Columns are the same, and the job applies them to the real rows in one
projection (``typed_rows.py``). A condition that needs the data (a z-score needs the
column's mean and deviation) is resolved on the real batch instead.

The same engine resolves, on the real batch, the metrics the job does not compute in
its own validation pass (``validation_pass.py``): those of batch expectations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.config.suite import SuiteExpectation, TopicSuite

if TYPE_CHECKING:
    from great_expectations.execution_engine import SparkDFExecutionEngine
    from great_expectations.validator.metric_configuration import MetricConfiguration, MetricConfigurationID

log = logging.getLogger(__name__)

# Metrics a condition may depend on without its Column depending on the rows: the
# schema, and the row count GX adds to every column-map metric's dependencies (found
# 2026-12-04: counted as data, it sent every condition to the real rows). Per-row
# functions (``column_values.value_length.map``) are Columns too, told by their type.
_ROW_INDEPENDENT_METRICS = {"table.columns", "table.column_types", "table.row_count", "table.row_count.aggregate_fn"}
_COLUMN_FUNCTION_TYPES = ("MAP_FN", "MAP_CONDITION_FN", "WINDOW_FN", "WINDOW_CONDITION_FN")
PARTIAL_UNEXPECTED_COUNT = 5
"""Unexpected values GX's result lists per expectation (shown only if not PII)."""
RUNTIME = {"catch_exceptions": False}


def result_format() -> dict[str, Any]:
    """The result format of the suite's validation result (BASIC: counts, a few values)."""
    return {"result_format": "BASIC", "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT}


@dataclass(frozen=True)
class RowCondition:
    """Where GX finds a row unexpected for one column-map expectation."""

    expectation: SuiteExpectation
    domain: Column  # the rows GX judges (true, or its row_condition and null filters)
    unexpected: Column  # GX's condition; meaningful only inside ``domain``
    window: bool  # a window over the domain (uniqueness): evaluated on the domain rows only


class SuiteEngine:
    """One GX Spark execution engine for the job's suite, reusing the job's session."""

    def __init__(self, spark: SparkSession) -> None:
        from great_expectations.execution_engine import SparkDFExecutionEngine
        from great_expectations.validator.metrics_calculator import MetricsCalculator

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self.spark = spark
        self.engine: SparkDFExecutionEngine = SparkDFExecutionEngine(force_reuse_spark_context=True)
        self._calculator = MetricsCalculator(self.engine, show_progress_bars=False)
        self._batches = 0

    def load(self, df: DataFrame) -> None:
        """Make ``df`` the batch later metrics are resolved on."""
        from great_expectations.execution_engine.sparkdf_batch_data import SparkDFBatchData

        self._batches += 1
        self.engine.load_batch_data(f"batch-{self._batches}", SparkDFBatchData(self.engine, df))

    def dependencies(self, expectation: SuiteExpectation) -> dict[str, MetricConfiguration]:
        """The metrics GX needs to judge ``expectation`` on the loaded batch, by name."""
        deps = expectation.gx_expectation().get_validation_dependencies(
            execution_engine=self.engine, runtime_configuration={"result_format": result_format()}
        )
        return dict(deps.metric_configurations)

    def resolve(self, configurations: Iterable[MetricConfiguration]) -> dict[MetricConfigurationID, Any]:
        """Resolve metrics (and what they depend on) on the loaded batch; GX raises on error."""
        wanted = list(configurations)
        if not wanted:
            return {}
        resolved, aborted = self._calculator.compute_metrics(wanted, runtime_configuration=RUNTIME)
        if aborted:
            raise RuntimeError(f"Great Expectations could not resolve {sorted(str(k) for k in aborted)}")
        return dict(resolved)

    def depends_on_rows(self, configuration: MetricConfiguration) -> bool:
        graph = self._calculator.build_metric_dependency_graph(
            metric_configurations=[configuration], runtime_configuration=None
        )
        needed = {edge.left.metric_name for edge in graph.edges}
        needed |= {edge.right.metric_name for edge in graph.edges if edge.right is not None}
        needed.discard(configuration.metric_name)
        return any(not self._is_column_function(name) for name in needed - _ROW_INDEPENDENT_METRICS)

    def domain_filter(self, domain_kwargs: dict[str, Any]) -> Column:
        """GX's domain filters as one Column (the same branches as its ``get_domain_records``)."""
        condition: Column = F.lit(True)
        row_condition = domain_kwargs.get("row_condition")
        if row_condition:
            condition = condition & _row_condition(self.engine, row_condition, domain_kwargs)
        for item in domain_kwargs.get("filter_conditions") or []:
            condition = condition & F.expr(item.condition)
        return condition

    def row_conditions(self, suite: TopicSuite, typed_values: DataFrame) -> list[RowCondition]:
        """GX's condition for each row expectation of ``suite`` over ``typed_values``' schema.

        One metric resolution on an empty batch serves every condition that does not
        depend on the rows; the others are resolved on ``typed_values`` itself.
        """
        row_expectations = suite.of_kind("row")
        if not row_expectations:
            return []
        self.load(self.spark.createDataFrame([], typed_values.schema))
        configs = {e: self._condition_configuration(e) for e in row_expectations}
        on_rows = {e for e, c in configs.items() if self.depends_on_rows(c)}
        resolved = self.resolve(c for e, c in configs.items() if e not in on_rows)
        if on_rows:
            log.info(
                "suite %s: resolving %d row conditions on the rows (they need its statistics)", suite.name, len(on_rows)
            )
            self.load(typed_values)
            on_rows_configs = {e: self._condition_configuration(e) for e in on_rows}
            resolved.update(self.resolve(on_rows_configs.values()))
            configs.update(on_rows_configs)
        conditions = []
        for expectation in row_expectations:
            config = configs[expectation]
            unexpected, compute_kwargs, accessor_kwargs = resolved[config.id]
            conditions.append(
                RowCondition(
                    expectation=expectation,
                    domain=self.domain_filter({**compute_kwargs, **accessor_kwargs}),
                    unexpected=unexpected,
                    window=self._is_window(config.metric_name),
                )
            )
        return conditions

    def _function_type(self, metric_name: str) -> str | None:
        from great_expectations.expectations.registry import get_metric_provider

        _, provider = get_metric_provider(metric_name, self.engine)
        function_type = getattr(provider, "metric_fn_type", None)
        return getattr(function_type, "name", None)

    def _is_column_function(self, metric_name: str) -> bool:
        return self._function_type(metric_name) in _COLUMN_FUNCTION_TYPES

    def _is_window(self, condition_metric: str) -> bool:
        return self._function_type(condition_metric) == "WINDOW_CONDITION_FN"

    def _condition_configuration(self, expectation: SuiteExpectation) -> MetricConfiguration:
        from great_expectations.validator.metric_configuration import MetricConfiguration

        deps = self.dependencies(expectation)
        map_metric = expectation.gx_expectation().map_metric  # type: ignore[attr-defined]
        count = deps[f"{map_metric}.unexpected_count"]
        return MetricConfiguration(f"{map_metric}.condition", count.metric_domain_kwargs, count.metric_value_kwargs)


def _row_condition(engine: SparkDFExecutionEngine, row_condition: Any, domain_kwargs: dict[str, Any]) -> Column:
    from great_expectations.expectations.legacy_row_conditions import parse_condition_to_spark
    from great_expectations.expectations.row_conditions import (
        Condition,
        PassThroughCondition,
        deserialize_row_condition,
    )

    if isinstance(row_condition, dict):
        row_condition = deserialize_row_condition(row_condition)
    if isinstance(row_condition, PassThroughCondition):
        return _as_column(row_condition.pass_through_filter)
    if isinstance(row_condition, Condition):
        return _as_column(engine.condition_to_filter_clause(row_condition))
    parser = domain_kwargs.get("condition_parser")
    if parser == "spark":
        return F.expr(row_condition)
    return _as_column(parse_condition_to_spark(row_condition))  # GX's own condition language


def _as_column(condition: Column | str) -> Column:
    return F.expr(condition) if isinstance(condition, str) else condition
