"""Parse payload JSON into a struct whose leaves are the values' own JSON text.

Spark's JSON reader discovers the structure of the increment (one pass, in the JVM);
then ``from_json`` parses with that structure but every leaf as STRING. For a STRING
leaf Spark keeps the value's text (strings, integers, booleans) and writes
objects/arrays that sit where a scalar is expected as JSON text: exactly the curated
layer's "all STRING, arrays as JSON" and the raw material for the semantic casts.
Fractions and exponents would go through a double on the way: ``exact_numbers`` keeps
their tokens. A field that is an object in some rows and a scalar in others is
inferred as STRING, so no row is lost to a shape conflict (the object is its JSON
text); rows that are not a JSON object land in ``_corrupt`` (malformed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import faults
from spark_jobs.jvm import register_functions
from spark_jobs.parse import exact_numbers
from spark_jobs.parse.column_bounds import OVERFLOW, overflow_json
from spark_jobs.parse.depth import SENT_PAYLOAD

# A \uD800-\uDFFF escape that is not half of a pair: valid JSON syntax, but no UTF-8
# text can hold it (Spark would store "?"), so such a payload is malformed and kept
# whole in curated's _malformed_payload instead of being changed.
_LONE_SURROGATE = (
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)

PARSED = "_p"
_MARKED = "_exact_numbers_marked"
CORRUPT = "_corrupt"
MALFORMED = "_malformed"
PARSE_FAILED = "_parse_failed"
"""Why a row's payload was not parsed (``parse/batch.py``: too large, or a poison event); null on the others."""
TOO_LARGE = "payload_too_large"
Path = tuple[str, ...]


def infer_payload_structure(spark: SparkSession, df: DataFrame) -> T.StructType:
    """Structure of all payloads in ``df`` (Spark's JSON schema inference)."""
    payloads = df.select(F.col("payload").alias("value")).where(F.col("payload").isNotNull())
    encoder = spark._jvm.org.apache.spark.sql.Encoders.STRING()  # type: ignore[union-attr]
    jdataset = getattr(payloads._jdf, "as")(encoder)  # Dataset[String] without Python rows
    reader = spark._jsparkSession.read().option("columnNameOfCorruptRecord", CORRUPT)
    inferred = T.StructType.fromJson(json.loads(reader.json(jdataset).schema().json()))
    return _unique_fields(T.StructType([f for f in inferred.fields if f.name != CORRUPT]))


def _unique_fields(schema: T.StructType) -> T.StructType:
    """Drop repeated names: a payload with a duplicate key (``{"a":1,"a":2}``) makes
    inference list the field twice; parsing then keeps the last value, like most
    JSON parsers."""
    seen: set[str] = set()
    fields = []
    for f in schema.fields:
        if f.name in seen:
            continue
        seen.add(f.name)
        data_type = _unique_fields(f.dataType) if isinstance(f.dataType, T.StructType) else f.dataType
        fields.append(T.StructField(f.name, data_type, f.nullable))
    return T.StructType(fields)


def string_leaves(schema: T.StructType) -> T.StructType:
    """Same nesting of objects; every non-object value as STRING."""
    return T.StructType(
        [
            T.StructField(
                f.name,
                string_leaves(f.dataType) if isinstance(f.dataType, T.StructType) else T.StringType(),
            )
            for f in schema.fields
        ]
    )


def with_paths(schema: T.StructType, paths: Iterable[Path]) -> T.StructType:
    """Add contract paths the increment lacks, so every contract field can be read.

    A path blocked by a scalar already at a prefix is left out: that field then reads
    as null (missing) instead of making whole rows unparseable.
    """
    result = schema
    for path in paths:
        result = _add_path(result, path)
    return result


def _add_path(schema: T.StructType, path: Path) -> T.StructType:
    head, rest = path[0], path[1:]
    existing = next((f for f in schema.fields if f.name == head), None)
    if existing is None:
        leaf: T.DataType = _add_path(T.StructType([]), rest) if rest else T.StringType()
        return T.StructType([*schema.fields, T.StructField(head, leaf)])
    if not rest or not isinstance(existing.dataType, T.StructType):
        return schema
    updated = T.StructField(head, _add_path(existing.dataType, rest))
    return T.StructType([updated if f.name == head else f for f in schema.fields])


