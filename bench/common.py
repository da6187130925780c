"""Shared code of the benchmarks.

Timing and statistics (median and spread of repeats), the result JSON every benchmark
writes to ``bench/results/<name>.json``, the Spark session on a throw-away warehouse,
per-benchmark topics (a copy of the ``orders`` contract and suite under another name),
raw data from the demo generator, and job runs that fail loudly.

Heavy modules (pyspark, the job, the generator) are imported inside the functions that
need them: ``bench.dag_parse_scaling`` imports this module and must not pre-import
anything a DAG file could then get for free.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from pyspark.sql import SparkSession

    from demo.raw_events import GeneratorState, RawEvent
    from spark_jobs.config.job_args import JobArgs
    from spark_jobs.report.run_report import RunReport
    from spark_jobs.tables import TopicTables

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
"""Full-size results; smoke-size results go to ``RESULTS_DIR / "small"`` so they never overwrite evidence."""

Sizes = Literal["small", "full"]
SIZES: tuple[Sizes, ...] = ("small", "full")
DEFAULT_REPEAT = 3
TEMPLATE_TOPIC = "orders"
"""Demo topic whose generator profile, contract and suite every benchmark topic copies."""
SEED = 7
BENCH_HASH_KEY = "bench-only-hmac-key-not-a-secret"
"""Used when ``PII_HASH_KEY`` is unset: the benchmarks hash PII like production does."""
STEP_ORDER = ("plan", "read", "structure", "dedup", "drift", "curated", "semantic", "total")
"""Keys of the job's ``durations_s``, in pipeline order."""

log = logging.getLogger("bench")
ParamsT = TypeVar("ParamsT", bound="DataclassInstance")
"""A benchmark's frozen ``Params`` dataclass."""


class BenchmarkError(RuntimeError):
    """A benchmark could not measure what it claims to (failed run, wrong set-up)."""


