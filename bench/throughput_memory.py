"""Benchmark 5: throughput and driver memory of the unified job at growing sizes.

    python -m bench.throughput_memory --sizes small|full [--in-process]

One raw table is generated in equal batches (one snapshot each); a size is a first
run up to the snapshot holding that many rows (``to_snapshot_inclusive``), on fresh
output tables. Each size runs in its own Python process and JVM (after one untimed
warm-up run on the first batch), so its peak memory is its own: the peak resident
set (RSS) of the driver's Python process and of its JVM (in local mode the JVM is
driver and executors), sampled from ``/proc/<pid>/status`` every 0.2 s and read
from ``VmHWM`` after resetting it through ``/proc/<pid>/clear_refs``.
``--in-process`` measures in this process instead (the smoke test does; memory peaks
then include what came before). Reported: rows/s per size, the per-row time ratio of
the largest to the smallest size, memory peaks. Target (the issue names the ratio but
no bound; this is the reading used): per-row time at the largest size <= at the
smallest, i.e. the job scales linearly or better.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bench.common import (
    REPO,
    BenchContext,
    BenchmarkError,
    BenchResult,
    BenchTopic,
    Check,
    RawWriter,
    Sizes,
    Stats,
    Table,
    Target,
    configure_process,
    drop_outputs,
    fmt,
    median_durations,
    paired_ratios,
    prepare_topic,
    repo_env,
    run_job,
    run_spark_cli,
    warm_up,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "throughput_memory"
PREFIX = "tpm"
CHILD_FLAG = "--child"
CHILD_RESULT = "BENCH_CHILD_RESULT "
SAMPLE_INTERVAL_S = 0.2
TARGET = Target("per-row time at the largest size <= at the smallest (linear or better)", (Check("ratio", "<=", 1.0),))


@dataclass(frozen=True)
class Params:
    sizes: tuple[int, ...]

    @property
    def batch_rows(self) -> int:
        """Rows per raw snapshot: every size must end on a snapshot."""
        return math.gcd(*self.sizes)


PARAMS: dict[Sizes, Params] = {
    "small": Params(sizes=(2_000, 8_000)),
    "full": Params(sizes=(100_000, 1_000_000, 5_000_000)),
}


# --- memory -------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def rss_mb(pid: int) -> float | None:
    """Resident set of ``pid`` in MiB (``/proc``, else psutil, else None)."""
    kb = _status_kb(pid, "VmRSS")
    if kb is not None:
        return kb / 1024
    try:
        import psutil

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except Exception:  # psutil missing or the process gone: no figure rather than a crash
        return None


def _reset_peak(pid: int) -> bool:
    """Reset the kernel's peak RSS (VmHWM) of ``pid`` to its current RSS (Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRss:
    """Peak resident memory of some processes over a ``with`` block, in MiB."""

    def __init__(self, pids: Mapping[str, int], interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.pids = dict(pids)
        self.interval_s = interval_s
        self.before: dict[str, float | None] = {}
        self.peak: dict[str, float | None] = {}
        self._hwm_reset: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def __enter__(self) -> PeakRss:
        for name, pid in self.pids.items():
            self._hwm_reset[name] = _reset_peak(pid)
            self.before[name] = self.peak[name] = rss_mb(pid)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def _take(self) -> None:
        for name, pid in self.pids.items():
            self._raise(name, rss_mb(pid))

    def _raise(self, name: str, value: float | None) -> None:
        current = self.peak.get(name)
        if value is not None and (current is None or value > current):
            self.peak[name] = value

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._take()
        for name, pid in self.pids.items():
            hwm = _status_kb(pid, "VmHWM") if self._hwm_reset[name] else None
            self._raise(name, None if hwm is None else hwm / 1024)


def jvm_pid(spark: SparkSession) -> int:
    """Process id of the session's JVM (the driver; in local mode also the executors)."""
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise BenchmarkError("the Spark session has no JVM gateway")
    return int(jvm.java.lang.ProcessHandle.current().pid())


# --- measurement --------------------------------------------------------------------


@dataclass(frozen=True)
class SizeMeasurement:
    rows: int
    walls_s: list[float]
    python_peak_mb: float | None
    jvm_peak_mb: float | None
    python_before_mb: float | None
    jvm_before_mb: float | None
    durations_s_median: dict[str, float]
    isolated: bool

    @property
    def rows_per_s(self) -> Stats:
        return Stats.of(self.rows / w for w in self.walls_s)


def measure_size(
    spark: SparkSession, topic: BenchTopic, rows: int, snapshot_id: int, repeat: int, *, isolated: bool = False
) -> SizeMeasurement:
    """``repeat`` first runs up to ``snapshot_id`` (``rows`` raw rows), with memory peaks."""
    pids = {"python": os.getpid(), "jvm": jvm_pid(spark)}
    walls, reports = [], []
    peaks: dict[str, list[float]] = {"python": [], "jvm": []}
    before: dict[str, float | None] = {}
    for index in range(repeat):
        drop_outputs(spark, topic)
        with PeakRss(pids) as memory:
            run = run_job(spark, topic, f"{NAME}-{rows}-{index}", to_snapshot_inclusive=snapshot_id)
        if run.report.raw.rows_read != rows:
            raise BenchmarkError(f"topic {topic.topic}: read {run.report.raw.rows_read} rows, expected {rows}")
        walls.append(run.wall_s)
        reports.append(run.report)
        before = before or memory.before
        for name in peaks:
            value = memory.peak.get(name)
            if value is not None:
                peaks[name].append(value)
    drop_outputs(spark, topic)
    return SizeMeasurement(
        rows=rows,
        walls_s=walls,
        python_peak_mb=max(peaks["python"], default=None),
        jvm_peak_mb=max(peaks["jvm"], default=None),
        python_before_mb=before.get("python"),
        jvm_before_mb=before.get("jvm"),
        durations_s_median=median_durations(reports),
        isolated=isolated,
    )


@dataclass(frozen=True)
class ChildTask:
    """What a child process measures (passed as JSON on its command line)."""

    warehouse: str
    topic: BenchTopic
    rows: int
    snapshot_id: int
    warmup_snapshot_id: int | None
    repeat: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ChildTask:
        doc = json.loads(text)
        doc["topic"] = BenchTopic(**doc["topic"])
        return cls(**doc)


def measure_in_child(task: ChildTask) -> SizeMeasurement:
    """Run ``measure_size`` in a new Python process with its own JVM."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.throughput_memory", CHILD_FLAG, task.to_json()],
        cwd=REPO,
        env=repo_env(),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(CHILD_RESULT)]
    if done.returncode != 0 or not lines:
        raise BenchmarkError(f"size {task.rows}: measuring process failed ({done.returncode}), see its stderr above")
    return SizeMeasurement(**json.loads(lines[-1][len(CHILD_RESULT) :]))


def child_main(task_json: str) -> int:
    configure_process()
    from spark_jobs.session import build_session

    task = ChildTask.from_json(task_json)
    spark = build_session("hadoop", task.warehouse, app_name=f"bench-{NAME}-{task.rows}")
    try:
        if task.warmup_snapshot_id is not None:
            drop_outputs(spark, task.topic)
            run_job(spark, task.topic, f"{NAME}-warmup", to_snapshot_inclusive=task.warmup_snapshot_id)
        measurement = measure_size(spark, task.topic, task.rows, task.snapshot_id, task.repeat, isolated=True)
    finally:
        spark.stop()
    print(CHILD_RESULT + json.dumps(asdict(measurement)), flush=True)
    return 0


def run_throughput_memory(
    spark: SparkSession, ctx: BenchContext, params: Params, *, isolate: bool = False
) -> BenchResult:
    """Throughput and memory per size; ``isolate`` runs each size in its own process (needs ``ctx.warehouse``)."""
    sizes = sorted(set(params.sizes))
    if len(sizes) < 2:
        raise ValueError(f"need at least two sizes, got {params.sizes}")
    if isolate and ctx.warehouse is None:
        raise ValueError("isolated measurements need the warehouse path (BenchContext.warehouse)")
    if not isolate:
        warm_up(spark, ctx)
    topic = prepare_topic(spark, ctx, "orders")
    batch_rows = params.batch_rows
    snapshot_ids = RawWriter(spark, topic.tables.raw).write(sizes[-1], batch_rows)
    measurements: list[SizeMeasurement] = []
    for rows in sizes:
        snapshot_id = snapshot_ids[rows // batch_rows - 1]
        if isolate:
            assert ctx.warehouse is not None
            task = ChildTask(
                ctx.warehouse, topic, rows, snapshot_id, snapshot_ids[0] if ctx.warmup else None, ctx.repeat
            )
            measurements.append(measure_in_child(task))
        else:
            measurements.append(measure_size(spark, topic, rows, snapshot_id, ctx.repeat))

    smallest, largest = measurements[0], measurements[-1]
    per_row_ratio = paired_ratios(
        [w / largest.rows for w in largest.walls_s], [w / smallest.rows for w in smallest.walls_s]
    )
    return BenchResult(
        name=NAME,
        title="unified job throughput and driver memory by size",
        figure=largest.rows_per_s,
        figure_label=f"rows/s at {largest.rows:,} rows",
        unit="rows/s",
        baseline=smallest.rows_per_s,
        baseline_label=f"rows/s at {smallest.rows:,} rows",
        ratio=per_row_ratio,
        ratio_label=f"per-row time {largest.rows:,} / {smallest.rows:,}",
        target=TARGET,
        rows=largest.rows,
        rows_label="raw rows at the largest size",
        sizes=ctx.sizes,
        repeat=ctx.repeat,
        details={
            "params": {"sizes": list(sizes), "batch_rows": batch_rows},
            "isolated_processes": isolate,
            "per_size": [_size_doc(m) for m in measurements],
            "memory_note": (
                "peak RSS in MiB of the Python driver process and of its JVM (local mode: driver and "
                "executors in one JVM, heap capped by spark.driver.memory)"
            ),
        },
        tables=[_size_table(measurements)],
    )


def _size_doc(m: SizeMeasurement) -> dict[str, Any]:
    walls = Stats.of(m.walls_s)
    return {
        "rows": m.rows,
        "wall_s": walls.to_dict(),
        "rows_per_s": m.rows_per_s.to_dict(),
        "per_row_us": round(1e6 * walls.median / m.rows, 2),
        "python_peak_rss_mb": _mb(m.python_peak_mb),
        "jvm_peak_rss_mb": _mb(m.jvm_peak_mb),
        "python_rss_before_mb": _mb(m.python_before_mb),
        "jvm_rss_before_mb": _mb(m.jvm_before_mb),
        "durations_s_median": m.durations_s_median,
    }


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _size_table(measurements: Sequence[SizeMeasurement]) -> Table:
    rows = tuple(
        (
            f"{m.rows:,}",
            fmt(Stats.of(m.walls_s).median),
            fmt(m.rows_per_s.median),
            fmt(1e6 * Stats.of(m.walls_s).median / m.rows),
            fmt(m.python_peak_mb),
            fmt(m.jvm_peak_mb),
            fmt(m.jvm_before_mb),
        )
        for m in measurements
    )
    return Table(
        "per size (medians; memory: peak RSS MiB over the repeats)",
        ("rows", "wall s", "rows/s", "us/row", "python peak", "JVM peak", "JVM before"),
        rows,
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, action="append", help="raw rows per size (repeatable)")
    parser.add_argument(
        "--in-process", action="store_true", help="measure every size in this process (no memory isolation)"
    )


def _body(spark: SparkSession, ctx: BenchContext, args: argparse.Namespace) -> BenchResult:
    params = Params(sizes=tuple(args.size)) if args.size else PARAMS[ctx.sizes]
    return run_throughput_memory(spark, ctx, params, isolate=not args.in_process)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [CHILD_FLAG]:
        return child_main(argv[1])
    return run_spark_cli(NAME, PREFIX, (__doc__ or NAME).splitlines()[0], _body, argv, _add_arguments)


if __name__ == "__main__":
    sys.exit(main())
