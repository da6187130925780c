"""Keep every JSON number exactly as sent: its own token, never a double's text.

Spark's JSON parser hands a number that sits in a STRING field to Jackson's
``copyCurrentStructure``, which writes a fraction or exponent through a ``double``:
``12345678.5`` becomes ``1.23456785E7``, ``100.10`` becomes ``100.1``,
``1234567890.123456789`` loses its last digits and ``1e400`` becomes ``"Infinity"``.
No JSON option of Spark 3.5 changes that (``prefersDecimal`` only affects inference,
and a DECIMAL field still cannot hold 1e400 or 40 digits), and a Python UDF would
parse every payload a second time. So, before ``from_json``, one
``regexp_replace`` (Java regex, in the JVM) turns every fraction/exponent token and
every ``NaN``/``Infinity`` token outside a string into a JSON string that starts with
a NUL character: ``1.50`` -> ``"\\u00001.50"``. Parsed into a STRING field that value
is NUL + the token; inside an array or object kept as JSON text it is the quoted
escape again. :func:`restore` removes the marker from both, so curated holds the
token itself (``1.50``, ``1e400``, ``NaN``) and nested JSON keeps it as a number.
Integers need none of this: Spark already writes them digit for digit.

The marker is unambiguous because it is only used on payloads that do not contain the
escape ``\\u0000`` already (a raw NUL is not valid JSON): :func:`markable`. A payload
that does carry a NUL escape is parsed as before, so its fractions show Java's form
(docs/RELIABILITY.md lists this as the one exception).

The pattern is written so that Java's regex engine never recurses per character
(possessive quantifiers, a string literal matched as ``"[^"\\\\]*+(?:\\\\.[^"\\\\]*+)*+"``):
a 1 MB payload is one linear scan. ``\\G`` chains the matches, so the text between two
numbers is walked once and a string literal is always skipped whole: digits inside
strings are never touched. A token must be a whole JSON number (``01.5``, ``.5``,
``1.`` stay as they are, so a malformed payload stays malformed).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

NUL = "\x00"
ESCAPED_NUL = "\\u0000"  # the six characters of the JSON escape
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"' + r"|'[^'\\]*+(?:\\.[^'\\]*+)*+'"  # Spark also reads 'single'
_NUMBER_TOKEN = (
    r"(?<![\w.+\-])"
    r"(?:-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++(?:[eE][+\-]?[0-9]++)?|[eE][+\-]?[0-9]++)"
    r"|[+\-]?(?:NaN|Infinity|INF))"
    r"(?![\w.+\-])"
)
_START = r"[\-0-9NI+]"  # characters a token can start with
_NOT_START = r"""[^"'\-0-9NI+]"""
MARK_PATTERN = rf"\G((?:{_NOT_START}++|{_STRING}|(?!{_NUMBER_TOKEN}){_START})*+)({_NUMBER_TOKEN})"
MARK_REPLACEMENT = r'$1"\\u0000$2"'
RESTORE_NESTED = r'"\\u0000([^"\\]*+)"'  # a marked token inside JSON text Spark wrote


def markable(payload: Column) -> Column:
    """The payload has no NUL escape of its own, so the marker is unambiguous in it."""
    return ~payload.contains(ESCAPED_NUL)


def mark(payload: Column) -> Column:
    """The payload with every fraction/exponent/NaN/Infinity token quoted and marked
    (unchanged where not :func:`markable`)."""
    return F.when(markable(payload), F.regexp_replace(payload, MARK_PATTERN, MARK_REPLACEMENT)).otherwise(payload)


def restore(value: Column, marked: Column) -> Column:
    """A parsed STRING value with the markers of its row removed: the tokens as sent."""
    return (
        F.when(~marked, value)
        .when(value.startswith(NUL), value.substr(F.lit(2), F.length(value)))
        .when(value.contains(ESCAPED_NUL), F.regexp_replace(value, RESTORE_NESTED, "$1"))
        .otherwise(value)
    )