# --- timing and statistics ----------------------------------------------------------


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as elapsed: ...`` then ``elapsed[0]`` holds the seconds."""
    elapsed: list[float] = []
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.append(time.perf_counter() - start)


@dataclass(frozen=True)
class Stats:
    """Repeated measurements of one quantity: median and spread."""

    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Iterable[float]) -> Stats:
        values = tuple(float(s) for s in samples)
        if not values:
            raise ValueError("no samples")
        return cls(values)

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))

    @property
    def minimum(self) -> float:
        return min(self.samples)

    @property
    def maximum(self) -> float:
        return max(self.samples)

    @property
    def spread_pct(self) -> float:
        """(max - min) / median, in percent: how far apart the repeats were."""
        median = self.median
        return 0.0 if median == 0 else 100.0 * (self.maximum - self.minimum) / abs(median)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": _round(self.median),
            "min": _round(self.minimum),
            "max": _round(self.maximum),
            "spread_pct": round(self.spread_pct, 1),
            "samples": [_round(s) for s in self.samples],
        }


def _round(value: float) -> float:
    """Four significant digits: enough for timings, short in JSON."""
    return float(f"{value:.4g}")


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Stats:
    """Ratio per repeat (both measured side by side in the same repeat), as Stats."""
    if len(numerators) != len(denominators):
        raise ValueError("paired ratios need as many numerators as denominators")
    return Stats.of(n / d for n, d in zip(numerators, denominators, strict=True))


def median_durations(reports: Sequence[RunReport]) -> dict[str, float]:
    """Median seconds per job step over ``reports`` (pipeline order, unknown steps last)."""
    steps = sorted({k for r in reports for k in r.durations_s}, key=_step_rank)
    return {s: _round(statistics.median(r.durations_s.get(s, 0.0) for r in reports)) for s in steps}


def _step_rank(step: str) -> tuple[int, str]:
    return (STEP_ORDER.index(step), step) if step in STEP_ORDER else (len(STEP_ORDER), step)


# --- targets and results ------------------------------------------------------------

Metric = Literal["figure", "ratio"]
Op = Literal["<", "<="]


@dataclass(frozen=True)
class Check:
    """One bound on the median figure or the median ratio."""

    metric: Metric
    op: Op
    value: float

    def holds(self, figure: float, ratio: float) -> bool:
        x = figure if self.metric == "figure" else ratio
        return x < self.value if self.op == "<" else x <= self.value

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class Target:
    text: str
    checks: tuple[Check, ...]

    def met(self, figure: float, ratio: float) -> bool:
        return all(c.holds(figure, ratio) for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "checks": [c.to_dict() for c in self.checks]}


@dataclass(frozen=True)
class Table:
    """An extra table printed under a result (per-step profile, per-size figures...)."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class BenchResult:
    """What a benchmark measured; ``to_dict`` is the result JSON."""

    name: str
    title: str
    figure: Stats
    figure_label: str
    unit: str
    baseline: Stats
    baseline_label: str
    ratio: Stats
    ratio_label: str
    target: Target
    rows: int
    rows_label: str
    sizes: Sizes
    repeat: int
    details: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=lambda: machine_info())

    @property
    def meets_target(self) -> bool:
        return self.target.met(self.figure.median, self.ratio.median)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "sizes": self.sizes,
            "evidence": self.sizes == "full",
            "note": "full size" if self.sizes == "full" else "smoke size: checks the script runs, not evidence",
            "figure": _round(self.figure.median),
            "figure_label": self.figure_label,
            "unit": self.unit,
            "figure_stats": self.figure.to_dict(),
            "baseline_figure": _round(self.baseline.median),
            "baseline_label": self.baseline_label,
            "baseline_stats": self.baseline.to_dict(),
            "ratio": _round(self.ratio.median),
            "ratio_label": self.ratio_label,
            "ratio_stats": self.ratio.to_dict(),
            "target": self.target.to_dict(),
            "meets_target": self.meets_target,
            "rows": self.rows,
            "rows_label": self.rows_label,
            "repeat": self.repeat,
            "machine_cores": self.machine.get("cores"),
            "machine": self.machine,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "details": self.details,
        }

    def write(self, results_dir: Path) -> Path:
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{self.name}.json"
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path

    def render(self) -> str:
        size_note = "" if self.sizes == "full" else "  [smoke size: not evidence]"
        lines = [
            f"== {self.name}: {self.title}{size_note}",
            f"{self.rows_label}: {self.rows}   repeat: {self.repeat}   cores: {self.machine.get('cores')}",
            format_table(
                ("measure", "median", "min", "max", "spread"),
                [
                    (f"{label} ({unit})", *_stats_cells(stats))
                    for label, unit, stats in (
                        (self.figure_label, self.unit, self.figure),
                        (self.baseline_label, self.unit, self.baseline),
                        (self.ratio_label, "x", self.ratio),
                    )
                ],
            ),
            f"target: {self.target.text}  ->  {'MET' if self.meets_target else 'MISSED'}",
        ]
        for table in self.tables:
            lines += ["", table.title, format_table(table.headers, table.rows)]
        return "\n".join(lines)


def _stats_cells(stats: Stats) -> tuple[str, str, str, str]:
    return (fmt(stats.median), fmt(stats.minimum), fmt(stats.maximum), f"{stats.spread_pct:.0f}%")


def fmt(value: float | None) -> str:
    """A number for a table cell: 3 significant digits, thousands grouped."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain, aligned text table (first column left, the others right)."""
    body = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in body)) if body else len(str(h)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in body)])


def machine_info() -> dict[str, Any]:
    """Where the figures were measured; the load average tells whether the machine was shared."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["usable_cores"] = len(os.sched_getaffinity(0))
    with suppress(ValueError, OSError, AttributeError):  # not POSIX: no memory figure
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    if hasattr(os, "getloadavg"):
        info["load_average_1_5_15m"] = [round(x, 2) for x in os.getloadavg()]
    return info


def session_info(spark: SparkSession) -> dict[str, Any]:
    conf = spark.sparkContext.getConf()
    return {
        "spark": spark.version,
        "master": spark.sparkContext.master,
        "driver_memory": conf.get("spark.driver.memory", "default"),
        "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
    }


# --- topics, raw data and job runs --------------------------------------------------


@dataclass(frozen=True)
class BenchContext:
    """Where a benchmark works and how hard it tries.

    ``prefix`` starts every topic name the benchmark creates, so several benchmarks
    (or tests) can share one session and warehouse without touching each other's tables.
    """

    work_dir: Path
    prefix: str
    sizes: Sizes = "small"
    repeat: int = DEFAULT_REPEAT
    warmup: bool = True
    warehouse: str | None = None
    """The session's warehouse, when the benchmark may start other processes on it."""

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {self.repeat}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.prefix):
            raise ValueError(f"prefix {self.prefix!r} is not a valid start of a topic name ([a-z][a-z0-9_]*)")


