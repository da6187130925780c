"""Payload builders of the demo topics (``orders``, ``payments``): pure Python.

A profile makes a topic's business entities (nested JSON objects with arrays and PII),
their corrections and older versions, and the defects of bad producers: a value of the
wrong type, a missing field, a value that breaks the topic's expectation suite. The
engine in ``demo/raw_events.py`` decides how often each happens; a profile only knows
what it looks like for its topic. All randomness comes from the ``random.Random`` given.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

Payload = dict[str, Any]
JsonPath = tuple[str, ...]
T = TypeVar("T")

FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Hugo", "Léa", "Jonas", "Sofia", "Mateo",
    "Chloé", "Arjun", "Yuki", "Amara", "Omar", "Ingrid", "Zoë", "Diego", "Hannah", "Kwame", "Priya", "Louis",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Smith", "García", "Müller", "Rossi", "Dubois", "Nguyen", "Kowalski", "Silva", "Jensen",
    "O'Brien", "Tanaka", "Okafor", "Petit", "Schmidt", "Hernández", "Larsen", "Moreau", "Patel", "Costa",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
CITIES = (
    ("Paris", "FR", "750"), ("Lyon", "FR", "690"), ("Berlin", "DE", "101"), ("Munich", "DE", "803"),
    ("Madrid", "ES", "280"), ("Lisbon", "PT", "110"), ("Amsterdam", "NL", "101"), ("Dublin", "IE", "D02"),
    ("Boston", "US", "021"), ("Austin", "US", "787"),
)  # fmt: skip
STREETS = ("Main Street", "Rue de la Paix", "Hauptstraße", "Calle Mayor", "Canal Road", "Elm Avenue")
CATALOG = (
    ("SKU-1001", "Espresso beans 1kg", 2490), ("SKU-1002", "Ceramic mug", 1200), ("SKU-1003", "Milk frother", 3999),
    ("SKU-2001", "Running socks", 899), ("SKU-2002", "Trail shoes", 12950), ("SKU-3001", "USB-C cable", 1499),
    ("SKU-3002", "Wireless mouse", 2999), ("SKU-4001", "Notebook A5", 650), ("SKU-4002", "Fountain pen", 4500),
)  # fmt: skip
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")
OS_NAMES = ("ios", "android", "web", "windows", "macos")


def iso(ts: datetime, rng: random.Random | None = None) -> str:
    """ISO-8601 text of ``ts``; with ``rng``, sometimes with a +02:00 offset (same instant)."""
    if rng is not None and rng.random() < 0.1:
        return ts.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="seconds")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def pick_distinct(rng: random.Random, population: tuple[T, ...], k: int) -> list[T]:
    """``k`` distinct items, like ``rng.sample`` without its costly ABC check per call."""
    pool = list(population)
    for i in range(k):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def clone(value: Any) -> Any:
    """A deep copy of a JSON tree (dicts, lists, scalars); several times faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def iso_ms(ts: datetime) -> str:
    """ISO-8601 UTC text with milliseconds (``updated_at``: versions a second apart differ)."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def delete_path(payload: Payload, path: JsonPath) -> None:
    """Remove the value at ``path`` if it is there (copy-on-write, see ``set_path``)."""
    node = payload
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            return
        node[part] = node = dict(child)
    node.pop(path[-1], None)


def set_path(payload: Payload, path: JsonPath, value: Any) -> None:
    """Set the value at ``path``, creating the objects on the way.

    Copy-on-write: the objects along the path are copied, so a shallow copy of a
    payload can be changed without touching the original's nested objects.
    """
    node = payload
    for part in path[:-1]:
        child = node.get(part)
        node[part] = node = dict(child) if isinstance(child, dict) else {}
    node[path[-1]] = value


def person(rng: random.Random) -> dict[str, str]:
    """A fake person: name, email, phone (fictional 555 numbers, example.* domains)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "")
    email = f"{local}{rng.randrange(100) if rng.random() < 0.5 else ''}@{rng.choice(EMAIL_DOMAINS)}"
    digits = f"{rng.randrange(10000):04d}"
    phone = rng.choice((f"+1-202-555-{digits}", f"+33 6 55 {digits[:2]} {digits[2:]} 00", f"+4915550{digits}"))
    return {"name": f"{first} {last}", "email": email, "phone": phone}


def address(rng: random.Random) -> dict[str, str]:
    city, country, postcode = rng.choice(CITIES)
    return {
        "street": f"{rng.randrange(1, 200)} {rng.choice(STREETS)}",
        "city": city,
        "postcode": f"{postcode}{rng.randrange(100):02d}",
        "country": country,
    }


