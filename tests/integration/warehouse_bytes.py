"""Find strings in every file under a warehouse, as stored and as decoded.

A byte scan alone would miss a value inside a compressed Parquet page or Avro block,
so each file is searched in its raw bytes and in its decoded content: Parquet rows and
footer statistics (pyarrow), Avro container blocks (manifests and manifest lists:
null or deflate codec; any other codec fails the scan instead of passing it), gzip
metadata files. Used by the forget tests (docs/RELIABILITY.md, "Forgetting a person").
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

AVRO_MAGIC = b"Obj\x01"


def occurrences(root: Path, needles: Iterable[str]) -> dict[str, list[str]]:
    """For each needle found, the files (relative to ``root``) that hold it."""
    wanted = [n for n in needles if n]
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        blobs = list(_contents(path))
        for needle in wanted:
            encoded = needle.encode("utf-8")
            if any(encoded in blob for blob in blobs):
                found.setdefault(needle, []).append(str(path.relative_to(root)))
    return found


def _contents(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    yield data
    if data[:2] == b"\x1f\x8b":
        yield gzip.decompress(data)
    if path.suffix == ".parquet":
        yield _parquet_text(data)
    if data[:4] == AVRO_MAGIC:
        yield from _avro_blocks(data, path)


def _parquet_text(data: bytes) -> bytes:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(data))
    parts = [repr(parquet.read().to_pylist())]
    metadata = parquet.metadata
    for group in range(metadata.num_row_groups):
        for column in range(metadata.num_columns):
            stats = metadata.row_group(group).column(column).statistics
            if stats is not None and stats.has_min_max:
                parts.append(f"{stats.min!r} {stats.max!r}")
                for value in (stats.min, stats.max):
                    if isinstance(value, bytes):
                        parts.append(value.decode("utf-8", "replace"))
    return "\n".join(parts).encode("utf-8")


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


def _avro_blocks(data: bytes, path: Path) -> Iterator[bytes]:
    """The decompressed data blocks of an Avro object container file."""
    pos = 4
    meta: dict[str, bytes] = {}
    while True:  # the header's metadata map, in blocks
        count, pos = _read_long(data, pos)
        if count == 0:
            break
        if count < 0:
            count = -count
            _, pos = _read_long(data, pos)
        for _ in range(count):
            size, pos = _read_long(data, pos)
            key = data[pos : pos + size].decode()
            pos += size
            size, pos = _read_long(data, pos)
            meta[key] = data[pos : pos + size]
            pos += size
    pos += 16  # sync marker
    codec = meta.get("avro.codec", b"null").decode()
    while pos < len(data):
        _, pos = _read_long(data, pos)  # objects in the block
        size, pos = _read_long(data, pos)
        block = data[pos : pos + size]
        pos += size + 16
        if codec == "null":
            yield block
        elif codec == "deflate":
            yield zlib.decompress(block, -15)
        else:
            raise AssertionError(f"{path}: Avro codec {codec!r} is not decoded by this scan; add it")