@dataclass(frozen=True)
class BenchTopic:
    """A benchmark's topic: its own contract/suite copy and its four tables."""

    topic: str
    contracts_dir: str
    expectations_dir: str

    @property
    def tables(self) -> TopicTables:
        from spark_jobs.tables import TopicTables

        return TopicTables(self.topic)

    @property
    def output_tables(self) -> tuple[str, str, str]:
        t = self.tables
        return (t.curated, t.semantic, t.errors)

    def job_args(self, run_id: str, **changes: Any) -> JobArgs:
        from spark_jobs.config.job_args import JobArgs

        args = JobArgs(
            topic=self.topic,
            contracts_dir=self.contracts_dir,
            expectations_dir=self.expectations_dir,
            run_id=run_id,
        )
        return replace(args, **changes)


def prepare_topic(spark: SparkSession, ctx: BenchContext, suffix: str) -> BenchTopic:
    """Topic ``<prefix>_<suffix>`` with the ``orders`` contract and suite; its tables dropped."""
    topic = f"{ctx.prefix}_{suffix}"
    contracts, expectations = ctx.work_dir / "contracts", ctx.work_dir / "expectations"
    contracts.mkdir(parents=True, exist_ok=True)
    expectations.mkdir(parents=True, exist_ok=True)
    text, count = re.subn(
        rf"^topic:\s*{TEMPLATE_TOPIC}\s*$",
        f"topic: {topic}",
        (REPO / "contracts" / f"{TEMPLATE_TOPIC}.yaml").read_text(),
        count=1,
        flags=re.MULTILINE,
    )
    if count != 1:
        raise BenchmarkError(f"contracts/{TEMPLATE_TOPIC}.yaml has no 'topic: {TEMPLATE_TOPIC}' line to rename")
    (contracts / f"{topic}.yaml").write_text(text)
    shutil.copy(REPO / "expectations" / f"{TEMPLATE_TOPIC}.json", expectations / f"{topic}.json")
    bench_topic = BenchTopic(topic, str(contracts), str(expectations))
    drop_tables(spark, [bench_topic.tables.raw, *bench_topic.output_tables])
    return bench_topic


def drop_tables(spark: SparkSession, tables: Iterable[str]) -> None:
    for table in tables:
        spark.sql(f"DROP TABLE IF EXISTS {table} PURGE")


def drop_outputs(spark: SparkSession, topic: BenchTopic) -> None:
    """Back to a first run: the raw table stays, the three output tables go."""
    drop_tables(spark, topic.output_tables)


def current_snapshot_id(spark: SparkSession, table: str) -> int | None:
    from spark_jobs.read.snapshots import current_snapshot, table_exists

    if not table_exists(spark, table):
        return None
    snapshot = current_snapshot(spark, table)
    return None if snapshot is None else snapshot.snapshot_id


def count_rows(spark: SparkSession, table: str) -> int:
    from spark_jobs.read.snapshots import table_exists

    return int(spark.table(table).count()) if table_exists(spark, table) else 0


def output_counts(spark: SparkSession, topic: BenchTopic) -> dict[str, int]:
    """Rows in curated, semantic and errors (what two designs must agree on)."""
    return {
        layer: count_rows(spark, table)
        for layer, table in zip(("curated", "semantic", "errors"), topic.output_tables, strict=True)
    }


