"""Errors of the Airflow side of the unified job. Each names the topic and what to fix."""

from __future__ import annotations

from typing import Any


class LakehouseAirflowError(Exception):
    """Base class of every error this package raises on purpose."""


class TopicConfigError(LakehouseAirflowError, ValueError):
    """A topic configuration file (``dags/topics/<topic>.yaml``) is invalid: names file, field and value."""

    def __init__(self, source: str, problem: str, field: str | None = None, value: Any = None) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.value = value
        where = f"{source}: field {field!r}: " if field else f"{source}: "
        super().__init__(where + problem)


class RunPlanError(LakehouseAirflowError, ValueError):
    """A DAG run asks for something the job cannot do (e.g. contradictory trigger params)."""


class RunReportError(LakehouseAirflowError):
    """The job's run report is missing or unreadable."""
