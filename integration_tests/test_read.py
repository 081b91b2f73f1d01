"""read, run as a subprocess against the emulator over loopback HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from airbyte_cdk.models import TraceType, Type

from integration_tests.connector import (
    assert_ids_accounted,
    assert_no_secrets,
    assert_records_match_schema,
    assert_report_failure_types,
    configured_catalog,
    known_ids,
    oauth_config,
    private_app_config,
    read,
    reported_ids,
    run_connector,
)
from integration_tests.emulator import NO_SCOPE_TOKEN, UNIQUE_ID_PROPERTY

BATCH_READ_PATH = "/crm/v3/objects/partner_clients/batch/read"
UNKNOWN_IDS = ["999000001", "999000002", "999000003"]


def _batch_bodies(emulator) -> list[dict]:
    return [e["body"] for e in emulator.requests() if e["path"] == BATCH_READ_PATH]


def test_read_250_ids_sends_three_batches(emulator, tmp_path: Path, batch_read_schema) -> None:
    ids = known_ids(emulator.url)[:250]
    run, schema = read(emulator.url, tmp_path, private_app_config(emulator.url, ids))
    assert run.returncode == 0, run.stderr
    bodies = _batch_bodies(emulator)
    # Two workers read batches concurrently, so they may reach the emulator in any order.
    batches = sorted([item["id"] for item in body["inputs"]] for body in bodies)
    assert batches == [ids[:100], ids[100:200], ids[200:]]
    for body in bodies:
        batch_read_schema.validate(body)
    assert_records_match_schema(run.records, schema)
    assert_ids_accounted(run, ids)
    assert run.id_reports == []


def test_read_mixed_ids_reports_unknown(emulator, tmp_path: Path) -> None:
    found = known_ids(emulator.url)[:7]
    ids = [found[0], UNKNOWN_IDS[0], *found[1:], UNKNOWN_IDS[1]]
    run, schema = read(emulator.url, tmp_path, private_app_config(emulator.url, ids))
    assert run.returncode == 0, run.stderr
    assert sorted(record["id"] for record in run.records) == sorted(found)
    assert len(run.id_reports) == 1
    message = run.id_reports[0].trace.error.message
    assert "OBJECT_NOT_FOUND" in message
    assert UNKNOWN_IDS[0] in message
    assert UNKNOWN_IDS[1] in message
    assert_report_failure_types(run)
    assert_records_match_schema(run.records, schema)
    assert_ids_accounted(run, ids)
    assert "Read 9 partner client IDs: 7 emitted as records, 2 reported missing." in run.log_text()


def test_read_repeated_and_blank_ids(emulator, tmp_path: Path) -> None:
    found = known_ids(emulator.url)[:3]
    raw = [f" {found[0]} ", "", found[1], found[0], "   ", found[2], found[1]]
    run, _ = read(emulator.url, tmp_path, private_app_config(emulator.url, raw))
    assert run.returncode == 0, run.stderr
    bodies = _batch_bodies(emulator)
    assert [item["id"] for body in bodies for item in body["inputs"]] == found
    assert_ids_accounted(run, found)
    assert "Skipped 2 blank entries in partner_client_ids." in run.log_text()


def test_read_id_property(emulator, tmp_path: Path) -> None:
    found = known_ids(emulator.url)[:4]
    codes = _codes_of(emulator, tmp_path, found)
    config = private_app_config(
        emulator.url, [*codes, "PC-NOT-THERE"], id_property=UNIQUE_ID_PROPERTY
    )
    run, schema = read(emulator.url, tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert sorted(record["id"] for record in run.records) == sorted(found)
    body = _batch_bodies(emulator)[-1]
    assert body["idProperty"] == UNIQUE_ID_PROPERTY
    assert UNIQUE_ID_PROPERTY in body["properties"]
    assert reported_ids(run) == ["PC-NOT-THERE"]
    assert_ids_accounted(run, [*codes, "PC-NOT-THERE"], id_key=UNIQUE_ID_PROPERTY)
    assert_records_match_schema(run.records, schema)


def test_read_archived(emulator, tmp_path: Path) -> None:
    archived = known_ids(emulator.url, archived=True)[:5]
    active = known_ids(emulator.url)[:2]
    config = private_app_config(emulator.url, [*archived, *active], archived=True)
    run, schema = read(emulator.url, tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert sorted(record["id"] for record in run.records) == sorted(archived)
    assert all(record["archived"] is True for record in run.records)
    assert all(record["archivedAt"] for record in run.records)
    assert sorted(reported_ids(run)) == sorted(active)
    queries = [e["query"] for e in emulator.requests() if e["path"] == BATCH_READ_PATH]
    assert all(query["archived"] == ["true"] for query in queries)
    assert_records_match_schema(run.records, schema)


def test_read_properties_and_history(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:60]
    config = private_app_config(
        emulator.url,
        ids,
        properties=["partner_status", "partner_tier"],
        properties_with_history=["partner_status"],
    )
    run, schema = read(emulator.url, tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert sorted(len(body["inputs"]) for body in _batch_bodies(emulator)) == [10, 50]
    for record in run.records:
        assert set(record["properties"]) <= {"partner_status", "partner_tier"}
        assert set(record["propertiesWithHistory"]) == {"partner_status"}
    assert_records_match_schema(run.records, schema)
    assert_ids_accounted(run, ids)


def test_read_oauth(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:30]
    run, schema = read(emulator.url, tmp_path, oauth_config(emulator.url, ids, batch_size=10))
    assert run.returncode == 0, run.stderr
    assert_ids_accounted(run, ids)
    credentials = {e["credential"] for e in emulator.requests() if e["path"] == BATCH_READ_PATH}
    assert credentials == {"oauth"}
    assert_no_secrets(run)
    assert_records_match_schema(run.records, schema)


@pytest.mark.parametrize("all_unknown_status", [207, 404])
def test_read_all_unknown_batch(emulator, tmp_path: Path, all_unknown_status: int) -> None:
    emulator.reset(all_unknown_status=all_unknown_status)
    found = known_ids(emulator.url)[:3]
    ids = [*found, *UNKNOWN_IDS]
    run, _ = read(emulator.url, tmp_path, private_app_config(emulator.url, ids, batch_size=3))
    assert run.returncode == 0, run.stderr
    assert sorted(record["id"] for record in run.records) == sorted(found)
    assert sorted(reported_ids(run)) == sorted(UNKNOWN_IDS)
    assert_ids_accounted(run, ids)


def test_read_ids_that_look_like_literals(emulator, tmp_path: Path) -> None:
    ids = ["007", "True", "None", "1e3", "[1]", "0x1F"]
    run, _ = read(emulator.url, tmp_path, private_app_config(emulator.url, ids))
    assert run.returncode == 0, run.stderr
    body = _batch_bodies(emulator)[-1]
    assert body["inputs"] == [{"id": i} for i in ids]
    assert sorted(reported_ids(run)) == sorted(ids)


def test_read_invalid_token_fails_without_secret(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, known_ids(emulator.url)[:3])
    config["credentials"]["access_token"] = "pat-na1-revoked-token-value"
    run = run_connector("read", tmp_path, config, configured_catalog())
    assert run.returncode != 0
    messages = [m.trace.error.message for m in run.error_traces]
    assert any("invalid, expired or revoked" in message for message in messages)
    assert_no_secrets(run, ["pat-na1-revoked-token-value"])


def _codes_of(emulator, tmp_path: Path, ids: list[str]) -> list[str]:
    config = private_app_config(emulator.url, ids, properties=[UNIQUE_ID_PROPERTY])
    run, _ = read(emulator.url, tmp_path, config)
    by_id = {record["id"]: record["properties"][UNIQUE_ID_PROPERTY] for record in run.records}
    return [by_id[i] for i in ids]


def test_read_emits_estimate_and_stream_status(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:120]
    run, _ = read(emulator.url, tmp_path, private_app_config(emulator.url, [*ids, ids[0]]))
    assert run.returncode == 0, run.stderr
    traces = run.of_type(Type.TRACE)
    estimates = [m.trace.estimate for m in traces if m.trace.type == TraceType.ESTIMATE]
    assert len(estimates) == 1
    assert estimates[0].name == "partner_clients"
    assert estimates[0].row_estimate == 120
    statuses = [
        m.trace.stream_status.status.value
        for m in traces
        if m.trace.type == TraceType.STREAM_STATUS
    ]
    assert statuses[0] == "STARTED"
    assert "RUNNING" in statuses
    assert statuses[-1] == "COMPLETE"


def test_read_logs_progress_every_tenth(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:1000]
    config = private_app_config(emulator.url, ids, batch_size=50)
    run, _ = read(emulator.url, tmp_path, config)
    assert run.returncode == 0, run.stderr
    progress = [line for line in run.log_text().splitlines() if line.startswith("read ")]
    assert len(progress) >= 9
    assert re.fullmatch(
        r"read [\d,]+ of 1,000 partner clients \(\d+%\), 0 reported missing", progress[0]
    )


def test_read_failing_batch_ends_incomplete(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, known_ids(emulator.url)[:3])
    config["credentials"]["access_token"] = NO_SCOPE_TOKEN
    run = run_connector("read", tmp_path, config, configured_catalog())
    traces = run.of_type(Type.TRACE)
    statuses = [
        m.trace.stream_status.status.value
        for m in traces
        if m.trace.type == TraceType.STREAM_STATUS
    ]
    assert statuses[-1] == "INCOMPLETE"


def test_read_oauth_bad_secret_is_config_error(emulator, tmp_path: Path) -> None:
    config = oauth_config(emulator.url, known_ids(emulator.url)[:3])
    config["credentials"]["client_secret"] = "wrong-client-secret-value"
    run = run_connector("read", tmp_path, config, configured_catalog())
    assert run.returncode != 0
    errors = [m.trace.error for m in run.error_traces]
    refresh_errors = [e for e in errors if "rejected the OAuth refresh" in e.message]
    assert refresh_errors
    assert refresh_errors[0].failure_type.value == "config_error"
    assert_no_secrets(run, ["wrong-client-secret-value"])


def test_read_uses_catalog_when_properties_api_fails(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:20]
    config = private_app_config(emulator.url, ids)
    discovered = run_connector("discover", tmp_path, config)
    schema = discovered.catalog.streams[0].json_schema
    # The read's token lacks the scope the properties API needs but keeps the catalog's typing.
    config["credentials"]["access_token"] = NO_SCOPE_TOKEN
    run = run_connector("read", tmp_path, config, configured_catalog(schema))
    assert "configured catalog" in run.log_text()
