"""Typed records: the schema follows the portal's property definitions, values are cast."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from integration_tests.connector import (
    assert_ids_accounted,
    assert_records_match_schema,
    known_ids,
    private_app_config,
    read,
    warning_logs,
)

EXPECTED_TYPES = {
    "hs_object_id": ["number", "string", "null"],
    "employee_count": ["number", "string", "null"],
    "is_active": ["boolean", "null"],
    "contract_start_date": ["string", "null"],
    "last_review_at": ["string", "null"],
    "client_name": ["string", "null"],
    "partner_tier": ["string", "null"],
    "service_lines": ["string", "null"],
    "integration_settings": ["string", "null"],
    "office_location": ["string", "null"],
}
EXPECTED_FORMATS = {"contract_start_date": "date", "last_review_at": "date-time"}
SENSITIVE = ("support_phone", "tax_identifier")


@pytest.fixture(scope="module")
def default_read(emulator, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("default_read")
    ids = known_ids(emulator.url)[:300]
    run, schema = read(emulator.url, work_dir, private_app_config(emulator.url, ids))
    assert run.returncode == 0, run.stderr
    return ids, run, schema


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPES))
def test_schema_types_each_property(default_read, name: str) -> None:
    _, _, schema = default_read
    typed = schema["properties"]["properties"]["properties"][name]
    assert typed["type"] == EXPECTED_TYPES[name]
    assert typed.get("format") == EXPECTED_FORMATS.get(name)
    assert schema["properties"][f"properties_{name}"]["type"] == EXPECTED_TYPES[name]


def test_schema_leaves_out_sensitive_properties(default_read) -> None:
    _, _, schema = default_read
    for name in SENSITIVE:
        assert name not in schema["properties"]["properties"]["properties"]
        assert f"properties_{name}" not in schema["properties"]


def test_default_read_validates_and_balances(default_read) -> None:
    ids, run, schema = default_read
    assert_records_match_schema(run.records, schema)
    assert_ids_accounted(run, ids)


def test_columns_equal_nested_properties(default_read) -> None:
    _, run, _ = default_read
    for record in run.records:
        for name, value in record["properties"].items():
            # The CDK's message serializer leaves out top-level fields whose value is null.
            assert record.get(f"properties_{name}") == value, f"{record['id']} {name}"


def test_values_have_their_json_types(default_read) -> None:
    _, run, _ = default_read
    for record in run.records:
        properties = record["properties"]
        assert isinstance(properties["hs_object_id"], int)
        assert properties["is_active"] in (True, False, None)
        assert properties["employee_count"] is None or isinstance(properties["employee_count"], int)
        if properties["contract_start_date"]:
            datetime.date.fromisoformat(properties["contract_start_date"])
        if properties["last_review_at"]:
            assert properties["last_review_at"].endswith("Z")
            assert len(properties["last_review_at"]) == len("2019-10-30T03:30:17.883Z")


def test_unicode_text_is_kept(default_read) -> None:
    _, run, _ = default_read
    cities = {record["properties"]["city"] for record in run.records}
    assert any(city and not city.isascii() for city in cities)


def test_configured_read_validates(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:120]
    config = private_app_config(
        emulator.url,
        ids,
        properties=["employee_count", "is_active", "support_phone", "no_such_property"],
        properties_with_history=["account_balance", "no_such_history"],
    )
    run, schema = read(emulator.url, tmp_path, config)
    assert run.returncode == 0, run.stderr
    typed = schema["properties"]["properties"]["properties"]
    assert set(typed) == {"employee_count", "is_active", "support_phone"}
    warnings = warning_logs(run)
    assert sum("no_such_property" in warning for warning in warnings) == 1
    assert sum("named no_such_history, so" in warning for warning in warnings) == 1
    assert not any("account_balance" in warning for warning in warnings)
    assert_records_match_schema(run.records, schema)
    assert_ids_accounted(run, ids)


def test_untyped_read_keeps_strings(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:50]
    config = private_app_config(emulator.url, ids, cast_property_values=False)
    run, schema = read(emulator.url, tmp_path, config)
    assert run.returncode == 0, run.stderr
    for record in run.records:
        assert all(v is None or isinstance(v, str) for v in record["properties"].values())
    assert_records_match_schema(run.records, schema)
