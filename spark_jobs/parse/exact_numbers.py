"""Keep every JSON number exactly as sent: its own token, never a double's text.

Spark's JSON parser hands a number that sits in a STRING field to Jackson's
``copyCurrentStructure``, which writes a fraction or exponent through a ``double``:
``12345678.5`` becomes ``1.23456785E7``, ``100.10`` becomes ``100.1``,
``1234567890.123456789`` loses its last digits and ``1e400`` becomes ``"Infinity"``.
No JSON option of Spark 3.5 changes that (``prefersDecimal`` only affects inference,
and a DECIMAL field still cannot hold 1e400 or 40 digits), and a Python UDF would
parse every payload a second time. So, before ``from_json``, every fraction/exponent
token and every ``NaN``/``Infinity`` token outside a string is quoted (:func:`mark`,
``MarkNumbers`` in ``spark_jobs/jvm``: one pass over the bytes in the JVM):

- a token that is the value of one of the parsed struct's leaves becomes a plain JSON
  string, ``1.50`` -> ``"1.50"``: the STRING field reads the token as sent, nothing to
  undo;
- any other token (inside an array, or inside an object a leaf keeps as JSON text)
  becomes a string that starts with a NUL character, ``"\\u00001.50"``; in the JSON
  text Spark writes for that leaf it is the quoted escape again, and
  :func:`restore_nested` turns it back into the number ``1.50``.

So curated holds the token itself (``1.50``, ``1e400``, ``NaN``) and nested JSON keeps
it as a number. Integers need none of this: Spark already writes them digit for digit.
String literals are skipped whole (digits inside strings are never touched) and a token
must be a whole JSON number (``01.5``, ``.5``, ``1.`` stay as they are, so a malformed
payload stays malformed).

The marker is unambiguous because it is only used on payloads that do not contain the
escape ``\\u0000`` already (a raw NUL is not valid JSON): the function returns null for
those, and for payloads with nothing to quote, and the caller parses the payload as
sent; such a payload's fractions show Java's form (docs/RELIABILITY.md lists this as
the one exception).

Cost (bench/distance_to_limit.py, "exact numbers"): the regular expression this
replaced, over the whole payload, plus restoring every leaf, made the parse 2.5 x a
plain ``from_json``; only text and array leaves are looked at now
(:func:`leaf_restore`), and only for a marker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

Path = tuple[str, ...]
NUL = "\x00"
ESCAPED_NUL = "\\u0000"  # the six characters of the JSON escape
MARK_NUMBERS = "lakehouse_mark_numbers"
RESTORE_NESTED = r'"\\u0000([^"\\]*+)"'  # a marked token inside JSON text Spark wrote


def mark(payload: Column, leaf_paths: Iterable[Path] = ()) -> Column:
    """The payload with its fraction/exponent/NaN/Infinity tokens quoted (module
    docstring); null where nothing was quoted. ``leaf_paths``: the parsed struct's
    leaves, whose tokens are quoted without a marker (register the ``spark_jobs.jvm``
    functions first)."""
    # A binary literal reaches the function as the same array on every row: parsed once.
    paths = json.dumps([list(p) for p in leaf_paths], ensure_ascii=False).encode()
    return F.call_udf(MARK_NUMBERS, payload.cast("binary"), F.lit(bytearray(paths))).cast("string")


def restore(value: Column, marked: Column) -> Column:
    """A value parsed from a marked payload with every marker removed: a marked token on
    its own (``NUL1.50``, a value of a key outside the struct) or inside JSON text.
    ``marked``: the row's payload was marked (:func:`mark` was not null)."""
    return (
        F.when(~marked, value)
        .when(value.startswith(NUL), value.substr(F.lit(2), F.length(value)))
        .when(value.contains(ESCAPED_NUL), F.regexp_replace(value, RESTORE_NESTED, "$1"))
        .otherwise(value)
    )


def restore_nested(value: Column, marked: Column) -> Column:
    """A leaf's value with the markers inside its JSON text removed (a leaf's own token
    is never marked)."""
    return F.when(marked & value.contains(ESCAPED_NUL), F.regexp_replace(value, RESTORE_NESTED, "$1")).otherwise(value)


_NEVER_TEXT = (T.NumericType, T.BooleanType)


def leaf_restore(inferred: T.DataType) -> Callable[[Column, Column], Column] | None:
    """How to restore a leaf Spark inferred as ``inferred`` (None: nothing to restore).

    Inference reads the same payloads: a leaf inferred as a number or boolean never held
    an object or array (that would have made it text), so no JSON text with markers.
    Anything else (text, arrays, objects kept as text, fields added from the contract)
    may.
    """
    return None if isinstance(inferred, _NEVER_TEXT) else restore_nested