def card_number(rng: random.Random) -> str:
    """A 16-digit number with a valid Luhn check digit (Visa/Mastercard-like prefix)."""
    digits = [rng.choice((4, 5))] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for index, digit in enumerate(reversed(digits)):  # the check digit goes to the right
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def bad_card_number(rng: random.Random) -> str:
    """A card number that is not 16 plain digits: one digit short, or grouped with spaces."""
    number = card_number(rng)
    return number[:15] if rng.random() < 0.5 else " ".join(number[i : i + 4] for i in range(0, 16, 4))


class TopicProfile(ABC):
    """What a topic's payloads look like; the engine decides when each variant is used."""

    name: str

    @abstractmethod
    def new_entity(self, rng: random.Random, batch_index: int, seq: int, event_ts: datetime) -> tuple[str, Payload]:
        """A new business entity: its idempotency key and first payload."""

    @abstractmethod
    def correct(self, rng: random.Random, entity: Payload, event_ts: datetime) -> Payload:
        """The next version of ``entity`` (a new dict): status moves on, values change."""

    @abstractmethod
    def older_version(self, rng: random.Random, entity: Payload, event_ts: datetime) -> Payload:
        """A version of ``entity`` that precedes it (sent late, out of order)."""

    @abstractmethod
    def add_new_fields(self, rng: random.Random, payload: Payload) -> None:
        """Fields the producer started sending after the contract was registered."""

    @abstractmethod
    def wrong_types(self) -> tuple[tuple[JsonPath, Callable[[random.Random, Payload], Any]], ...]:
        """Paths and makers of a value of the wrong type for the contract."""

    @abstractmethod
    def rule_breakers(self) -> tuple[tuple[JsonPath, Callable[[random.Random, Payload], Any]], ...]:
        """Paths and makers of a well-typed value that the expectation suite rejects."""

    required_paths: tuple[JsonPath, ...] = ()
    optional_paths: tuple[JsonPath, ...] = ()

    def break_type(self, rng: random.Random, payload: Payload) -> None:
        path, make = rng.choice(self.wrong_types())
        set_path(payload, path, make(rng, payload))

    def break_rule(self, rng: random.Random, payload: Payload) -> None:
        path, make = rng.choice(self.rule_breakers())
        set_path(payload, path, make(rng, payload))

    def remove_field(self, rng: random.Random, payload: Payload) -> None:
        """Drop a field; 40% of the time one the contract or suite requires."""
        pool = self.required_paths if rng.random() < 0.4 else self.optional_paths
        delete_path(payload, rng.choice(pool))


