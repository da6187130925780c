"""The job's interface with Airflow (``spark_jobs/interface.py``): pure, and free of Spark."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from spark_jobs.interface import (
    CHECKPOINT_KEYS,
    RUN_ID_KEY,
    UNIFIED_CHECKPOINT_KEY,
    Checkpoints,
    SnapshotInfo,
    catalog_conf,
    commit_properties,
    one_layer_reprocess_problem,
    resolve_checkpoints,
    value_in,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_importing_it_imports_neither_spark_nor_airflow() -> None:
    probe = (
        "import json, sys; import spark_jobs.interface; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout))
    assert {"pyspark", "airflow", "great_expectations", "pyiceberg", "yaml"}.isdisjoint(loaded)


@pytest.mark.parametrize(
    ("raw", "curated", "semantic", "layers", "expected"),
    [
        (None, None, None, "both", False),  # no raw snapshot yet
        (5, None, None, "both", True),  # never ran
        (5, 5, 5, "both", False),  # both up to date
        (5, 5, 3, "both", True),  # semantic behind (CURATED_ONLY last time)
        (5, 5, 3, "curated", False),  # ... but only curated was asked for
        (5, 5, 3, "semantic", True),
        (5, 3, 3, "both", True),
    ],
)
def test_has_new_data(raw: int | None, curated: int | None, semantic: int | None, layers: str, expected: bool) -> None:
    assert Checkpoints(curated, semantic).has_new_data(raw, layers) is expected  # type: ignore[arg-type]


def test_a_key_is_the_newest_value_in_the_ancestry() -> None:
    snaps = (
        SnapshotInfo(30, T0, {"other": "x"}),
        SnapshotInfo(20, T0, {CHECKPOINT_KEYS["curated"]: "7"}),
        SnapshotInfo(10, T0, {CHECKPOINT_KEYS["curated"]: "4"}),
    )
    assert value_in(snaps, "unified-job.curated-checkpoint") == 7
    assert value_in(snaps, "unified-job.semantic-checkpoint") is None


def test_unified_mode_moves_one_checkpoint_in_curated_last_commit() -> None:
    assert commit_properties("semantic", "unified", True, 7, "r") == {}
    assert commit_properties("curated", "unified", True, 7, "r") == {"unified-job.checkpoint": "7", RUN_ID_KEY: "r"}
    # a one-layer run (no usable schema) moves its own layer's checkpoint in either mode
    assert commit_properties("curated", "unified", False, 7, "r") == {
        "unified-job.curated-checkpoint": "7",
        RUN_ID_KEY: "r",
    }
    assert commit_properties("semantic", "tiered", True, 7, "r") == {
        "unified-job.semantic-checkpoint": "7",
        RUN_ID_KEY: "r",
    }


def test_a_layer_checkpoint_is_the_newer_of_its_own_and_the_unified_key() -> None:
    raw = [40, 30, 20, 10]  # newest first
    tiered = [SnapshotInfo(1, T0, {CHECKPOINT_KEYS["curated"]: "20"})]
    semantic = [SnapshotInfo(2, T0, {CHECKPOINT_KEYS["semantic"]: "10"})]
    assert resolve_checkpoints(tiered, semantic, raw) == Checkpoints(curated=20, semantic=10)
    unified = [SnapshotInfo(3, T0, {UNIFIED_CHECKPOINT_KEY: "30"}), *tiered]
    assert resolve_checkpoints(unified, [SnapshotInfo(4, T0, {}), *semantic], raw) == Checkpoints(30, 30)
    # a failed unified run (semantic written, curated not) moved nothing
    assert resolve_checkpoints(tiered, [SnapshotInfo(4, T0, {}), *semantic], raw) == Checkpoints(20, 10)
    back_to_tiered = [SnapshotInfo(5, T0, {CHECKPOINT_KEYS["curated"]: "40"}), *unified]
    assert resolve_checkpoints(back_to_tiered, semantic, raw) == Checkpoints(40, 30)
    # an expired checkpoint loses to one raw still holds; alone, it is returned (the job reports it)
    expired = [SnapshotInfo(2, T0, {CHECKPOINT_KEYS["semantic"]: "99"})]
    assert resolve_checkpoints(unified, expired, raw) == Checkpoints(30, 30)
    assert resolve_checkpoints([], expired, raw) == Checkpoints(None, 99)


def test_one_layer_reprocess_rule_and_catalog_conf() -> None:
    assert one_layer_reprocess_problem(True, "semantic", False) is not None
    assert one_layer_reprocess_problem(True, "semantic", True) is None
    assert one_layer_reprocess_problem(False, "curated", False) is None
    assert one_layer_reprocess_problem(True, "both", False) is None
    glue = catalog_conf("glue", "s3://bucket/warehouse")
    assert glue["spark.sql.catalog.lakehouse.type"] == "glue" and glue["spark.sql.caseSensitive"] == "true"
    with pytest.raises(ValueError, match="unknown catalog type"):
        catalog_conf("hive", "x")
