"""Deterministic partner-client data set and credentials for the HubSpot emulator.

HubSpot's CRM v3 object API sends every property value as a string, whatever the property
type, so every value here is a string too. A fixed seed and integer-only arithmetic make
`build_dataset` return the same data on every run and every machine.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PRIVATE_APP_TOKEN = "pat-na1-emulator-read-0001"
NO_SCOPE_TOKEN = "pat-na1-emulator-noscope-0002"
OAUTH_CLIENT_ID = "emulator-client-id"
OAUTH_CLIENT_SECRET = "emulator-client-secret"
OAUTH_REFRESH_TOKEN = "emulator-refresh-token"
READ_SCOPE = "crm.objects.partner-clients.read"

DATASET_SEED = 20240611
FIRST_OBJECT_ID = 1000001
ARCHIVED_PERCENT = 5
UNIQUE_ID_PROPERTY = "partner_client_code"
DEFAULT_PROPERTY_NAMES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
HISTORY_PROPERTY_NAMES = ("partner_status", "partner_tier", "account_balance")

_DAY_MS = 24 * 3600 * 1000
_START_MS = int(datetime(2021, 1, 4, tzinfo=UTC).timestamp()) * 1000
_CREATED_SPAN_MS = 3 * 365 * _DAY_MS
_PROPERTY_CREATED_AT = "2020-11-02T09:15:00.000Z"
_GROUP_NAME = "partner_client_information"


@dataclass(frozen=True)
class Dataset:
    """Property definitions (HubSpot `Property` shape) and partner-client records."""

    properties: list[dict[str, Any]]
    clients: list[dict[str, Any]]


@dataclass(frozen=True)
class _ClientTimes:
    """Creation and last-modification times of a client, in epoch milliseconds."""

    created_ms: int
    updated_ms: int


ValueGenerator = Callable[[random.Random, _ClientTimes], str]


def iso_timestamp(epoch_ms: int) -> str:
    """Format epoch milliseconds as ISO 8601 UTC with milliseconds: 2021-01-04T00:00:00.000Z."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def _option(value: str, label: str, order: int) -> dict[str, Any]:
    return {
        "label": label,
        "value": value,
        "displayOrder": order,
        "hidden": False,
        "description": "",
    }


_TIER_OPTIONS = [
    ("bronze", "Bronze"),
    ("silver", "Silver"),
    ("gold", "Gold"),
    ("platinum", "Platinum"),
]
_STATUS_OPTIONS = [("active", "Active"), ("paused", "Paused"), ("churned", "Churned")]
_SERVICE_OPTIONS = [
    ("consulting", "Consulting"),
    ("implementation", "Implementation"),
    ("training", "Training"),
    ("managed_support", "Managed support"),
]
_BOOL_OPTIONS = [("true", "Yes"), ("false", "No")]

_NAME_STEMS = [
    "Alpine Ledger",
    "Zürcher Beratung",
    "東京テック",
    "São Paulo Digital",
    "Øresund Data",
    "Café Lumière",
    "Kraków Soft",
    "Blue Harbor",
    "Northwind",
    "🚀 Rocket Partners",
    "Ελληνική Λύση",
    "Müller & Söhne",
]
_NAME_SUFFIXES = ["AG", "GmbH", "Ltd", "Inc.", "S.A.", "株式会社", "Oy", "LLC"]
_CITIES = [
    "Zürich",
    "東京",
    "São Paulo",
    "Berlin",
    "Montréal",
    "Reykjavík",
    "Kraków",
    "New York",
    "Málaga",
    "Москва",
    "İstanbul",
    "",
]
_NOTES = [
    "",
    "Prefers e-mail over calls.",
    "Quarterly review booked 📅 — bring the renewal draft.",
    'Signed the "Gold" addendum; invoices go to finance, not sales.',
    "Kontakt über Frau Müller.\nZweite Zeile mit Umlauten: äöü ß.",
    "担当者は田中さんです。",
    "Owes a reply on SLA terms ✅",
]
_PHONE_PATTERNS = ["+41 44 ### ## ##", "+81 3-####-####", "+55 11 9####-####", "(415) 555-####", ""]
_REGIONS = ["eu", "us", "apac", "latam"]
_LABELS = ["priority", "legacy", "référence", "パイロット"]