class RawWriter:
    """Appends demo-generator batches to one fresh raw table, one snapshot per batch.

    The generator state stays in memory (``demo.generate_raw.write_batches`` rebuilds it
    by regenerating all earlier batches on every call, which costs as much as the
    history is big). ``generate`` and ``append`` are separate so that one increment can
    be appended again after a rollback.
    """

    def __init__(self, spark: SparkSession, table: str, *, template: str = TEMPLATE_TOPIC, seed: int = SEED) -> None:
        from demo.generate_raw import ensure_raw_table
        from demo.raw_events import GeneratorState

        ensure_raw_table(spark, table)
        if current_snapshot_id(spark, table) is not None:
            raise BenchmarkError(f"raw table {table} already has snapshots: benchmarks write fresh tables")
        self.spark, self.table, self.template, self.seed = spark, table, template, seed
        self._state: GeneratorState = GeneratorState(template)
        self.rows_written = 0

    def generate(self, rows: int) -> list[RawEvent]:
        """The next batch of the sequence (``rows`` events), not yet written."""
        from demo.raw_events import generate_batch

        return generate_batch(self.template, self._state.batches_done, rows, self.seed, self._state)

    def append(self, events: Sequence[RawEvent]) -> int:
        """Append ``events`` as one snapshot; return its id."""
        from demo.generate_raw import append_snapshot, events_to_dataframe

        summary = {"bench.append-id": uuid.uuid4().hex, "bench.rows": str(len(events))}
        snapshot_id = append_snapshot(self.spark, self.table, events_to_dataframe(self.spark, events), summary)
        self.rows_written += len(events)
        return snapshot_id

    def write(self, rows: int, batch_rows: int) -> list[int]:
        """Append ``rows`` events in batches of ``batch_rows``; return the snapshot ids."""
        if rows < 1 or batch_rows < 1:
            raise ValueError(f"rows and batch_rows must be >= 1, got {rows} and {batch_rows}")
        snapshot_ids: list[int] = []
        remaining = rows
        with stopwatch() as elapsed:
            while remaining:
                snapshot_ids.append(self.append(self.generate(min(batch_rows, remaining))))
                remaining -= min(batch_rows, remaining)
                if len(snapshot_ids) % 10 == 0:
                    log.info("%s: %d of %d rows written", self.table, rows - remaining, rows)
        log.info("%s: %d rows in %d snapshots, %.1f s", self.table, rows, len(snapshot_ids), elapsed[0])
        return snapshot_ids


@dataclass(frozen=True)
class JobRun:
    wall_s: float
    report: RunReport


def run_job(spark: SparkSession, topic: BenchTopic, run_id: str, **changes: Any) -> JobRun:
    """One run of the unified job (``spark_jobs.unified_job.run``); anything but FULL_SUCCESS raises."""
    from spark_jobs.unified_job import run

    args = topic.job_args(run_id, **changes)
    with stopwatch() as elapsed:
        report = run(spark, args)
    if report.outcome != "FULL_SUCCESS":
        raise BenchmarkError(f"topic {topic.topic}: run {run_id} ended {report.outcome}: {report.reason}")
    log.info("%s: run %s %.1f s, %s rows read", topic.topic, run_id, elapsed[0], report.raw.rows_read)
    return JobRun(elapsed[0], report)


@dataclass(frozen=True)
class ProcessRun:
    """One run of the job as its own ``spark-submit`` process: wall time and its run report."""

    wall_s: float
    report: dict[str, Any]


def run_job_process(ctx: BenchContext, topic: BenchTopic, run_id: str, *extra: str) -> ProcessRun:
    """The job as its own ``spark-submit`` process on the benchmark's warehouse, as an EMR
    Serverless job run is: it pays its own JVM start, imports and warm-up. Anything but
    FULL_SUCCESS raises."""
    import subprocess

    from spark_jobs.local_submit import spark_submit_command

    if ctx.warehouse is None:
        raise BenchmarkError("process runs need the benchmark's warehouse path (BenchContext.warehouse)")
    report_path = ctx.work_dir / f"{run_id}.report.json"
    job_args = [
        "--topic",
        topic.topic,
        "--warehouse",
        ctx.warehouse,
        "--contracts-dir",
        topic.contracts_dir,
        "--expectations-dir",
        topic.expectations_dir,
        "--run-id",
        run_id,
        "--run-report",
        str(report_path),
        *extra,
    ]
    argv, env = spark_submit_command(job_args, extra_conf={"spark.ui.showConsoleProgress": "false"})
    with stopwatch() as elapsed:
        done = subprocess.run(argv, env=env, check=False, capture_output=True, text=True)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    if done.returncode != 0 or report.get("outcome") != "FULL_SUCCESS":
        tail = "\n".join((done.stderr or "").splitlines()[-15:])
        raise BenchmarkError(
            f"topic {topic.topic}: process run {run_id} exited {done.returncode}, outcome "
            f"{report.get('outcome')}: {report.get('reason')}\n{tail}"
        )
    log.info("%s: process run %s %.1f s", topic.topic, run_id, elapsed[0])
    return ProcessRun(elapsed[0], report)


