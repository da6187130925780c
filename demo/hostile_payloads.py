"""Payloads real producers can send that are hostile to a pipeline: legal JSON (or one
defect) of extreme shape or size. Used by the bad-input corpus (``"generate"`` rows of
``tests/fixtures/bad_input``) and by ``bench/hostile_events.py``; docs/RELIABILITY.md says
what the job does with each.

Each generator takes the order id and its size argument(s) as text, and returns the
payload: an ``orders``-like event with the hostile part beside its normal fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable


def _fields(order_id: str) -> str:
    return f'"order_id":"{order_id}","amount":1,"status":"new"'


def deep_objects(order_id: str, name: str, levels: str) -> str:
    """``{..., "<name>": {"n": {"n": ... 1}}}``: an object nested ``levels`` deep."""
    n = int(levels)
    return "{" + _fields(order_id) + f',"{name}":' + '{"n":' * n + "1" + "}" * n + "}"


def deep_brackets(order_id: str, levels: str) -> str:
    """``[[[...]]]``: valid JSON, not an object, nested ``levels`` deep."""
    return "[" * int(levels) + "]" * int(levels)


def long_array(order_id: str, size: str) -> str:
    return "{" + _fields(order_id) + ',"items":' + json.dumps(list(range(int(size))), separators=(",", ":")) + "}"


def long_key(order_id: str, size: str) -> str:
    return "{" + _fields(order_id) + ',"' + "k" * int(size) + '":1}'


def wide_object(order_id: str, keys: str) -> str:
    """``{..., "outer": {"inner": {"key_0": 0, ...}}}``: ``keys`` distinct keys two levels down."""
    members = ",".join(f'"key_{i}":{i}' for i in range(int(keys)))
    return "{" + _fields(order_id) + ',"outer":{"inner":{' + members + "}}}"


def big_string(order_id: str, size: str) -> str:
    """One string value of ``size`` characters."""
    return "{" + _fields(order_id) + ',"blob":"' + "x" * int(size) + '"}'


GENERATORS: dict[str, Callable[..., str]] = {
    "deep_objects": deep_objects,
    "deep_brackets": deep_brackets,
    "long_array": long_array,
    "long_key": long_key,
    "wide_object": wide_object,
    "big_string": big_string,
}


def generate(spec: str, order_id: str) -> str:
    """The payload ``"<kind>:<arg>[:<arg>]"`` names, for the event ``order_id``."""
    kind, *args = spec.split(":")
    return GENERATORS[kind](order_id, *args)