ORDER_FLOW = {
    "created": ("paid", "paid", "paid", "cancelled"),
    "paid": ("shipped", "shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": ("refunded", "delivered"),
    "cancelled": ("cancelled",),
    "refunded": ("refunded",),
}
ORDER_BEFORE = {"paid": "created", "shipped": "paid", "delivered": "shipped", "cancelled": "created"}


class OrdersProfile(TopicProfile):
    """Customer orders: customer (name, email, phone, address), items, amount, status."""

    name = "orders"
    required_paths = (("order_id",), ("customer", "email"))
    optional_paths = (
        ("customer", "phone"),
        ("currency",),
        ("order_date",),
        ("items",),
        ("customer", "address", "city"),
        ("created_at",),
    )

    def new_entity(self, rng: random.Random, batch_index: int, seq: int, event_ts: datetime) -> tuple[str, Payload]:
        order_id = f"ORD-{batch_index:04d}-{seq:07d}"
        lines = [
            (sku, label, cents, rng.randint(1, 3))
            for sku, label, cents in pick_distinct(rng, CATALOG, rng.randint(1, 4))
        ]
        items = [{"sku": sku, "name": label, "qty": qty, "unit_price": cents / 100} for sku, label, cents, qty in lines]
        total_cents = sum(cents * qty for _, _, cents, qty in lines)
        payload: Payload = {
            "order_id": order_id,
            "customer_id": f"CUST-{rng.randrange(200_000):06d}",
            "customer": {**person(rng), "address": address(rng)},
            "items": items,
            "tags": pick_distinct(rng, ("gift", "express", "first_order", "b2b", "fragile"), rng.randint(0, 2)),
            "amount": total_cents / 100,
            "currency": rng.choice(CURRENCIES),
            "quantity": sum(qty for *_, qty in lines),
            "status": "created",
            "order_date": event_ts.date().isoformat(),
            "created_at": iso(event_ts, rng),
            "channel": rng.choice(("web", "app", "store")),
        }
        return f"order:{order_id}", payload

    def correct(self, rng: random.Random, entity: Payload, event_ts: datetime) -> Payload:
        updated = clone(entity)
        updated["status"] = rng.choice(ORDER_FLOW.get(str(entity.get("status")), ("paid",)))
        if rng.random() < 0.3:  # a discount or an item price fix
            updated["amount"] = round(float(entity["amount"]) * rng.choice((0.9, 0.95, 1.05)), 2)
        if rng.random() < 0.1:  # the customer fixed their phone number
            updated["customer"]["phone"] = person(rng)["phone"]
        updated["updated_at"] = iso_ms(event_ts)
        return updated

    def older_version(self, rng: random.Random, entity: Payload, event_ts: datetime) -> Payload:
        older = clone(entity)
        older["status"] = ORDER_BEFORE.get(str(entity.get("status")), "created")
        older["amount"] = round(float(entity["amount"]) * rng.choice((1.0, 1.1)), 2)
        older["updated_at"] = iso_ms(event_ts)
        return older

    def add_new_fields(self, rng: random.Random, payload: Payload) -> None:
        if rng.random() < 0.25:
            payload["coupon_code"] = rng.choice(("SPRING10", "WELCOME5", "FREESHIP", None))
        if rng.random() < 0.5:
            payload["device"] = {"os": rng.choice(OS_NAMES), "app_version": f"5.{rng.randrange(4)}.{rng.randrange(10)}"}
        if rng.random() < 0.2 and isinstance(payload.get("customer"), dict):
            set_path(
                payload,
                ("customer", "loyalty"),
                {
                    "tier": rng.choice(("bronze", "silver", "gold")),
                    "points": rng.randrange(5000),
                },
            )

    def wrong_types(self) -> tuple[tuple[JsonPath, Callable[[random.Random, Payload], Any]], ...]:
        return (
            (("amount",), lambda r, p: r.choice(("twelve", "12.99 EUR", "N/A"))),
            (("amount",), lambda r, p: 12.345),  # three decimals do not fit decimal(12,2)
            (("quantity",), lambda r, p: r.choice((2.5, "two", 1e3))),
            (("order_date",), lambda r, p: r.choice(("2024-13-45", "2024-02-30", "03/01/2024"))),
            (("created_at",), lambda r, p: r.choice(("yesterday", "2024-03-01 25:61", 1709287200))),
        )

    def rule_breakers(self) -> tuple[tuple[JsonPath, Callable[[random.Random, Payload], Any]], ...]:
        return (
            (("amount",), lambda r, p: -abs(float(p.get("amount") or 10.0))),
            (("status",), lambda r, p: r.choice(("UNKNOWN", "on_hold", "Shipped"))),
            (("customer", "email"), lambda r, p: r.choice(("jane.doe(at)example.com", "n/a", "jane@", "@example.com"))),
            (("quantity",), lambda r, p: r.choice((0, 250))),
            (("currency",), lambda r, p: r.choice(("eur", "XXX", "€"))),
        )


PAYMENT_FLOW = {
    "authorized": ("captured", "captured", "captured", "failed", "voided"),
    "captured": ("settled",),
    "settled": ("refunded", "settled"),
    "failed": ("failed",),
    "voided": ("voided",),
    "refunded": ("refunded",),
}
PAYMENT_BEFORE = {"captured": "authorized", "settled": "captured", "refunded": "settled", "failed": "authorized"}
METHODS = ("card", "card", "card", "card", "apple_pay", "apple_pay", "paypal", "paypal", "bank_transfer")


class PaymentsProfile(TopicProfile):
    """Payments of orders: payer, card (for card-like methods), amount, status, refunds."""

    name = "payments"
    required_paths = (("payment_id",), ("order_id",))
    optional_paths = (("payer", "email"), ("currency",), ("paid_at",), ("card",), ("attempts",), ("is_refund",))

    def new_entity(self, rng: random.Random, batch_index: int, seq: int, event_ts: datetime) -> tuple[str, Payload]:
        payment_id = f"PAY-{batch_index:04d}-{seq:07d}"
        payer = person(rng)
        method = rng.choice(METHODS)
        payload: Payload = {
            "payment_id": payment_id,
            "order_id": f"ORD-{max(batch_index - rng.randrange(2), 0):04d}-{rng.randrange(100_000):07d}",
            "ledger_id": 4_000_000_000 + batch_index * 10_000_000 + seq,  # beyond int range: a long
            "payer": {**payer, "address": {k: v for k, v in address(rng).items() if k in ("city", "country")}},
            "amount": rng.randrange(100, 250_000) / 100,
            "currency": rng.choice(CURRENCIES),
            "method": method,
            "status": "authorized",
            "paid_at": iso(event_ts, rng),
            "is_refund": False,
            "attempts": self._attempts(rng, event_ts),
            "risk": {
                "score": round(rng.random(), 3),
                "checks": pick_distinct(rng, ("avs", "cvv", "3ds", "velocity"), 2),
            },
        }
        if method in ("card", "apple_pay"):
            holder = payer["name"] if rng.random() < 0.9 else person(rng)["name"]
            expiry = f"{rng.randint(1, 12):02d}/{rng.randint(25, 30)}"
            payload["card"] = {"number": card_number(rng), "holder": holder, "expiry": expiry}
        return f"payment:{payment_id}", payload

    @staticmethod
    def _attempts(rng: random.Random, event_ts: datetime) -> list[dict[str, str]]:
        declined = rng.choice((0, 0, 0, 1, 2))
        results = [("declined", rng.choice(("05", "51", "54"))) for _ in range(declined)] + [("approved", "00")]
        start = event_ts - timedelta(seconds=30 * len(results))
        return [
            {"at": iso(start + timedelta(seconds=30 * i)), "result": result, "code": code}
            for i, (result, code) in enumerate(results)
        ]

    def correct(self, rng: random.Random, entity: Payload, event_ts: datetime) -> Payload:
        updated = clone(entity)
        status = rng.choice(PAYMENT_FLOW.get(str(entity.get("status")), ("captured",)))
        updated["status"] = status
        updated["is_refund"] = status == "refunded"
        if rng.random() < 0.2:  # partial capture
            updated["amount"] = round(float(entity["amount"]) * rng.choice((0.5, 0.8, 0.9)), 2)
        updated["paid_at"] = iso(event_ts, rng)
        updated["updated_at"] = iso_ms(event_ts)
        return updated

    def older_version(self, rng: random.Random, entity: Payload, event_ts: datetime) -> Payload:
        older = clone(entity)
        older["status"] = PAYMENT_BEFORE.get(str(entity.get("status")), "authorized")
        older["is_refund"] = False
        older["paid_at"] = iso(event_ts)
        older["updated_at"] = iso_ms(event_ts)
        return older

    def add_new_fields(self, rng: random.Random, payload: Payload) -> None:
        if rng.random() < 0.4:
            payload["three_ds"] = {"version": "2.2.0", "outcome": rng.choice(("frictionless", "challenge", "failed"))}
        if rng.random() < 0.3:
            payload["device"] = {"os": rng.choice(OS_NAMES), "ip_country": rng.choice(("FR", "DE", "US"))}
        if rng.random() < 0.3:
            payload["fee"] = round(float(payload.get("amount") or 0) * 0.014 + 0.25, 2)

    def wrong_types(self) -> tuple[tuple[JsonPath, Callable[[random.Random, Payload], Any]], ...]:
        return (
            (("amount",), lambda r, p: r.choice(("12,50", "twelve", "1O.00"))),
            (("is_refund",), lambda r, p: r.choice(("yes", "N", 0))),
            (("paid_at",), lambda r, p: r.choice(("31/02/2024 10:00", "2024-13-45T10:00:00Z", "soon"))),
            (("ledger_id",), lambda r, p: r.choice((12.5, "L-00123", 1e21))),
        )

    def rule_breakers(self) -> tuple[tuple[JsonPath, Callable[[random.Random, Payload], Any]], ...]:
        return (
            (("amount",), lambda r, p: -abs(float(p.get("amount") or 10.0))),
            (("status",), lambda r, p: r.choice(("chargeback_pending", "UNKNOWN"))),
            (("method",), lambda r, p: r.choice(("crypto", "cash"))),
            (("card", "number"), lambda r, p: bad_card_number(r)),
            (("payer", "email"), lambda r, p: r.choice(("n/a", "john.smith@", "john smith@example.com"))),
            (("currency",), lambda r, p: r.choice(("usd", "EURO"))),
        )


PROFILES: dict[str, TopicProfile] = {p.name: p for p in (OrdersProfile(), PaymentsProfile())}
TOPICS: tuple[str, ...] = tuple(PROFILES)


def profile_for(topic: str) -> TopicProfile:
    """The payload profile of a demo topic (``orders`` or ``payments``)."""
    try:
        return PROFILES[topic]
    except KeyError:
        raise ValueError(f"unknown demo topic {topic!r}; known: {', '.join(TOPICS)}") from None
