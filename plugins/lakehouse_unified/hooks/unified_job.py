"""Run the unified job on the Airflow worker (``runtime: local``): a subprocess, log streamed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from airflow.providers.standard.hooks.subprocess import SubprocessHook, SubprocessResult

from lakehouse_unified.config import LocalRuntimeConfig, PiiHashKeyConfig
from lakehouse_unified.job_arguments import PII_HASH_KEY_ENV, PII_HASH_KEY_SECRET_ENV

JOB_MODULE = "spark_jobs.unified_job"
FORGET_MODULE = "spark_jobs.forget"
"""``python -m spark_jobs.forget``: forget a person (``spark_jobs/forget/request.py`` is its command line)."""

EXIT_OK = 0
"""FULL_SUCCESS, CURATED_ONLY, NO_NEW_DATA (docs/JOB_INTERFACE.md); the forget command: the subject is forgotten."""
EXIT_USAGE = 2
"""Usage or configuration error: retrying cannot help."""


SPARK_SUBMIT_BOOTSTRAP = (
    "import os, sys; from spark_jobs.local_submit import spark_submit_command; "
    "argv, env = spark_submit_command(sys.argv[1:]); os.execvpe(argv[0], argv, env)"
)
"""``launcher: spark_submit``: the job's own spark-submit command (``spark_jobs.local_submit``),
built in the child process so the worker never imports the job; exec keeps the process group."""


class LocalUnifiedJobHook(SubprocessHook):
    """``python -m spark_jobs.unified_job ARGS`` or ``spark-submit spark_jobs/entrypoint.py ARGS``.

    The standard provider's ``SubprocessHook`` streams every output line to the task log
    and runs the job in its own process group, so ``on_kill`` can stop Spark too.

    ``module`` runs another command of the job's package in the same environment (the
    forget command, ``spark_jobs.forget``). ``launcher: spark_submit`` applies to the job
    only (its spark-submit entry point is ``spark_jobs/entrypoint.py``); another module
    always runs as ``python -m <module>``, which builds its local session the same way.
    """

    hook_name = "Unified job (local subprocess)"

    def __init__(
        self,
        runtime: LocalRuntimeConfig,
        project_dir: Path,
        pii_hash_key: PiiHashKeyConfig | None = None,
        module: str = JOB_MODULE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.project_dir = project_dir
        self.pii_hash_key = pii_hash_key or PiiHashKeyConfig()
        self.module = module

    def command(self, arguments: list[str]) -> list[str]:
        """The full command line; the job's arguments are the same for every launcher."""
        python = self.runtime.python or sys.executable
        if self.runtime.launcher == "spark_submit" and self.module == JOB_MODULE:
            return [python, "-c", SPARK_SUBMIT_BOOTSTRAP, *arguments]
        return [python, "-m", self.module, *arguments]

    def environment(self) -> dict[str, str]:
        """The worker's environment (JAVA_HOME, PII_HASH_KEY...), the topic's ``local.env`` and its PII key source."""
        env = dict(os.environ)
        env.update(self.runtime.env_dict)
        if self.pii_hash_key.conn_id:
            # get_connection registers the password with Airflow's log masker.
            key = self.get_connection(self.pii_hash_key.conn_id).password
            if not key:
                raise ValueError(f"connection {self.pii_hash_key.conn_id!r} has no password (the PII hash key)")
            env[PII_HASH_KEY_ENV] = key
        elif self.pii_hash_key.secret_id:
            env[PII_HASH_KEY_SECRET_ENV] = self.pii_hash_key.secret_id
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.project_dir), env.get("PYTHONPATH", "")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def run_job(self, arguments: list[str]) -> SubprocessResult:
        """Run the job (or ``module``) to completion in the project folder; returns its exit code and last line."""
        if not (self.project_dir / "spark_jobs").is_dir():
            raise FileNotFoundError(
                f"no spark_jobs/ package under {self.project_dir}: set local.project_dir in the topic "
                "file or $LAKEHOUSE_PROJECT_DIR to the folder that holds the job"
            )
        return self.run_command(command=self.command(arguments), env=self.environment(), cwd=str(self.project_dir))
