"""Property-based checks of value casting and of cast records against the built schema."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from source_partner_clients.property_types import (
    EPOCH_SECONDS_LIMIT,
    PROPERTY_COLUMN_PREFIX,
    CastFailures,
    build_converters,
    build_stream_schema,
    cast_bool,
    cast_date,
    cast_datetime,
    cast_number,
    cast_record,
    converter_for_type,
    property_schema,
)
from unit_tests.test_property_types import FORMAT_CHECKER

# No example database, so that runs leave no .hypothesis folder in the work tree, and no
# deadline, because a timing must not fail a test.
SETTINGS = settings(max_examples=300, deadline=None, database=None)

KNOWN_TYPES = [
    "string",
    "bool",
    "number",
    "date",
    "datetime",
    "enumeration",
    "phone_number",
    "json",
    "object_coordinates",
]
# Types whose failed casts break the schema: a string where a boolean is expected, or a string
# that does not match `format`.
SCHEMA_BREAKING_TYPES = {"bool", "date", "datetime"}
UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000


# Value strategies


@st.composite
def bool_texts(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(["true", "false"]))
    upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    cased = "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
    padding = st.sampled_from(["", " ", "\t", "\n "])
    return draw(padding) + cased + draw(padding)


def number_texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.integers(min_value=-(10**12), max_value=10**12).map(lambda n: f"{n:,}"),
        st.tuples(st.integers(0, 10**9), st.integers(0, 99)).map(
            lambda parts: f"{parts[0]:,}.{parts[1]:02d}"
        ),
    )


@st.composite
def date_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Return (text, expected "YYYY-MM-DD") for a date in one of HubSpot's forms."""
    day = draw(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
    iso = day.isoformat()
    epoch_ms = (day - date(1970, 1, 1)).days * DAY_MS
    forms = [
        iso,
        str(epoch_ms),
        f"{iso}T00:00:00Z",
        f"{iso}T00:00:00.000Z",
        f"{iso}T00:00:00+00:00",
        f" {iso} ",
    ]
    return draw(st.sampled_from(forms)), iso


@st.composite
def datetime_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Return (text, expected RFC 3339 UTC) for an ISO 8601 timestamp in a random form."""
    local = draw(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)))
    offset_minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    digits = f"{local.microsecond:06d}" + draw(st.text("0123456789", max_size=3))
    fraction_digits = draw(st.integers(0, len(digits)))
    fraction = digits[:fraction_digits]
    separator = draw(st.sampled_from(["T", "t", " "]))
    text = f"{local.date().isoformat()}{separator}{local:%H:%M:%S}"
    if fraction:
        text += draw(st.sampled_from([".", ","])) + fraction
    text += draw(offset_texts(offset_minutes))
    milliseconds = int(fraction[:3].ljust(3, "0"))
    moment = local.replace(microsecond=milliseconds * 1000)
    moment = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    return text, rfc3339_utc(moment)


def offset_texts(offset_minutes: int) -> st.SearchStrategy[str]:
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    forms = [f"{sign}{hours:02d}:{minutes:02d}", f"{sign}{hours:02d}{minutes:02d}"]
    if minutes == 0:
        forms.append(f"{sign}{hours:02d}")
    if offset_minutes == 0:
        forms += ["Z", "z", "", " Z"]
    return st.sampled_from(forms)


@st.composite
def epoch_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Return (epoch number text, expected RFC 3339 UTC) under the documented threshold."""
    # Seconds from 0001-01-01 up to the threshold, and milliseconds from 0001-01-01 to
    # 9999-12-31 beyond it on either side.
    number = draw(
        st.one_of(
            st.integers(-62_135_596_800, EPOCH_SECONDS_LIMIT - 1),
            st.integers(-62_135_596_800_000, -EPOCH_SECONDS_LIMIT),
            st.integers(EPOCH_SECONDS_LIMIT, 253_402_300_799_999),
        )
    )
    milliseconds = number * 1000 if abs(number) < EPOCH_SECONDS_LIMIT else number
    return str(number), rfc3339_utc(UTC_EPOCH + timedelta(milliseconds=milliseconds))


def rfc3339_utc(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    # strftime's %Y does not pad years below 1000 to four digits on glibc.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc:%H:%M:%S}"
        f".{utc.microsecond // 1000:03d}Z"
    )


def typed_texts(type_: str) -> st.SearchStrategy[str]:
    """Texts that look like valid values of a HubSpot type."""
    if type_ == "bool":
        return bool_texts()
    if type_ == "number":
        return number_texts()
    if type_ == "date":
        return date_texts().map(lambda pair: pair[0])
    if type_ == "datetime":
        return st.one_of(datetime_texts(), epoch_texts()).map(lambda pair: pair[0])
    return st.text()


def values_for(type_: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.just(""), typed_texts(type_), st.text(max_size=30))


property_types = st.one_of(st.sampled_from(KNOWN_TYPES), st.text(min_size=1, max_size=12))
property_names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@st.composite
def definitions_and_records(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Draw property definitions of random types and one record with values for them."""
    pairs = draw(
        st.lists(st.tuples(property_names, property_types), min_size=1, max_size=10).map(
            lambda items: list(dict(items).items())
        )
    )
    definitions = [{"name": name, "type": type_, "fieldType": "text"} for name, type_ in pairs]
    properties = {name: draw(values_for(type_)) for name, type_ in pairs}
    properties["zz_undefined"] = draw(st.one_of(st.none(), st.text(max_size=10)))
    history = {}
    for name, type_ in pairs:
        if draw(st.booleans()):
            values = draw(st.lists(values_for(type_), max_size=3))
            history[name] = [
                {"value": value, "timestamp": "2019-10-30T03:30:17.883Z", "sourceType": "API"}
                for value in values
            ]
    record = {"id": "1000001", "properties": properties, "propertiesWithHistory": history}
    return definitions, record


# Oracles


def assert_numbers_equal(original: str, result: int | float) -> None:
    """Check that result is the number the text denotes, exactly or as the nearest double."""
    text = original.strip().replace(",", "")
    assert not isinstance(result, bool)
    if isinstance(result, int) and text.lstrip("+-").isdigit():
        assert result == int(text)
    elif isinstance(result, int):
        assert result in (Decimal(text), float(text))
    else:
        assert result == float(text)


def iso_moment(text: str) -> datetime:
    """Parse an accepted ISO 8601 timestamp with datetime.fromisoformat, as UTC when naive."""
    normalized = text.strip().upper().replace(" Z", "Z").replace(" +", "+").replace(" -", "-")
    moment = datetime.fromisoformat(normalized)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expected_datetime(original: str) -> str:
    text = original.strip()
    if text.lstrip("-").isdigit():
        number = int(text)
        milliseconds = number * 1000 if abs(number) < EPOCH_SECONDS_LIMIT else number
        return rfc3339_utc(UTC_EPOCH + timedelta(milliseconds=milliseconds))
    moment = iso_moment(text)
    fraction = re.search(r"[.,](\d+)", text)
    milliseconds = int(fraction.group(1)[:3].ljust(3, "0")) if fraction else 0
    return rfc3339_utc(moment.replace(microsecond=milliseconds * 1000))


def expected_date(original: str) -> str:
    text = original.strip()
    if text.lstrip("-").isdigit():
        return (date(1970, 1, 1) + timedelta(days=int(text) // DAY_MS)).isoformat()
    return iso_moment(text).astimezone(UTC).date().isoformat()


def check_cast_value(type_: str, original: str | None, result: Any, failed: bool) -> None:
    """Check that a cast lost nothing: failures keep the input, successes denote the input."""
    if failed:
        assert result == original
        assert type_ in {"bool", "number", "date", "datetime"}
    elif original is None:
        assert result is None
    elif original == "":
        assert result == ("" if type_ == "string" else None)
    elif type_ == "bool":
        assert original.strip().lower() in ("true", "false")
        assert result is (original.strip().lower() == "true")
    elif type_ == "number":
        assert_numbers_equal(original, result)
    elif type_ == "date":
        assert result == expected_date(original)
    elif type_ == "datetime":
        assert result == expected_datetime(original)
    else:
        assert result == original


def cast_fails(type_: str, value: str | None) -> bool:
    try:
        converter_for_type(type_)(value)
    except ValueError:
        return True
    return False


class CastCheck:
    """Checker of cast values against their inputs, which collects the failures it expects."""

    def __init__(self, types: dict[str, str]) -> None:
        self.types = types
        self.failures: Counter[str] = Counter()
        self.breaking_paths: set[tuple[str | int, ...]] = set()
        self.bool_failure_paths: set[tuple[str | int, ...]] = set()

    def check(
        self, name: str, original: str | None, result: Any, *paths: tuple[str | int, ...]
    ) -> None:
        type_ = self.types[name]
        failed = cast_fails(type_, original)
        check_cast_value(type_, original, result, failed)
        if not failed:
            return
        self.failures[name] += 1
        if type_ in SCHEMA_BREAKING_TYPES:
            self.breaking_paths.update(paths)
        if type_ == "bool":
            self.bool_failure_paths.update(paths)


def check_record(original: dict[str, Any], cast: dict[str, Any], checker: CastCheck) -> None:
    """Check every property and history value of a cast record against the original."""
    assert set(cast["properties"]) == set(original["properties"])
    for name, value in original["properties"].items():
        result = cast["properties"][name]
        column = PROPERTY_COLUMN_PREFIX + name
        assert cast[column] == result, name
        if name in checker.types:
            checker.check(name, value, result, ("properties", name), (column,))
        else:
            assert result == value, name
    for name, entries in original["propertiesWithHistory"].items():
        cast_entries = cast["propertiesWithHistory"][name]
        assert len(cast_entries) == len(entries), name
        for index, entry in enumerate(entries):
            path = ("propertiesWithHistory", name, index, "value")
            checker.check(name, entry["value"], cast_entries[index]["value"], path)


# Tests


@SETTINGS
@given(definitions_and_records())
def test_cast_record_matches_schema(
    case: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    definitions, record = case
    original = json.loads(json.dumps(record))
    checker = CastCheck({item["name"]: item["type"] for item in definitions})
    failures = CastFailures()

    cast_record(record, build_converters(definitions), failures)

    check_record(original, record, checker)
    assert failures.summary() == dict(sorted(checker.failures.items()))
    validator = Draft7Validator(build_stream_schema(definitions), format_checker=FORMAT_CHECKER)
    error_paths = {tuple(error.absolute_path) for error in validator.iter_errors(record)}
    assert error_paths <= checker.breaking_paths
    assert checker.bool_failure_paths <= error_paths


@st.composite
def types_and_values(draw: st.DrawFn) -> tuple[str, str | None]:
    type_ = draw(property_types)
    return type_, draw(values_for(type_))


@SETTINGS
@given(types_and_values())
def test_converters_return_schema_type_or_raise(case: tuple[str, str | None]) -> None:
    type_, value = case
    try:
        result = converter_for_type(type_)(value)
    except ValueError:
        return
    validator = Draft7Validator(property_schema({"type": type_}), format_checker=FORMAT_CHECKER)
    assert [error.message for error in validator.iter_errors(result)] == []
    if type_ == "number":
        assert not isinstance(result, str)


@SETTINGS
@given(bool_texts())
def test_cast_bool_any_case(text: str) -> None:
    assert cast_bool(text) is (text.strip().lower() == "true")


@SETTINGS
@given(number_texts())
def test_cast_number_keeps_value(text: str) -> None:
    try:
        result = cast_number(text)
    except ValueError:
        normalized = text.replace(",", "")
        if normalized.lstrip("+-").isdigit():
            assert not -(2**63) <= int(normalized) <= 2**64 - 1, text
        else:
            assert not math.isfinite(float(normalized)), text
        return
    assert result is not None
    assert_numbers_equal(text, result)


@SETTINGS
@given(date_texts())
def test_cast_date_forms(case: tuple[str, str]) -> None:
    text, expected = case
    assert cast_date(text) == expected


@SETTINGS
@given(datetime_texts())
def test_cast_datetime_iso_forms(case: tuple[str, str]) -> None:
    text, expected = case
    assert cast_datetime(text) == expected


@SETTINGS
@given(epoch_texts())
def test_cast_datetime_epoch_forms(case: tuple[str, str]) -> None:
    text, expected = case
    assert cast_datetime(text) == expected


text_like_types = st.one_of(
    st.sampled_from(["enumeration", "phone_number", "json", "object_coordinates"]),
    st.text(min_size=1, max_size=12).filter(lambda type_: type_ not in KNOWN_TYPES),
)


@SETTINGS
@given(text_like_types, st.text(min_size=1))
def test_text_types_keep_text(type_: str, text: str) -> None:
    assert converter_for_type(type_)(text) == text


@SETTINGS
@given(st.text())
def test_string_type_keeps_any_text(text: str) -> None:
    assert converter_for_type("string")(text) == text


@st.composite
def hubspot_shaped_records(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Draw definitions of the known types and values shaped as HubSpot sends for each type."""
    pairs = draw(
        st.lists(
            st.tuples(property_names, st.sampled_from(KNOWN_TYPES)), min_size=1, max_size=10
        ).map(lambda items: list(dict(items).items()))
    )
    definitions = [{"name": name, "type": type_, "fieldType": "text"} for name, type_ in pairs]
    shaped = {
        name: draw(st.one_of(st.none(), st.just(""), typed_texts(type_))) for name, type_ in pairs
    }
    return definitions, {"id": "1000001", "properties": shaped}


@SETTINGS
@given(hubspot_shaped_records())
def test_hubspot_shaped_values_validate(
    case: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    definitions, record = case
    names = set(record["properties"])
    failures = CastFailures()

    cast_record(record, build_converters(definitions), failures)

    validator = Draft7Validator(build_stream_schema(definitions), format_checker=FORMAT_CHECKER)
    assert [error.message for error in validator.iter_errors(record)] == []
    # Only integers beyond the 64-bit range that the message writer accepts stay strings, and
    # the number schema admits them.
    numbers = {item["name"] for item in definitions if item["type"] == "number"}
    assert set(failures.summary()) <= numbers
    assert set(record["properties"]) == names
    assert {f"properties_{name}" for name in names} <= set(record)