def parse_payload(
    df: DataFrame,
    structure: T.StructType,
    *,
    parse_where: Column | None = None,
    keep_payload: Column | None = None,
    overflow: dict[Path, list[str]] | None = None,
) -> DataFrame:
    """Add ``_p`` (the parsed payload, every leaf STRING: ``string_leaves``), ``_corrupt``
    (payload text if not an object), ``_malformed`` and, when the structure was bounded
    with overflow keys, ``_overflow`` (``overflow``: ``BoundedStructure.overflow_filters``, read by
    ``column_bounds.overflow_json``).

    Only rows where ``parse_where`` holds are parsed; the others get null ``_p`` and
    ``_malformed``, and lose their payload. Once parsed, the payload text is kept only
    for malformed rows (curated shows it) and where ``keep_payload`` holds: the parsed
    rows are cached, and the text would double their size.

    ``structure``: the increment's inferred structure (typed leaves tell which leaves
    can hold a marked number, ``exact_numbers.leaf_restore``; given as STRING leaves,
    every leaf is restored).
    """
    register_functions(df.sparkSession)
    schema = T.StructType([*string_leaves(structure).fields, T.StructField(CORRUPT, T.StringType())])
    if PARSE_FAILED not in df.columns:
        df = df.withColumn(PARSE_FAILED, F.lit(None).cast("string"))
    # once per row, read by every leaf; only on the rows that are parsed
    marked_text = exact_numbers.mark(F.col("payload"), leaf_paths(structure))
    df = df.withColumn(_MARKED, marked_text if parse_where is None else F.when(parse_where, marked_text))
    marked = F.col(_MARKED).isNotNull()
    parsed = faults.poisoned(
        F.col("payload"),
        F.from_json(
            F.coalesce(F.col(_MARKED), F.col("payload")),
            schema,
            {"columnNameOfCorruptRecord": CORRUPT, "mode": "PERMISSIVE"},
        ),
    )
    malformed = (
        F.col("payload").isNull()
        | F.col(PARSED).isNull()
        | F.col(CORRUPT).isNotNull()
        | _has_lone_surrogate(F.col("payload"))
    )
    if parse_where is not None:
        parsed, malformed = F.when(parse_where, parsed), F.when(parse_where, malformed)
    out = df.withColumn(PARSED, parsed).withColumn(CORRUPT, F.col(f"{PARSED}.{CORRUPT}"))
    out = out.withColumn(MALFORMED, malformed)
    # A malformed row has no fields (a lone surrogate parses, but into changed text).
    out = out.withColumn(PARSED, F.when(~F.col(MALFORMED), _restored(F.col(PARSED), structure, marked)))
    if overflow:
        extra = overflow_json(F.col("payload"), overflow, F.col(_MARKED))
        out = out.withColumn(OVERFLOW, extra if parse_where is None else F.when(parse_where, extra))
    out = out.drop(_MARKED)
    # A payload kept as text is the one sent, not its depth-bounded rewrite (parse/depth.py).
    sent = F.coalesce(F.col(SENT_PAYLOAD), F.col("payload")) if SENT_PAYLOAD in out.columns else F.col("payload")
    if keep_payload is None and parse_where is None:
        return out.withColumn("payload", sent).drop(SENT_PAYLOAD)
    keep = F.col(MALFORMED) if keep_payload is None else F.col(MALFORMED) | keep_payload
    return out.withColumn("payload", F.when(keep, sent)).drop(SENT_PAYLOAD)


def _has_lone_surrogate(payload: Column) -> Column:
    maybe = payload.contains("\\ud") | payload.contains("\\uD")  # a byte scan before the regex
    return maybe & payload.rlike(_LONE_SURROGATE)


def _restored(parsed: Column, structure: T.StructType, marked: Column) -> Column:
    """``parsed`` rebuilt with every leaf's number tokens restored (``exact_numbers``)."""

    def rebuild(column: Column, schema: T.StructType) -> Column:
        fields = []
        for f in schema.fields:
            child = column.getField(f.name)
            if isinstance(f.dataType, T.StructType) and f.dataType.fields:
                child = F.when(child.isNotNull(), rebuild(child, f.dataType))
            elif not isinstance(f.dataType, T.StructType):
                restore = exact_numbers.leaf_restore(f.dataType)
                child = child if restore is None else restore(child, marked)
            fields.append(child.alias(f.name))
        return F.struct(*fields)

    if not structure.fields:
        return parsed
    return F.when(parsed.isNotNull(), rebuild(parsed, structure))


def is_malformed() -> Column:
    """Payload null, empty, not JSON, or not a JSON object (after ``parse_payload``)."""
    return F.col(MALFORMED)


def leaf_paths(schema: T.StructType, prefix: Path = ()) -> list[Path]:
    """Every leaf path of ``schema`` (objects are walked; arrays are leaves)."""
    paths: list[Path] = []
    for f in schema.fields:
        if f.name == CORRUPT and not prefix:
            continue
        if isinstance(f.dataType, T.StructType) and f.dataType.fields:
            paths.extend(leaf_paths(f.dataType, (*prefix, f.name)))
        elif not isinstance(f.dataType, T.StructType):
            paths.append((*prefix, f.name))
    return paths


def value_at(path: Path) -> F.Column:
    """The parsed value (JSON text) at ``path``; null if absent."""
    column = F.col(PARSED)
    for part in path:
        column = column.getField(part)
    return column
