"""Property schemas, value casting, property selection and request splitting."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from datetime import datetime
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from integration_tests.emulator.data import build_dataset
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
    cast_string,
    cast_text,
    converter_for_type,
    property_schema,
    select_properties,
    split_property_names,
    untyped_stream_schema,
)

# RFC 3339 section 5.6 `date-time`, with the "T" and "Z" in either letter case. jsonschema
# 4.26 checks `date-time` only when rfc3339-validator is installed, so the tests bring their own.
_RFC3339_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def is_rfc3339_date_time(instance: object) -> bool:
    """Check RFC 3339 `date-time` syntax, and that the date and time exist.

    Leap seconds (:60) are rejected, which RFC 3339 allows but no converter output contains.
    """
    if not isinstance(instance, str):
        return True
    if _RFC3339_RE.fullmatch(instance) is None:
        return False
    datetime.fromisoformat(instance.upper().replace("Z", "+00:00"))
    return True


# jsonschema's own `date` check (a pattern and date.fromisoformat) plus the one above.
FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("date-time", raises=ValueError)(is_rfc3339_date_time)

STRING_LIKE_TYPES = ["enumeration", "phone_number", "json", "object_coordinates", "currency"]
ALL_TYPES = ["string", "bool", "number", "date", "datetime", *STRING_LIKE_TYPES]


def definition(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "fieldType": "text", **extra}


def all_type_definitions() -> list[dict[str, Any]]:
    return [definition(f"p_{type_}", type_) for type_ in ALL_TYPES]


# Format checker


def test_format_checker_accepts_converter_output() -> None:
    assert FORMAT_CHECKER.conforms("2019-10-30T03:30:17.883Z", "date-time")


@pytest.mark.parametrize(
    ("value", "format_name"),
    [
        pytest.param("2019-10-30 03:30:17Z", "date-time", id="space-separator"),
        pytest.param("2019-10-30T03:30:17", "date-time", id="no-offset"),
        pytest.param("2019-02-30T03:30:17Z", "date-time", id="february-30"),
        pytest.param("2019-02-30", "date", id="date-february-30"),
        pytest.param("20191030", "date", id="date-basic-format"),
    ],
)
def test_format_checker_rejects(value: str, format_name: str) -> None:
    assert not FORMAT_CHECKER.conforms(value, format_name)


# Schema


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        pytest.param("bool", {"type": ["boolean", "null"]}, id="bool"),
        pytest.param("number", {"type": ["number", "string", "null"]}, id="number"),
        pytest.param("date", {"type": ["string", "null"], "format": "date"}, id="date"),
        pytest.param(
            "datetime",
            {
                "type": ["string", "null"],
                "format": "date-time",
                "airbyte_type": "timestamp_with_timezone",
            },
            id="datetime",
        ),
        pytest.param("string", {"type": ["string", "null"]}, id="string"),
        pytest.param("enumeration", {"type": ["string", "null"]}, id="enumeration"),
        pytest.param("phone_number", {"type": ["string", "null"]}, id="phone_number"),
        pytest.param("json", {"type": ["string", "null"]}, id="json"),
        pytest.param("object_coordinates", {"type": ["string", "null"]}, id="coordinates"),
        pytest.param("currency", {"type": ["string", "null"]}, id="unknown-type"),
        pytest.param(None, {"type": ["string", "null"]}, id="missing-type"),
    ],
)
def test_property_schema_by_type(type_: str | None, expected: dict[str, Any]) -> None:
    assert property_schema({"name": "p", "type": type_}) == expected


def test_property_schema_returns_new_dict() -> None:
    first = property_schema({"type": "bool"})
    first["type"].append("string")
    assert property_schema({"type": "bool"}) == {"type": ["boolean", "null"]}


def test_stream_schema_is_valid_draft7() -> None:
    Draft7Validator.check_schema(build_stream_schema(all_type_definitions()))


def test_stream_schema_fixed_fields() -> None:
    schema = build_stream_schema(all_type_definitions())
    fields = schema["properties"]
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is True
    assert schema["required"] == ["id"]
    assert fields["id"]["type"] == "string"
    assert fields["archived"] == {"type": ["boolean", "null"]}
    assert fields["url"] == {"type": ["string", "null"]}
    assert fields["objectWriteTraceId"] == {"type": ["string", "null"]}
    for name in ("createdAt", "updatedAt", "archivedAt"):
        assert fields[name]["type"] == ["string", "null"], name
        assert fields[name]["format"] == "date-time", name


def test_stream_schema_types_property_values() -> None:
    definitions = all_type_definitions()
    properties = build_stream_schema(definitions)["properties"]["properties"]
    for item in definitions:
        assert properties["properties"][item["name"]] == property_schema(item), item["name"]
    assert properties["additionalProperties"] == {"type": ["string", "null"]}


def test_stream_schema_adds_property_columns() -> None:
    definitions = all_type_definitions()
    fields = build_stream_schema(definitions)["properties"]
    for item in definitions:
        column = PROPERTY_COLUMN_PREFIX + item["name"]
        assert fields[column] == property_schema(item), column


def test_stream_schema_types_history_values() -> None:
    definitions = all_type_definitions()
    history = build_stream_schema(definitions)["properties"]["propertiesWithHistory"]
    for item in definitions:
        entry = history["properties"][item["name"]]["items"]["properties"]
        assert entry["value"] == property_schema(item), item["name"]
        assert entry["timestamp"]["format"] == "date-time", item["name"]
        assert entry["updatedByUserId"] == {"type": ["integer", "null"]}, item["name"]
    undefined_entry = history["additionalProperties"]["items"]["properties"]
    assert undefined_entry["value"] == {"type": ["string", "null"]}


def test_stream_schema_skips_unnamed_definitions() -> None:
    schema = build_stream_schema([{"type": "bool"}, {"name": "", "type": "bool"}])
    assert schema["properties"]["properties"]["properties"] == {}


def test_stream_schema_subschemas_are_independent() -> None:
    schema = build_stream_schema([definition("flag", "bool")])
    schema["properties"]["properties"]["properties"]["flag"]["type"].append("string")
    assert schema["properties"]["properties_flag"]["type"] == ["boolean", "null"]


def test_untyped_schema_makes_every_value_a_string() -> None:
    schema = untyped_stream_schema(["flag", "amount"])
    fields = schema["properties"]
    history = fields["propertiesWithHistory"]["properties"]
    for name in ("flag", "amount"):
        assert fields["properties"]["properties"][name] == {"type": ["string", "null"]}, name
        assert fields[PROPERTY_COLUMN_PREFIX + name] == {"type": ["string", "null"]}, name
        assert history[name]["items"]["properties"]["value"] == {"type": ["string", "null"]}


def test_untyped_schema_without_names() -> None:
    schema = untyped_stream_schema()
    Draft7Validator.check_schema(schema)
    assert schema["properties"]["properties"]["properties"] == {}
    assert schema["properties"]["properties"]["additionalProperties"] == {
        "type": ["string", "null"]
    }


# Converter choice


def test_build_converters_one_per_property() -> None:
    definitions = all_type_definitions()
    converters = build_converters(definitions)
    assert list(converters) == [item["name"] for item in definitions]


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        pytest.param("string", cast_string, id="string"),
        pytest.param("bool", cast_bool, id="bool"),
        pytest.param("number", cast_number, id="number"),
        pytest.param("date", cast_date, id="date"),
        pytest.param("datetime", cast_datetime, id="datetime"),
        pytest.param("enumeration", cast_text, id="enumeration"),
        pytest.param("phone_number", cast_text, id="phone_number"),
        pytest.param("json", cast_text, id="json"),
        pytest.param("object_coordinates", cast_text, id="coordinates"),
        pytest.param("currency", cast_text, id="unknown-type"),
        pytest.param(None, cast_text, id="missing-type"),
    ],
)
def test_converter_for_type(type_: str | None, expected: Any) -> None:
    assert converter_for_type(type_) is expected


# Rules for every type


@pytest.mark.parametrize("type_", ALL_TYPES)
def test_none_stays_none(type_: str) -> None:
    assert converter_for_type(type_)(None) is None


@pytest.mark.parametrize("type_", [t for t in ALL_TYPES if t != "string"])
def test_empty_string_is_null(type_: str) -> None:
    assert converter_for_type(type_)("") is None


def test_empty_string_stays_for_string_type() -> None:
    assert cast_string("") == ""


@pytest.mark.parametrize("type_", ["bool", "number", "date", "datetime"])
def test_whitespace_only_cannot_be_cast(type_: str) -> None:
    with pytest.raises(ValueError):
        converter_for_type(type_)("  ")


UNICODE_TEXTS = [
    pytest.param("Zürcher Beratung", id="latin"),
    pytest.param(unicodedata.normalize("NFD", "Zürcher Beratung"), id="decomposed"),
    pytest.param("東京テック 株式会社", id="japanese"),
    pytest.param("🚀 Rocket Partners", id="emoji"),
    pytest.param("Kontakt über Frau Müller.\nZweite Zeile", id="newline"),
    pytest.param("  padded  ", id="surrounding-spaces"),
    pytest.param("chocolate;strawberry", id="multi-select"),
    pytest.param('{"sync": true, "labels": ["パイロット"]}', id="json-text"),
]


@pytest.mark.parametrize("type_", ["string", *STRING_LIKE_TYPES])
@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_text_types_keep_text_exactly(type_: str, text: str) -> None:
    assert converter_for_type(type_)(text) == text


# bool


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("false", False, id="false"),
        pytest.param("TRUE", True, id="upper-true"),
        pytest.param("False", False, id="title-false"),
        pytest.param("tRuE", True, id="mixed-true"),
        pytest.param(" true ", True, id="spaces"),
        pytest.param("\tfalse\n", False, id="tab-newline"),
    ],
)
def test_cast_bool(value: str, expected: bool) -> None:
    assert cast_bool(value) is expected


@pytest.mark.parametrize("value", ["yes", "no", "1", "0", "t", "truee", "N/A", "true;false"])
def test_cast_bool_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        cast_bool(value)


# number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("17", 17, id="integer"),
        pytest.param("17.0", 17, id="integral-decimal"),
        pytest.param("-3", -3, id="negative"),
        pytest.param("+5", 5, id="plus-sign"),
        pytest.param("1e3", 1000, id="exponent"),
        pytest.param("1.5E2", 150, id="upper-exponent"),
        pytest.param("0.1", 0.1, id="fraction"),
        pytest.param(".5", 0.5, id="leading-point"),
        pytest.param("-0.0", 0, id="negative-zero"),
        pytest.param("007", 7, id="leading-zeros"),
        pytest.param("1,234.50", 1234.5, id="thousands-separator"),
        pytest.param("1,234,567", 1234567, id="thousands-separators"),
        pytest.param("-1,234", -1234, id="negative-thousands"),
        pytest.param(" 17 ", 17, id="spaces"),
        pytest.param("1e300", 1e300, id="large-exponent"),
        pytest.param("18446744073709551615", 2**64 - 1, id="uint64-max"),
        pytest.param("-9223372036854775808", -(2**63), id="int64-min"),
        pytest.param("9007199254740993.0", 9007199254740993, id="exact-beyond-2-53"),
        pytest.param("123456789012345678.9", 1.2345678901234568e17, id="double-precision"),
    ],
)
def test_cast_number(value: str, expected: int | float) -> None:
    result = cast_number(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("N/A", id="text"),
        pytest.param("1234;5678", id="multi-value"),
        pytest.param("NaN", id="nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("-inf", id="negative-inf"),
        pytest.param("1e400", id="overflow"),
        pytest.param("1,5", id="decimal-comma"),
        pytest.param("1,23,456", id="two-digit-group"),
        pytest.param("1,234e3", id="grouped-exponent"),
        pytest.param("1_000", id="underscore"),
        pytest.param("١٢٣", id="arabic-indic-digits"),
        pytest.param("１２", id="fullwidth-digits"),
        pytest.param("0x10", id="hex"),
        pytest.param("12 34", id="inner-space"),
        pytest.param("1e", id="bare-exponent"),
        pytest.param(".", id="point"),
        pytest.param("18446744073709551616", id="above-uint64"),
        pytest.param("-9223372036854775809", id="below-int64"),
    ],
)
def test_cast_number_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        cast_number(value)


# date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2019-10-31", "2019-10-31", id="iso-date"),
        pytest.param("1572480000000", "2019-10-31", id="epoch-ms"),
        pytest.param("0", "1970-01-01", id="epoch-zero"),
        pytest.param("-86400000", "1969-12-31", id="negative-epoch-ms"),
        pytest.param("73526400000", "1972-05-01", id="epoch-ms-before-1973"),
        pytest.param("2019-10-31T00:00:00Z", "2019-10-31", id="midnight"),
        pytest.param("2019-10-31T00:00:00.000Z", "2019-10-31", id="midnight-ms"),
        pytest.param("2019-10-31T02:00:00+02:00", "2019-10-31", id="midnight-utc-offset"),
        pytest.param(" 2019-10-31 ", "2019-10-31", id="spaces"),
    ],
)
def test_cast_date(value: str, expected: str) -> None:
    assert cast_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2019-10-31T03:00:00Z", id="not-midnight"),
        pytest.param("2019-10-31T00:00:00+02:00", id="midnight-other-offset"),
        pytest.param("1572480000001", id="epoch-ms-not-midnight"),
        pytest.param("1572480000", id="epoch-seconds"),
        pytest.param("2019-02-30", id="february-30"),
        pytest.param("31/10/2019", id="day-first"),
        pytest.param("20191031", id="basic-format"),
        pytest.param("N/A", id="text"),
        pytest.param("8640000000000000000", id="year-out-of-range"),
    ],
)
def test_cast_date_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        cast_date(value)


# datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2019-10-30T03:30:17.883Z", "2019-10-30T03:30:17.883Z", id="canonical"),
        pytest.param("2019-10-30T03:30:17Z", "2019-10-30T03:30:17.000Z", id="no-fraction"),
        pytest.param("2019-10-30T03:30:17.8Z", "2019-10-30T03:30:17.800Z", id="one-digit"),
        pytest.param("2019-10-30T03:30:17.883999999Z", "2019-10-30T03:30:17.883Z", id="nanos"),
        pytest.param("2019-10-30T03:30:17,883Z", "2019-10-30T03:30:17.883Z", id="comma"),
        pytest.param("2019-10-30T05:30:17.883+02:00", "2019-10-30T03:30:17.883Z", id="offset"),
        pytest.param("2019-10-30T05:30:17+0200", "2019-10-30T03:30:17.000Z", id="offset-hhmm"),
        pytest.param("2019-10-30T05:30:17+02", "2019-10-30T03:30:17.000Z", id="offset-hh"),
        pytest.param("2019-10-29T22:00:00-05:30", "2019-10-30T03:30:00.000Z", id="negative"),
        pytest.param("2019-10-30 03:30:17Z", "2019-10-30T03:30:17.000Z", id="space"),
        pytest.param("2019-10-30 03:30:17 +00:00", "2019-10-30T03:30:17.000Z", id="space-zone"),
        pytest.param("2019-10-30T03:30Z", "2019-10-30T03:30:00.000Z", id="no-seconds"),
        pytest.param("2019-10-30T03:30:17", "2019-10-30T03:30:17.000Z", id="no-offset"),
        pytest.param("2019-10-30t03:30:17z", "2019-10-30T03:30:17.000Z", id="lower-case"),
        pytest.param("2019-10-30", "2019-10-30T00:00:00.000Z", id="date-only"),
        pytest.param("2019-10-31T01:00:00+02:00", "2019-10-30T23:00:00.000Z", id="day-before"),
        pytest.param("1572406217883", "2019-10-30T03:30:17.883Z", id="epoch-ms"),
        pytest.param("1572406217", "2019-10-30T03:30:17.000Z", id="epoch-seconds"),
        pytest.param("-1000", "1969-12-31T23:43:20.000Z", id="negative-epoch-seconds"),
        pytest.param(" 1572406217883 ", "2019-10-30T03:30:17.883Z", id="epoch-spaces"),
    ],
)
def test_cast_datetime(value: str, expected: str) -> None:
    assert cast_datetime(value) == expected


def test_cast_datetime_epoch_below_limit_is_seconds() -> None:
    limit = EPOCH_SECONDS_LIMIT
    assert cast_datetime(str(limit - 1)) == "5138-11-16T09:46:39.000Z"


def test_cast_datetime_epoch_at_limit_is_milliseconds() -> None:
    limit = EPOCH_SECONDS_LIMIT
    assert cast_datetime(str(limit)) == "1973-03-03T09:46:40.000Z"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("N/A", id="text"),
        pytest.param("2019-13-01T00:00:00Z", id="month-13"),
        pytest.param("2019-02-30T00:00:00Z", id="february-30"),
        pytest.param("2019-10-30T24:00:00Z", id="hour-24"),
        pytest.param("2019-10-30T23:59:60Z", id="leap-second"),
        pytest.param("2019-13-01T00:00:00.000Z", id="canonical-month-13"),
        pytest.param("2019-02-30T03:30:17.883Z", id="canonical-february-30"),
        pytest.param("2019-10-30T24:00:00.000Z", id="canonical-hour-24"),
        pytest.param("2019-10-30T03:30:17+24:00", id="offset-hours-24"),
        pytest.param("2019-10-30T03:30:17+02:60", id="offset-minutes-60"),
        pytest.param("2019-10-30X03:30:17Z", id="other-separator"),
        pytest.param("20191030T033017Z", id="basic-format"),
        pytest.param("2019-W44-3", id="week-date"),
        pytest.param("2019-10-30T03:30:17.883Z[UTC]", id="zone-suffix"),
        pytest.param("0001-01-01T00:30:00+01:00", id="before-year-1"),
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999"),
        pytest.param("99999999999999999999", id="epoch-out-of-range"),
        pytest.param("2019-10-30T03:30:17.883Z;2019-10-31T00:00:00Z", id="two-values"),
    ],
)
def test_cast_datetime_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        cast_datetime(value)


# cast_record


def typed_record() -> dict[str, Any]:
    return {
        "id": "1000001",
        "properties": {
            "p_bool": "TRUE",
            "p_number": "1,234.50",
            "p_date": "1572480000000",
            "p_datetime": "1572406217883",
            "p_string": "",
            "p_enumeration": "chocolate;strawberry",
            "undefined_property": "17",
        },
        "propertiesWithHistory": {
            "p_number": [
                {"value": "17", "timestamp": "2019-10-30T03:30:17.883Z", "sourceType": "API"},
                {"value": "N/A", "timestamp": "2019-10-29T03:30:17.883Z", "sourceType": "API"},
            ],
            "undefined_property": [{"value": "17", "timestamp": "2019-10-30T03:30:17.883Z"}],
        },
    }


def test_cast_record_returns_same_record() -> None:
    record = typed_record()
    assert cast_record(record, build_converters(all_type_definitions()), CastFailures()) is record


def test_cast_record_casts_properties() -> None:
    record = typed_record()
    cast_record(record, build_converters(all_type_definitions()), CastFailures())
    properties = record["properties"]
    assert properties["p_bool"] is True
    assert properties["p_number"] == 1234.5
    assert properties["p_date"] == "2019-10-31"
    assert properties["p_datetime"] == "2019-10-30T03:30:17.883Z"
    assert properties["p_string"] == ""
    assert properties["p_enumeration"] == "chocolate;strawberry"


def test_cast_record_keeps_undefined_properties() -> None:
    record = typed_record()
    cast_record(record, build_converters(all_type_definitions()), CastFailures())
    assert record["properties"]["undefined_property"] == "17"
    assert record["propertiesWithHistory"]["undefined_property"][0]["value"] == "17"


def test_cast_record_adds_property_columns() -> None:
    record = typed_record()
    cast_record(record, build_converters(all_type_definitions()), CastFailures())
    for name, value in record["properties"].items():
        assert record[PROPERTY_COLUMN_PREFIX + name] == value, name


def test_cast_record_casts_history_values() -> None:
    record = typed_record()
    cast_record(record, build_converters(all_type_definitions()), CastFailures())
    entries = record["propertiesWithHistory"]["p_number"]
    assert entries[0]["value"] == 17
    assert entries[0]["timestamp"] == "2019-10-30T03:30:17.883Z"
    assert entries[0]["sourceType"] == "API"


def test_cast_record_keeps_and_counts_failures() -> None:
    record = typed_record()
    record["properties"]["p_bool"] = "N/A"
    failures = CastFailures()
    cast_record(record, build_converters(all_type_definitions()), failures)
    assert record["properties"]["p_bool"] == "N/A"
    assert record["properties_p_bool"] == "N/A"
    assert record["propertiesWithHistory"]["p_number"][1]["value"] == "N/A"
    assert failures.summary() == {"p_bool": 1, "p_number": 1}


def test_cast_record_with_empty_converters_adds_columns() -> None:
    record = typed_record()
    cast_record(record, {}, CastFailures())
    assert record["properties_p_bool"] == "TRUE"
    assert record["properties_undefined_property"] == "17"


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"id": "1"}, id="no-properties"),
        pytest.param({"id": "1", "properties": None}, id="null-properties"),
        pytest.param({"id": "1", "properties": {}, "propertiesWithHistory": None}, id="empty"),
        pytest.param({"id": "1", "propertiesWithHistory": {"p_number": []}}, id="no-history"),
    ],
)
def test_cast_record_without_values(record: dict[str, Any]) -> None:
    failures = CastFailures()
    before = json.dumps(record, sort_keys=True)
    cast_record(record, build_converters(all_type_definitions()), failures)
    assert json.dumps(record, sort_keys=True) == before
    assert failures.total() == 0


def test_cast_record_skips_history_entry_without_value() -> None:
    record = {"id": "1", "propertiesWithHistory": {"p_number": [{"timestamp": "x"}]}}
    cast_record(record, build_converters(all_type_definitions()), CastFailures())
    assert record["propertiesWithHistory"]["p_number"] == [{"timestamp": "x"}]


def test_emulator_dataset_casts_and_validates() -> None:
    dataset = build_dataset(300)
    schema = build_stream_schema(dataset.properties)
    converters = build_converters(dataset.properties)
    validator = Draft7Validator(schema, format_checker=FORMAT_CHECKER)
    failures = CastFailures()
    for client in dataset.clients:
        record = cast_record(json.loads(json.dumps(client)), converters, failures)
        errors = [error.message for error in validator.iter_errors(record)]
        assert errors == [], client["id"]
    assert failures.summary() == {}


# CastFailures


def test_cast_failures_summary() -> None:
    failures = CastFailures()
    failures.record("b")
    failures.record("a", 3)
    failures.record("b")
    assert failures.summary() == {"a": 3, "b": 2}
    assert list(failures.summary()) == ["a", "b"]
    assert failures.total() == 5


def test_cast_failures_summary_is_copy() -> None:
    failures = CastFailures()
    failures.record("a")
    failures.summary()["a"] = 100
    assert failures.summary() == {"a": 1}


def test_cast_failures_counts_across_threads() -> None:
    failures = CastFailures()
    start = threading.Barrier(8)

    def record_many() -> None:
        start.wait()
        for _ in range(2000):
            failures.record("amount")

    threads = [threading.Thread(target=record_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures.summary() == {"amount": 16000}


# select_properties

SELECTION_DEFINITIONS = [
    definition("hs_object_id", "number", dataSensitivity="non_sensitive"),
    definition("support_phone", "phone_number", dataSensitivity="sensitive"),
    definition("tax_identifier", "string", dataSensitivity="highly_sensitive"),
    definition("city", "string"),
    definition("notes", "string", dataSensitivity=None),
]


@pytest.mark.parametrize("configured", [None, []], ids=["none", "empty"])
def test_select_properties_default_skips_sensitive(configured: list[str] | None) -> None:
    requested, unknown = select_properties(SELECTION_DEFINITIONS, configured)
    assert requested == ["hs_object_id", "city", "notes"]
    assert unknown == []


def test_select_properties_keeps_configured_order() -> None:
    requested, unknown = select_properties(SELECTION_DEFINITIONS, ["notes", "hs_object_id"])
    assert requested == ["notes", "hs_object_id"]
    assert unknown == []


def test_select_properties_lists_unknown_names() -> None:
    configured = ["zeta", "city", "alpha", "zeta"]
    requested, unknown = select_properties(SELECTION_DEFINITIONS, configured)
    assert requested == ["city"]
    assert unknown == ["zeta", "alpha"]


def test_select_properties_configured_sensitive() -> None:
    requested, _ = select_properties(SELECTION_DEFINITIONS, ["tax_identifier"])
    assert requested == ["tax_identifier"]


def test_select_properties_drops_repeats() -> None:
    requested, _ = select_properties(SELECTION_DEFINITIONS, ["city", "notes", "city"])
    assert requested == ["city", "notes"]


# split_property_names


def test_split_keeps_small_list_whole() -> None:
    names = ["hs_object_id", "city", "notes"]
    assert split_property_names(names) == [names]


def test_split_respects_max_chars() -> None:
    names = [f"custom_property_{i:04d}_with_a_long_name" for i in range(500)]
    chunks = split_property_names(names, 1000)
    assert len(chunks) > 1
    assert [name for chunk in chunks for name in chunk] == names
    for chunk in chunks:
        assert len(json.dumps(chunk)) <= 1000, chunk[0]


def test_split_fills_chunk_to_exact_limit() -> None:
    names = ["aaaa", "bbbb", "cccc"]
    limit = len(json.dumps(names[:2]))
    assert split_property_names(names, limit) == [["aaaa", "bbbb"], ["cccc"]]


def test_split_puts_long_name_alone() -> None:
    names = ["a", "x" * 50, "b"]
    assert split_property_names(names, 20) == [["a"], ["x" * 50], ["b"]]


def test_split_counts_escaped_characters() -> None:
    names = ["ü" * 3, "ü" * 3]
    limit = len(json.dumps(names)) - 1
    assert split_property_names(names, limit) == [["ü" * 3], ["ü" * 3]]


def test_split_empty_list() -> None:
    assert split_property_names([]) == []


@pytest.mark.parametrize("max_chars", [1, 0, -5])
def test_split_rejects_small_max_chars(max_chars: int) -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split_property_names(["a"], max_chars)
