"""Deterministic curated column names for payload paths.

Rule: each path segment is NFKD-folded to ASCII, lower-cased, every run of characters
other than ``[a-z0-9]`` becomes ``_``, leading/trailing ``_`` are stripped, a segment
that starts with a digit gets a ``_`` prefix and an empty one becomes ``field``;
segments are joined with ``__`` (``customer.address.city`` -> ``customer__address__city``).

Names must never move between runs, so the table itself remembers them: each payload
column's comment holds its source path (``payload:["customer","E-mail"]``). A known path
keeps its column; a new path gets its name, or ``<name>_2``, ``_3``... when two paths
fold to the same name (``Email`` and ``email``). Paths that are already clean names
(``email``) are served first, then the rest in sorted order, so the plain name goes
to the plain key.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping

Path = tuple[str, ...]
COMMENT_PREFIX = "payload:"
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
MAX_NAME = 120


def sanitize_segment(segment: str) -> str:
    folded = unicodedata.normalize("NFKD", segment).encode("ascii", "ignore").decode("ascii")
    name = _NOT_ALNUM.sub("_", folded.lower()).strip("_")
    if not name:
        return "field"
    return f"_{name}" if name[0].isdigit() else name


def base_name(path: Path) -> str:
    return "__".join(sanitize_segment(s) for s in path)[:MAX_NAME]


def path_comment(path: Path) -> str:
    return COMMENT_PREFIX + json.dumps(list(path), ensure_ascii=False)


def path_from_comment(comment: str | None) -> Path | None:
    if not comment or not comment.startswith(COMMENT_PREFIX):
        return None
    try:
        parts = json.loads(comment[len(COMMENT_PREFIX) :])
    except json.JSONDecodeError:
        return None
    return tuple(str(p) for p in parts) if isinstance(parts, list) else None


def assign_names(paths: Iterable[Path], existing: Mapping[Path, str], reserved: Iterable[str] = ()) -> dict[Path, str]:
    """Column name for every path: existing ones kept, new ones made unique."""
    names = dict(existing)
    taken = set(existing.values()) | set(reserved)

    def priority(path: Path) -> tuple[bool, Path]:
        return base_name(path) != "__".join(path), path

    for path in sorted(set(paths) - set(existing), key=priority):
        name = base_name(path)
        candidate, suffix = name, 2
        while candidate in taken:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        names[path] = candidate
        taken.add(candidate)
    return names
