"""Errors of the unified job. Each names the topic and the thing to fix."""

from __future__ import annotations

from typing import Any


class UnifiedJobError(Exception):
    """Base class of every error the job raises on purpose."""


class ContractError(UnifiedJobError, ValueError):
    """A topic contract or suite is invalid: names the file, field and problem."""

    def __init__(self, source: str, problem: str, field: str | None = None) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: field {field!r}: " if field else f"{source}: "
        super().__init__(where + problem)


class SuiteError(ContractError):
    """A Great Expectations suite is invalid or references unknown columns."""


class ExpectationFailedError(UnifiedJobError):
    """An expectation whose action is ``fail`` was unsuccessful: the semantic layer is not written."""

    def __init__(self, topic: str, suite_file: str, failed: list[dict[str, Any]]) -> None:
        self.topic = topic
        self.suite_file = suite_file
        self.failed = failed
        parts = []
        for item in failed:
            on = f" on column {item['column']!r}" if item.get("column") else ""
            counts = ""
            if "unexpected_count" in item:
                counts = f": {item['unexpected_count']} unexpected rows ({item.get('unexpected_percent', 0):.2f}%)"
            elif "observed_value" in item:
                counts = f": observed {item['observed_value']!r}"
            parts.append(f"{item['type']}{on}{counts}")
        super().__init__(
            f"topic {topic!r}: {suite_file}: expectations with action 'fail' did not pass, so the semantic "
            f"layer was not written: {'; '.join(parts)}"
        )


class JobArgumentError(UnifiedJobError, ValueError):
    """The command line asks for something impossible."""


class RawTableError(UnifiedJobError):
    """The raw table is missing or does not have the raw contract's columns."""


class SnapshotRangeError(UnifiedJobError):
    """The raw snapshot range cannot be read (e.g. a checkpoint was expired)."""


class MissingSecretError(UnifiedJobError):
    """A secret the job needs (the PII hashing key) is not configured."""


CONFIGURATION_ERRORS: tuple[type[UnifiedJobError], ...] = (
    ContractError,
    JobArgumentError,
    MissingSecretError,
    SnapshotRangeError,
)
"""Errors a retry cannot fix: a file, a setting or a manual reprocess must change first.
A run that fails with one exits 2 and says ``retryable: false`` in its report, so
neither runtime retries it (``runtime: local`` reads the exit code, EMR the report)."""


class LayerWriteError(UnifiedJobError):
    """Writing one output layer failed; carries topic, layer and table."""

    def __init__(self, topic: str, layer: str, table: str, cause: BaseException) -> None:
        self.topic = topic
        self.layer = layer
        self.table = table
        self.cause = cause
        super().__init__(
            f"topic {topic!r}: writing the {layer} layer ({table}) failed: {type(cause).__name__}: {first_line(cause)}"
        )


class StageError(UnifiedJobError):
    """A stage before the writes (read, dedup, parse, drift) failed: nothing was written."""

    def __init__(self, topic: str, stage: str, cause: BaseException) -> None:
        self.topic = topic
        self.stage = stage
        self.cause = cause
        super().__init__(
            f"topic {topic!r}: the {stage} stage failed before any write: {type(cause).__name__}: {first_line(cause)}"
        )


def first_line(exc: BaseException) -> str:
    """The message a person needs: for a Java error, the Java exception's own line
    (py4j's is only "An error occurred while calling o44.sql")."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    text = text.strip()
    return text.splitlines()[0] if text else type(exc).__name__
