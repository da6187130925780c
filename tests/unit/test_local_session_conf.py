"""The local run's Spark confs: the job's JVM options, and the extra ones a user (or the tests) adds."""

from __future__ import annotations

import pytest

from spark_jobs.interface import JOB_JVM_OPTIONS
from spark_jobs.session import JAVA_OPTIONS_ENV, local_conf


def test_extra_java_options_are_added_to_the_jobs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(JAVA_OPTIONS_ENV, raising=False)
    assert local_conf()["spark.driver.extraJavaOptions"] == JOB_JVM_OPTIONS
    monkeypatch.setenv(JAVA_OPTIONS_ENV, " -XX:TieredStopAtLevel=1 ")
    conf = local_conf()
    for side in ("driver", "executor"):
        assert conf[f"spark.{side}.extraJavaOptions"] == f"{JOB_JVM_OPTIONS} -XX:TieredStopAtLevel=1"
