"""JSON types for HubSpot property values: the stream schema and the value converters.

HubSpot's CRM v3 API sends every property value as a string, whatever the property's `type` in
its definition (GET /crm/v3/properties/partner_clients). This module builds the record schema
from those definitions and casts each value to the JSON type the schema declares.

Casting rules, by HubSpot `type`:

- Every type: None stays None. "" becomes None, except for `string`, where "" stays "".
- `string`, `enumeration`, `phone_number`, `json`, `object_coordinates` and unknown types: the
  text is kept exactly, without Unicode normalization. Multi-select values ("a;b") stay joined.
- `bool`: "true" and "false" in any letter case, with or without surrounding whitespace.
- `number`: an int when the value is integral ("17", "17.0", "1e3"), otherwise a float.
  Thousands separators are accepted only in groups of three digits ("1,234.50"), so that a
  decimal comma ("1,5") is not misread as 15. NaN and infinities are rejected because JSON
  has no such numbers.
- `date`: "YYYY-MM-DD", epoch milliseconds of a UTC midnight, or an ISO 8601 timestamp at UTC
  midnight become "YYYY-MM-DD". Other times of day are rejected, because the date they fall
  on depends on the time zone of the writer.
- `datetime`: ISO 8601 timestamps and epoch numbers become RFC 3339 in UTC with milliseconds.
  See `cast_datetime` for the accepted forms.
- For `bool`, `number`, `date` and `datetime`, a value of only whitespace cannot be cast.

A value that cannot be cast stays the exact string HubSpot sent, and `cast_record` counts it in
a `CastFailures`. The `number` schema allows strings for such values. The `bool` schema does
not, and the `format` keywords of `date` and `datetime` reject most of them, so a record with
such a value can fail validation against the schema.
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_MAX_PROPERTY_CHARS",
    "EPOCH_SECONDS_LIMIT",
    "PROPERTY_COLUMN_PREFIX",
    "CastFailures",
    "Converter",
    "build_converters",
    "build_stream_schema",
    "cast_bool",
    "cast_date",
    "cast_datetime",
    "cast_number",
    "cast_record",
    "cast_string",
    "cast_text",
    "converter_for_type",
    "property_schema",
    "select_properties",
    "split_property_names",
    "untyped_stream_schema",
]

Converter = Callable[[str | None], Any]
"""Cast one property value. Raises ValueError when the value cannot be cast."""

# Airbyte's HubSpot connector adds one top-level column per property with this prefix.
PROPERTY_COLUMN_PREFIX = "properties_"

# Epoch numbers for `datetime` whose absolute value is below this are read as seconds, the rest
# as milliseconds. 10**11 seconds is in the year 5138, and 10**11 milliseconds is
# 1973-03-03T09:46:40Z, so milliseconds between 1966-10-31 and 1973-03-03 are read as seconds.
EPOCH_SECONDS_LIMIT = 10**11

# NOTE: an estimate. HubSpot documents no size limit for the body of a batch read. 16,000
# characters of JSON-encoded names are about 360 names of 40 characters per request, which
# keeps each request body and each response of moderate size.
DEFAULT_MAX_PROPERTY_CHARS = 16_000

_SENSITIVITY_NOT_SENSITIVE = "non_sensitive"

# orjson, which airbyte-cdk 7.39.1 uses to write messages, raises TypeError for integers
# outside this range (checked with orjson 3.13.0).
_JSON_INT_MIN = -(2**63)
_JSON_INT_MAX = 2**64 - 1
# Integral floats below this magnitude convert to int exactly.
_FLOAT_EXACT_INT_LIMIT = 2**53

_BOOLEANS: dict[str | None, bool] = {"true": True, "false": False}
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_GROUPED_DECIMAL_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
_EPOCH_RE = re.compile(r"-?\d+", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CANONICAL_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", re.ASCII)
_ISO_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r" ?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)?)?",
    re.ASCII,
)
_DAY_MS = 86_400_000
_EPOCH_DATE = date(1970, 1, 1)
_EPOCH_DATETIME = datetime(1970, 1, 1)

_Moment = TypeVar("_Moment", date, datetime)


# Schema


def _string_schema() -> dict[str, Any]:
    return {"type": ["string", "null"]}


def _datetime_schema() -> dict[str, Any]:
    return {
        "type": ["string", "null"],
        "format": "date-time",
        "airbyte_type": "timestamp_with_timezone",
    }


_SCHEMA_BY_TYPE: dict[str, Callable[[], dict[str, Any]]] = {
    "bool": lambda: {"type": ["boolean", "null"]},
    "number": lambda: {"type": ["number", "string", "null"]},
    "date": lambda: {"type": ["string", "null"], "format": "date"},
    "datetime": _datetime_schema,
}


def property_schema(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Return the nullable JSON schema of one property's values, chosen by its HubSpot `type`.

    `string`, `enumeration`, `phone_number`, `json`, `object_coordinates` and unknown types are
    nullable strings. Each call returns a new dict.
    """
    return _SCHEMA_BY_TYPE.get(_property_type(definition), _string_schema)()


