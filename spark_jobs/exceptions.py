"""Errors of the unified job. Each names the topic and the thing to fix."""

from __future__ import annotations


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


class JobArgumentError(UnifiedJobError, ValueError):
    """The command line asks for something impossible."""


class RawTableError(UnifiedJobError):
    """The raw table is missing or does not have the raw contract's columns."""


class SnapshotRangeError(UnifiedJobError):
    """The raw snapshot range cannot be read (e.g. a checkpoint was expired)."""


class MissingSecretError(UnifiedJobError):
    """A secret the job needs (the PII hashing key) is not configured."""


class LayerWriteError(UnifiedJobError):
    """Writing one output layer failed; carries topic, layer and table."""

    def __init__(self, topic: str, layer: str, table: str, cause: BaseException) -> None:
        self.topic = topic
        self.layer = layer
        self.table = table
        self.cause = cause
        super().__init__(
            f"topic {topic!r}: writing the {layer} layer ({table}) failed: {type(cause).__name__}: {_first_line(cause)}"
        )


def _first_line(exc: BaseException) -> str:
    """The message a person needs: for a Java error, the Java exception's own line
    (py4j's is only "An error occurred while calling o44.sql")."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    text = text.strip()
    return text.splitlines()[0] if text else type(exc).__name__
