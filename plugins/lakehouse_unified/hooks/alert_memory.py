"""Which alerts were already sent: Airflow Variables as the memory, so a problem that
lasts (a topic without a contract) alerts once, not on every run."""

from __future__ import annotations

import hashlib

from airflow.sdk import BaseHook, Variable

_PREFIX = "lakehouse_unified.alerted"


class AlertMemoryHook(BaseHook):
    """Remember one fingerprint per (kind, topic) in the Variable ``lakehouse_unified.alerted.<kind>.<topic>``."""

    hook_name = "Alert memory (Airflow Variables)"

    def __init__(self, kind: str, topic: str) -> None:
        super().__init__()
        self.key = f"{_PREFIX}.{kind}.{topic}"

    @staticmethod
    def fingerprint(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def first_time(self, problem: str) -> bool:
        """True (and remembered) unless this very problem was alerted last time."""
        fingerprint = self.fingerprint(problem)
        if Variable.get(self.key, default=None) == fingerprint:
            return False
        Variable.set(self.key, fingerprint, description="the last problem alerted (lakehouse_unified)")
        return True

    def forget(self) -> None:
        """The problem is gone: the next one alerts again."""
        if Variable.get(self.key, default=None) is not None:
            Variable.delete(self.key)