def build_stream_schema(definitions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Build the draft-07 partner_clients record schema with typed property values.

    Each property gets a typed entry in `properties`, typed history values in
    `propertiesWithHistory`, and a top-level `properties_<name>` column. Definitions without a
    name are skipped. Values of undefined properties are allowed as nullable strings.
    """
    value_schemas = {name: property_schema(definition) for name, definition in _named(definitions)}
    return _stream_schema(value_schemas)


def untyped_stream_schema(property_names: Iterable[str] = ()) -> dict[str, Any]:
    """Build the record schema with every property value as a nullable string.

    This is the schema to use when the property definitions cannot be read. `property_names`,
    for example the configured properties, get their entries and `properties_<name>` columns.
    """
    return _stream_schema({name: _string_schema() for name in property_names})


def _stream_schema(value_schemas: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": {"type": "string", "description": "HubSpot object ID of the partner client."},
        "createdAt": _datetime_schema(),
        "updatedAt": _datetime_schema(),
        "archived": {"type": ["boolean", "null"]},
        "archivedAt": _datetime_schema(),
        "url": _string_schema(),
        "objectWriteTraceId": _string_schema(),
        "properties": {
            "type": ["object", "null"],
            "description": "Property values keyed by property name, typed by their definitions.",
            "properties": {name: copy.deepcopy(s) for name, s in value_schemas.items()},
            "additionalProperties": _string_schema(),
        },
        "propertiesWithHistory": {
            "type": ["object", "null"],
            "description": "Earlier values of the properties listed in properties_with_history.",
            "properties": {name: _history_schema(s) for name, s in value_schemas.items()},
            "additionalProperties": _history_schema(_string_schema()),
        },
    }
    for name, value_schema in value_schemas.items():
        fields[PROPERTY_COLUMN_PREFIX + name] = copy.deepcopy(value_schema)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "required": ["id"],
        "properties": fields,
    }


def _history_schema(value_schema: dict[str, Any]) -> dict[str, Any]:
    """Build the schema of one property's history: HubSpot `ValueWithTimestamp` entries."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": True,
            "properties": {
                "value": copy.deepcopy(value_schema),
                "timestamp": _datetime_schema(),
                "sourceType": _string_schema(),
                "sourceId": _string_schema(),
                "sourceLabel": _string_schema(),
                "updatedByUserId": {"type": ["integer", "null"]},
            },
        },
    }


def _property_type(definition: Mapping[str, Any]) -> str:
    property_type = definition.get("type")
    return property_type if isinstance(property_type, str) else ""


