"""The ``spark-submit`` command of the local runtime (laptop, CI, Airflow ``runtime: local``).

Same entry point and arguments as on EMR Serverless; only the master, the Iceberg jar
and the Python interpreter are local. Importing this module does not import pyspark.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parent / "entrypoint.py"


def spark_home() -> str:
    """SPARK_HOME, or the pip-installed pyspark's folder (it ships bin/spark-submit)."""
    explicit = os.environ.get("SPARK_HOME")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise RuntimeError("pyspark is not installed and SPARK_HOME is not set: run `make setup`")
    return str(Path(spec.origin).parent)


def spark_submit_command(
    job_args: Sequence[str], master: str = "local[2]", extra_conf: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """``(argv, env)`` to run the unified job with ``job_args`` through spark-submit."""
    from spark_jobs.session import local_conf, local_jars

    home = spark_home()
    conf = {**local_conf(), **(extra_conf or {})}
    argv = [str(Path(home) / "bin" / "spark-submit"), "--master", master, "--jars", ",".join(local_jars())]
    for key, value in conf.items():
        argv += ["--conf", f"{key}={value}"]
    argv += [str(ENTRYPOINT), *job_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    repo = str(ENTRYPOINT.parent.parent)
    env.update(
        {
            "SPARK_HOME": home,
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PYTHONPATH": os.pathsep.join(p for p in (repo, env.get("PYTHONPATH", "")) if p),
        }
    )
    return argv, env