def _property(
    name: str, label: str, type_: str, field_type: str, order: int, **extra: Any
) -> dict[str, Any]:
    """Build a HubSpot `Property` definition with the fields the properties API sends."""
    hubspot_defined = name.startswith("hs_")
    definition: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": extra.pop("description", f"{label} of the partner client."),
        "groupName": _GROUP_NAME,
        "options": [
            _option(value, text, i) for i, (value, text) in enumerate(extra.pop("options", []))
        ],
        "displayOrder": order,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": hubspot_defined,
            "readOnlyOptions": False,
        },
        "formField": not hubspot_defined,
        "dataSensitivity": "non_sensitive",
        "createdAt": _PROPERTY_CREATED_AT,
        "updatedAt": _PROPERTY_CREATED_AT,
        "archived": False,
    }
    definition.update(extra)
    return definition


# Name, label, type, fieldType and extra `Property` fields, in display order.
_PROPERTY_SPECS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("hs_object_id", "Record ID", "number", "number", {}),
    ("hs_createdate", "Object create date/time", "datetime", "date", {}),
    ("hs_lastmodifieddate", "Object last modified date/time", "datetime", "date", {}),
    (UNIQUE_ID_PROPERTY, "Partner client code", "string", "text", {"hasUniqueValue": True}),
    ("client_name", "Client name", "string", "text", {}),
    ("city", "City", "string", "text", {}),
    ("notes", "Notes", "string", "textarea", {}),
    ("employee_count", "Employee count", "number", "number", {}),
    ("account_balance", "Account balance", "number", "number", {}),
    ("is_active", "Active", "bool", "booleancheckbox", {"options": _BOOL_OPTIONS}),
    ("partner_tier", "Partner tier", "enumeration", "select", {"options": _TIER_OPTIONS}),
    ("partner_status", "Partner status", "enumeration", "radio", {"options": _STATUS_OPTIONS}),
    ("service_lines", "Service lines", "enumeration", "checkbox", {"options": _SERVICE_OPTIONS}),
    ("contract_start_date", "Contract start date", "date", "date", {}),
    ("last_review_at", "Last review", "datetime", "date", {}),
    (
        "support_phone",
        "Support phone",
        "phone_number",
        "phonenumber",
        {"dataSensitivity": "sensitive"},
    ),
    ("tax_identifier", "Tax identifier", "string", "text", {"dataSensitivity": "highly_sensitive"}),
    ("integration_settings", "Integration settings", "json", "text", {}),
    # NOTE: HubSpot documents no value format for object_coordinates, so "lat,lon" is assumed.
    ("office_location", "Office location", "object_coordinates", "text", {}),
]


def _property_definitions() -> list[dict[str, Any]]:
    """Build one definition per property, covering every HubSpot property type."""
    return [
        _property(name, label, type_, field_type, order, **dict(extra))
        for order, (name, label, type_, field_type, extra) in enumerate(_PROPERTY_SPECS)
    ]


def _maybe_empty(rng: random.Random, percent: int) -> bool:
    return rng.randrange(100) < percent


def _client_name(rng: random.Random, times: _ClientTimes) -> str:
    return f"{rng.choice(_NAME_STEMS)} {rng.choice(_NAME_SUFFIXES)}"


def _city(rng: random.Random, times: _ClientTimes) -> str:
    return rng.choice(_CITIES)


def _notes(rng: random.Random, times: _ClientTimes) -> str:
    return rng.choice(_NOTES)


def _employee_count(rng: random.Random, times: _ClientTimes) -> str:
    if _maybe_empty(rng, 10):
        return ""
    return str(rng.randint(1, 5000))


def _account_balance(rng: random.Random, times: _ClientTimes) -> str:
    """Return a decimal in HubSpot's number format without trailing zeros: "17", "1234.5", "-3"."""
    if _maybe_empty(rng, 5):
        return ""
    tenths = rng.randint(-50000, 500000)
    whole, fraction = divmod(abs(tenths), 10)
    sign = "-" if tenths < 0 else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _is_active(rng: random.Random, times: _ClientTimes) -> str:
    return rng.choice(("true", "false"))