def _named(definitions: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (name, definition) for each definition whose `name` is a non-empty string."""
    for definition in definitions:
        name = definition.get("name")
        if isinstance(name, str) and name:
            yield name, definition


# Converters


def cast_string(value: str | None) -> str | None:
    """Return a `string` value unchanged: "" stays ""."""
    return value


def cast_text(value: str | None) -> str | None:
    """Return a text value unchanged, except "" which becomes None."""
    return value or None


def cast_bool(value: str | None) -> bool | None:
    """Cast "true" or "false", in any letter case, with or without whitespace, to a bool."""
    result = _BOOLEANS.get(value)
    if result is not None:
        return result
    if not value:
        return None
    result = _BOOLEANS.get(value.strip().lower())
    if result is None:
        raise ValueError(f"not a boolean: {value!r}")
    return result


def cast_number(value: str | None) -> int | float | None:
    """Cast a decimal number to an int when it is integral, otherwise to a float.

    Integers written without a fraction or exponent are exact, and raise ValueError outside
    the range orjson can write (-2**63 to 2**64 - 1). Other values are read as IEEE 754
    doubles. An integral double becomes the exact int of the decimal text when that int is in
    the range, and stays a float otherwise ("1e300").
    """
    if value is None:
        return None
    if value.isascii() and value.isdigit():
        return _json_int(int(value))
    if not value:
        return None
    text = value.strip()
    if "," in text:
        if _GROUPED_DECIMAL_RE.fullmatch(text) is None:
            raise ValueError(f"not a number: {value!r}")
        text = text.replace(",", "")
    elif _DECIMAL_RE.fullmatch(text) is None:
        raise ValueError(f"not a number: {value!r}")
    if "." not in text and "e" not in text and "E" not in text:
        return _json_int(int(text))
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {value!r}")
    if not number.is_integer():
        return number
    if -_FLOAT_EXACT_INT_LIMIT < number < _FLOAT_EXACT_INT_LIMIT:
        return int(number)
    exact = Decimal(text)
    if exact != exact.to_integral_value():
        return number
    exact_int = int(exact)
    return exact_int if _JSON_INT_MIN <= exact_int <= _JSON_INT_MAX else number


def _json_int(number: int) -> int:
    if _JSON_INT_MIN <= number <= _JSON_INT_MAX:
        return number
    raise ValueError("integer outside the range -2**63 to 2**64 - 1")


def cast_date(value: str | None) -> str | None:
    """Cast a date to "YYYY-MM-DD".

    Accepts "YYYY-MM-DD", epoch milliseconds of a UTC midnight and ISO 8601 timestamps at UTC
    midnight. Unlike in `cast_datetime`, epoch numbers are never read as seconds. Raises
    ValueError for any other time of day and for dates that do not exist.
    """
    if value is None:
        return None
    if len(value) == 10 and _DATE_RE.fullmatch(value):
        date.fromisoformat(value)
        return value
    if value.isascii() and value.isdigit():
        return _format_epoch_date(int(value))
    if not value:
        return None
    text = value.strip()
    if _EPOCH_RE.fullmatch(text):
        return _format_epoch_date(int(text))
    moment = _parse_iso_datetime(text)
    if moment.hour or moment.minute or moment.second or moment.microsecond:
        raise ValueError(f"timestamp not at UTC midnight: {value!r}")
    return moment.date().isoformat()


def _format_epoch_date(milliseconds: int) -> str:
    days, remainder = divmod(milliseconds, _DAY_MS)
    if remainder:
        raise ValueError(f"epoch milliseconds not at UTC midnight: {milliseconds}")
    return _add(_EPOCH_DATE, days=days).isoformat()


def cast_datetime(value: str | None) -> str | None:
    """Cast a timestamp to RFC 3339 in UTC with milliseconds: "2019-10-30T03:30:17.883Z".

    Accepts ISO 8601 as `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]][ ][offset]]`. The fraction has
    any number of digits after "." or ",", and is truncated to milliseconds. The offset is Z,
    +HH:MM, +HHMM or +HH, and "T" and "Z" may be lower case. A date alone is midnight UTC, and
    a time without an offset is read as UTC. An epoch number is read as seconds when its
    absolute value is below EPOCH_SECONDS_LIMIT, otherwise as milliseconds.
    """
    if value is None:
        return None
    if len(value) == 24 and _CANONICAL_DATETIME_RE.fullmatch(value):
        datetime.fromisoformat(value[:23])
        return value
    if value.isascii() and value.isdigit():
        return _format_epoch(int(value))
    if not value:
        return None
    text = value.strip()
    if _EPOCH_RE.fullmatch(text):
        return _format_epoch(int(text))
    return _parse_iso_datetime(text).isoformat(timespec="milliseconds") + "Z"


def _format_epoch(number: int) -> str:
    milliseconds = number * 1000 if abs(number) < EPOCH_SECONDS_LIMIT else number
    moment = _add(_EPOCH_DATETIME, milliseconds=milliseconds)
    return moment.isoformat(timespec="milliseconds") + "Z"


def _parse_iso_datetime(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (see `cast_datetime`) to a naive datetime in UTC."""
    match = _ISO_DATETIME_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, sign, offset_hours, offset_minutes = (
        match.groups()
    )
    microsecond = int(fraction[:3].ljust(3, "0")) * 1000 if fraction else 0
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        microsecond,
    )
    if sign is None:
        return moment
    hours = int(offset_hours)
    minutes = int(offset_minutes or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"invalid UTC offset: {text!r}")
    offset_total = hours * 60 + minutes
    return _add(moment, minutes=-offset_total if sign == "+" else offset_total)


def _add(moment: _Moment, *, days: int = 0, minutes: int = 0, milliseconds: int = 0) -> _Moment:
    """Add a duration, raising ValueError instead of OverflowError outside years 1 to 9999."""
    try:
        # Positional order: days, seconds, microseconds, milliseconds, minutes. Keyword
        # arguments make this hot path slower.
        return moment + timedelta(days, 0, 0, milliseconds, minutes)
    except OverflowError as error:
        raise ValueError(f"date out of range: {error}") from None