WARMUP_ROWS: dict[Sizes, int] = {"small": 1_000, "full": 100_000}
"""Rows of the untimed warm-up run. At full size 1,000 rows did not warm a 1M-row run:
the first one of each process took 98-114 s, the later ones 69-79 s (2026-11-27)."""


def warm_up(spark: SparkSession, ctx: BenchContext, rows: int | None = None) -> None:
    """One untimed run on its own topic: class loading and JIT are not charged to the first measurement."""
    if not ctx.warmup:
        return
    rows = WARMUP_ROWS[ctx.sizes] if rows is None else rows
    topic = prepare_topic(spark, ctx, "warmup")
    RawWriter(spark, topic.tables.raw).write(rows, rows)
    run_job(spark, topic, "warmup")
    drop_tables(spark, [topic.tables.raw, *topic.output_tables])


# --- command line -------------------------------------------------------------------


def bench_parser(description: str, *, spark_options: bool = True) -> argparse.ArgumentParser:
    """Options every benchmark takes (``spark_options``: those of the Spark benchmarks too)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--sizes",
        choices=SIZES,
        required=True,
        help="small: tiny smoke sizes (minutes); full: the issue's sizes (see docs/BENCHMARKS.md)",
    )
    parser.add_argument("--repeat", type=_positive, default=DEFAULT_REPEAT, help="measurements per figure")
    parser.add_argument(
        "--results-dir",
        type=Path,
        help=f"where <name>.json goes (default {RESULTS_DIR.relative_to(REPO)}, or its small/ for --sizes small)",
    )
    if not spark_options:
        return parser
    parser.add_argument("--work-dir", type=Path, help="parent of the throw-away warehouse (default: system temp)")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the warehouse for inspection")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    return parser


def params_with_overrides(defaults: ParamsT, args: argparse.Namespace) -> ParamsT:
    """The size's default parameters, each replaced by its command-line option when given."""
    changes = {f.name: getattr(args, f.name) for f in fields(defaults) if getattr(args, f.name, None)}
    return replace(defaults, **changes)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def repo_env() -> dict[str, str]:
    """Environment for a benchmark subprocess: the repo and plugins/ importable."""
    env = dict(os.environ)
    paths = [str(REPO), str(REPO / "plugins"), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("TQDM_DISABLE", "1")
    return env


def results_dir_for(explicit: Path | None, sizes: Sizes) -> Path:
    if explicit is not None:
        return explicit
    return RESULTS_DIR if sizes == "full" else RESULTS_DIR / "small"


def configure_process() -> None:
    """Logging, quiet Spark/GX, and a PII hash key for a benchmark process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("py4j", "great_expectations", "unified_job"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("PII_HASH_KEY", BENCH_HASH_KEY)
    # Spark's console progress bars would interleave with the tables.
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")


SparkBody = Callable[["SparkSession", BenchContext, argparse.Namespace], BenchResult]


def run_spark_cli(
    name: str,
    prefix: str,
    description: str,
    body: SparkBody,
    argv: Sequence[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Standalone entry point: own warehouse under a temp dir, run, print, write JSON."""
    parser = bench_parser(description)
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    configure_process()
    from spark_jobs.session import build_session

    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=args.work_dir))
    warehouse = str(work / "warehouse")
    spark = build_session("hadoop", warehouse, app_name=f"bench-{name}")
    try:
        ctx = BenchContext(
            work_dir=work,
            prefix=prefix,
            sizes=args.sizes,
            repeat=args.repeat,
            warmup=not args.no_warmup,
            warehouse=warehouse,
        )
        result = body(spark, ctx, args)
        result.details.setdefault("session", session_info(spark))
        path = result.write(results_dir_for(args.results_dir, args.sizes))
        print(result.render(), flush=True)
        print(f"wrote {path}", flush=True)
    finally:
        spark.stop()
        if args.keep_work_dir:
            log.info("work dir kept: %s", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0