def _partner_tier(rng: random.Random, times: _ClientTimes) -> str:
    return rng.choice(_TIER_OPTIONS)[0]


def _partner_status(rng: random.Random, times: _ClientTimes) -> str:
    return rng.choice(_STATUS_OPTIONS)[0]


def _service_lines(rng: random.Random, times: _ClientTimes) -> str:
    """Return a multi-select value: option values joined by ";" in option order, or ""."""
    chosen = set(rng.sample(range(len(_SERVICE_OPTIONS)), rng.randint(0, 3)))
    return ";".join(value for i, (value, _) in enumerate(_SERVICE_OPTIONS) if i in chosen)


def _contract_start_date(rng: random.Random, times: _ClientTimes) -> str:
    """Return a date as "YYYY-MM-DD" or as epoch milliseconds of UTC midnight, or ""."""
    if _maybe_empty(rng, 10):
        return ""
    midnight_ms = (times.created_ms // _DAY_MS - rng.randint(0, 120)) * _DAY_MS
    if rng.randrange(2):
        return str(midnight_ms)
    return iso_timestamp(midnight_ms)[:10]


def _last_review_at(rng: random.Random, times: _ClientTimes) -> str:
    """Return a datetime as ISO 8601 with "Z" or as epoch milliseconds, or ""."""
    if _maybe_empty(rng, 15):
        return ""
    moment_ms = rng.randint(times.created_ms, times.updated_ms)
    if rng.randrange(2):
        return str(moment_ms)
    return iso_timestamp(moment_ms)


def _support_phone(rng: random.Random, times: _ClientTimes) -> str:
    """Return a phone number in one of several national formats, or ""."""
    pattern = rng.choice(_PHONE_PATTERNS)
    return "".join(str(rng.randrange(10)) if char == "#" else char for char in pattern)


def _tax_identifier(rng: random.Random, times: _ClientTimes) -> str:
    return f"CHE-{rng.randint(100, 999)}.{rng.randint(100, 999)}.{rng.randint(100, 999)}"


def _integration_settings(rng: random.Random, times: _ClientTimes) -> str:
    """Return a JSON document as a string, as HubSpot stores `json` properties, or ""."""
    if _maybe_empty(rng, 20):
        return ""
    settings = {
        "sync": rng.choice((True, False)),
        "region": rng.choice(_REGIONS),
        "labels": rng.sample(_LABELS, rng.randint(0, 2)),
    }
    return json.dumps(settings, ensure_ascii=False, sort_keys=True)


def _office_location(rng: random.Random, times: _ClientTimes) -> str:
    latitude = rng.randint(-900000, 900000)
    longitude = rng.randint(-1800000, 1800000)
    return f"{_format_ten_thousandths(latitude)},{_format_ten_thousandths(longitude)}"


def _format_ten_thousandths(value: int) -> str:
    whole, fraction = divmod(abs(value), 10000)
    return f"{'-' if value < 0 else ''}{whole}.{fraction:04d}"


_GENERATORS: dict[str, ValueGenerator] = {
    "client_name": _client_name,
    "city": _city,
    "notes": _notes,
    "employee_count": _employee_count,
    "account_balance": _account_balance,
    "is_active": _is_active,
    "partner_tier": _partner_tier,
    "partner_status": _partner_status,
    "service_lines": _service_lines,
    "contract_start_date": _contract_start_date,
    "last_review_at": _last_review_at,
    "support_phone": _support_phone,
    "tax_identifier": _tax_identifier,
    "integration_settings": _integration_settings,
    "office_location": _office_location,
}


def _history_entry(rng: random.Random, value: str, timestamp_ms: int) -> dict[str, Any]:
    """Build one `ValueWithTimestamp`. The source fields vary by sourceType, as in HubSpot."""
    user_id = rng.randint(1000000, 9999999)
    entry: dict[str, Any] = {"value": value, "timestamp": iso_timestamp(timestamp_ms)}
    source_type = rng.choice(("CRM_UI", "API", "IMPORT"))
    entry["sourceType"] = source_type
    if source_type == "CRM_UI":
        entry["sourceId"] = f"userId:{user_id}"
        entry["updatedByUserId"] = user_id
    elif source_type == "API":
        entry["sourceId"] = "app:1180435"
        entry["sourceLabel"] = "Partner sync app"
    else:
        entry["sourceId"] = f"import:{user_id}"
        entry["sourceLabel"] = "partners-export.csv"
    return entry


def _build_history(
    rng: random.Random, times: _ClientTimes, current: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Build 2-3 history entries, newest first, for each name in HISTORY_PROPERTY_NAMES.

    The newest entry carries the current value and the oldest one the creation time.
    """
    history: dict[str, list[dict[str, Any]]] = {}
    for name in HISTORY_PROPERTY_NAMES:
        older_count = rng.randint(1, 2)
        moments = sorted(
            (rng.randint(times.created_ms + 1, times.updated_ms) for _ in range(older_count)),
            reverse=True,
        )
        moments.append(times.created_ms)
        values = [current[name]] + [_GENERATORS[name](rng, times) for _ in range(older_count)]
        history[name] = [_history_entry(rng, v, t) for v, t in zip(values, moments, strict=True)]
    return history


def _build_client(index: int, object_id: str, archived: bool) -> dict[str, Any]:
    """Build one partner client in the shape of HubSpot's `SimplePublicObject`, plus history.

    Each client draws from its own generator seeded by its index, so the first N clients of
    a larger data set have the same values as a data set of N clients.
    """
    rng = random.Random(DATASET_SEED * 1_000_003 + index)
    created_ms = _START_MS + rng.randint(0, _CREATED_SPAN_MS)
    updated_ms = created_ms + rng.randint(_DAY_MS, 400 * _DAY_MS)
    archived_ms = updated_ms + rng.randint(3600 * 1000, 30 * _DAY_MS)
    times = _ClientTimes(created_ms, updated_ms)
    properties = {
        "hs_object_id": object_id,
        "hs_createdate": iso_timestamp(created_ms),
        "hs_lastmodifieddate": iso_timestamp(updated_ms),
        UNIQUE_ID_PROPERTY: f"PC-{index + 1:06d}",
    }
    for name, generate in _GENERATORS.items():
        properties[name] = generate(rng, times)
    client: dict[str, Any] = {
        "id": object_id,
        "properties": properties,
        "createdAt": iso_timestamp(created_ms),
        "updatedAt": iso_timestamp(updated_ms),
        "archived": archived,
        "propertiesWithHistory": _build_history(rng, times, properties),
    }
    if archived:
        client["archivedAt"] = iso_timestamp(archived_ms)
    return client


def build_dataset(count: int = 3000) -> Dataset:
    """Build `count` partner clients and their property definitions, the same on every run.

    IDs are increasing numeric strings from FIRST_OBJECT_ID with gaps of 1 to 3, because
    HubSpot's IDs are not contiguous. ARCHIVED_PERCENT of the clients, rounded down, are
    archived, and at least one when count >= 2.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    layout_rng = random.Random(DATASET_SEED)
    archived_count = max(1, count * ARCHIVED_PERCENT // 100) if count >= 2 else 0
    archived_indexes = set(layout_rng.sample(range(count), archived_count))
    gap_rng = random.Random(DATASET_SEED + 1)
    clients = []
    object_id = FIRST_OBJECT_ID
    for index in range(count):
        clients.append(_build_client(index, str(object_id), index in archived_indexes))
        object_id += gap_rng.randint(1, 3)
    return Dataset(properties=_property_definitions(), clients=clients)


def history_for(client: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Return a property's history, newest first.

    Properties without recorded history get one entry with the current value at creation
    time. An empty value has no history, so it returns [].
    """
    recorded = client["propertiesWithHistory"].get(name)
    if recorded is not None:
        return recorded
    value = client["properties"].get(name, "")
    if value == "":
        return []
    return [{"value": value, "timestamp": client["createdAt"], "sourceType": "CRM_UI"}]