_CONVERTER_BY_TYPE: dict[str, Converter] = {
    "string": cast_string,
    "bool": cast_bool,
    "number": cast_number,
    "date": cast_date,
    "datetime": cast_datetime,
}


def converter_for_type(property_type: str | None) -> Converter:
    """Return the converter for a HubSpot property type: `cast_text` for other types."""
    return _CONVERTER_BY_TYPE.get(property_type or "", cast_text)


def build_converters(definitions: Iterable[Mapping[str, Any]]) -> dict[str, Converter]:
    """Map each property name to the converter for its type. Skips definitions without a name."""
    return {name: converter_for_type(_property_type(d)) for name, d in _named(definitions)}


# Records


class CastFailures:
    """Per-property count of values kept as strings because they could not be cast.

    Safe to share between threads, so that one instance can count a whole sync.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, name: str, count: int = 1) -> None:
        """Add count to the failed values of property name."""
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + count

    def summary(self) -> dict[str, int]:
        """Return a copy of the counts, keyed by property name in alphabetical order."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def total(self) -> int:
        """Return the number of failed values over all properties."""
        with self._lock:
            return sum(self._counts.values())


def cast_record(
    record: dict[str, Any], converters: Mapping[str, Converter], failures: CastFailures
) -> dict[str, Any]:
    """Cast a HubSpot object's property values in place and return the same record.

    Property values must be strings or None, as HubSpot sends them. Casts `properties` and
    every `propertiesWithHistory[name][i].value`, and sets a top-level `properties_<name>`
    column to each cast `properties[name]`, for every property in the record, including those
    without a converter. Values of properties without a converter stay unchanged. Each value
    that cannot be cast stays unchanged and is counted in failures, history values included.
    """
    properties = record.get("properties")
    if properties:
        for name, value in properties.items():
            converter = converters.get(name)
            if converter is not None and converter is not cast_string:
                try:
                    value = converter(value)
                except ValueError:
                    failures.record(name)
                else:
                    properties[name] = value
            record[PROPERTY_COLUMN_PREFIX + name] = value
    history = record.get("propertiesWithHistory")
    if history:
        _cast_history(history, converters, failures)
    return record


def _cast_history(
    history: Mapping[str, list[dict[str, Any]]],
    converters: Mapping[str, Converter],
    failures: CastFailures,
) -> None:
    for name, entries in history.items():
        converter = converters.get(name)
        if converter is None or converter is cast_string or not entries:
            continue
        for entry in entries:
            if "value" not in entry:
                continue
            try:
                entry["value"] = converter(entry["value"])
            except ValueError:
                failures.record(name)


# Requests


def select_properties(
    definitions: Iterable[Mapping[str, Any]], configured: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Choose the property names to request, and list the configured names that do not exist.

    Without configured names, returns every defined property except those whose
    `dataSensitivity` is other than `non_sensitive`, because reading the values of sensitive
    properties needs extra scopes (HubSpot developer docs, "Access and manage Sensitive Data").
    A missing `dataSensitivity` counts as `non_sensitive`. With configured names, returns the
    defined ones in configured order without repeats, sensitive ones included, and the
    undefined ones in the same order.
    """
    named = dict(_named(definitions))
    if not configured:
        requested = [
            name
            for name, definition in named.items()
            if definition.get("dataSensitivity", _SENSITIVITY_NOT_SENSITIVE)
            in (None, _SENSITIVITY_NOT_SENSITIVE)
        ]
        return requested, []
    requested = []
    unknown = []
    for name in dict.fromkeys(configured):
        if name in named:
            requested.append(name)
        else:
            unknown.append(name)
    return requested, unknown


def split_property_names(
    names: Sequence[str], max_chars: int = DEFAULT_MAX_PROPERTY_CHARS
) -> list[list[str]]:
    """Split property names, in order, into lists whose JSON arrays are at most max_chars long.

    Lengths are of `json.dumps(list)`, the encoding `requests` uses for a JSON body. A name
    whose array alone is longer than max_chars gets a list of its own. Returns [] when names
    is empty.
    """
    if max_chars < 2:
        raise ValueError(f"max_chars must be at least 2, got {max_chars}")
    chunks: list[list[str]] = []
    current: list[str] = []
    current_chars = 2  # the brackets
    for name in names:
        name_chars = len(json.dumps(name))
        separator_chars = 2 if current else 0  # ", " as json.dumps writes it
        if current and current_chars + separator_chars + name_chars > max_chars:
            chunks.append(current)
            current = []
            current_chars = 2
            separator_chars = 0
        current.append(name)
        current_chars += separator_chars + name_chars
    if current:
        chunks.append(current)
    return chunks
