"""spec, check and discover, run as subprocesses against the emulator over loopback HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

from airbyte_cdk.models import Status, SyncMode, Type

from integration_tests.connector import (
    assert_no_secrets,
    check_failed,
    known_ids,
    oauth_config,
    private_app_config,
    run_connector,
)
from integration_tests.emulator import NO_SCOPE_TOKEN, OAUTH_CLIENT_SECRET

BATCH_READ_PATH = "/crm/v3/objects/partner_clients/batch/read"


def _batch_reads(emulator) -> list[dict]:
    return [entry for entry in emulator.requests() if entry["path"] == BATCH_READ_PATH]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_spec_prints_one_spec_message(tmp_path: Path) -> None:
    run = run_connector("spec", tmp_path)
    assert run.returncode == 0
    specs = run.of_type(Type.SPEC)
    assert len(specs) == 1
    properties = specs[0].spec.connectionSpecification["properties"]
    assert set(properties) >= {
        "credentials",
        "partner_client_ids",
        "properties",
        "properties_with_history",
        "id_property",
        "archived",
        "batch_size",
        "api_base_url",
    }


def test_spec_fields_have_title_description_order(tmp_path: Path) -> None:
    spec = run_connector("spec", tmp_path).of_type(Type.SPEC)[0].spec.connectionSpecification
    fields = dict(spec["properties"])
    for option in spec["properties"]["credentials"]["oneOf"]:
        fields |= {f"credentials.{name}": value for name, value in option["properties"].items()}
    for name, field in fields.items():
        assert field.get("title"), f"{name} has no title"
        assert field.get("description"), f"{name} has no description"
        assert "order" in field, f"{name} has no order"


def test_spec_marks_every_secret(tmp_path: Path) -> None:
    spec = run_connector("spec", tmp_path).of_type(Type.SPEC)[0].spec.connectionSpecification
    options = {o["title"]: o["properties"] for o in spec["properties"]["credentials"]["oneOf"]}
    secret_fields = [
        options["Private App Credentials"]["access_token"],
        options["OAuth Credentials"]["client_id"],
        options["OAuth Credentials"]["client_secret"],
        options["OAuth Credentials"]["refresh_token"],
    ]
    assert all(field.get("airbyte_secret") is True for field in secret_fields)


def test_check_succeeds_with_one_id(emulator, tmp_path: Path) -> None:
    ids = known_ids(emulator.url)[:5]
    run = run_connector("check", tmp_path, private_app_config(emulator.url, [" ", *ids]))
    assert run.returncode == 0, run.stderr
    assert run.connection_status.status == Status.SUCCEEDED
    reads = _batch_reads(emulator)
    assert len(reads) == 1
    assert reads[0]["body"]["inputs"] == [{"id": ids[0]}]


def test_check_succeeds_for_unknown_id(emulator, tmp_path: Path) -> None:
    run = run_connector("check", tmp_path, private_app_config(emulator.url, ["999999999"]))
    assert run.returncode == 0, run.stderr
    assert run.connection_status.status == Status.SUCCEEDED


def test_check_invalid_token_fails_clearly(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, ["1000001"])
    config["credentials"]["access_token"] = "pat-na1-not-a-real-token"
    run = run_connector("check", tmp_path, config)
    message = check_failed(run)
    assert run.returncode == 0
    assert "invalid, expired or revoked" in message
    assert_no_secrets(run, ["pat-na1-not-a-real-token"])


def test_check_missing_scope_names_scope(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, ["1000001"])
    config["credentials"]["access_token"] = NO_SCOPE_TOKEN
    run = run_connector("check", tmp_path, config)
    message = check_failed(run)
    assert "crm.objects.partner-clients.read" in message
    assert_no_secrets(run, [NO_SCOPE_TOKEN])


def test_check_unreachable_host_fails(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    run = run_connector("check", tmp_path, private_app_config(url, ["1000001"]))
    message = check_failed(run)
    assert f"Could not connect to 127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "api_base_url" in message
    assert_no_secrets(run)


def test_check_oauth_succeeds(emulator, tmp_path: Path) -> None:
    run = run_connector("check", tmp_path, oauth_config(emulator.url, ["1000001"]))
    assert run.connection_status.status == Status.SUCCEEDED
    token_requests = [e for e in emulator.requests() if e["path"] == "/oauth/v1/token"]
    assert len(token_requests) == 1
    assert_no_secrets(run)


def test_check_oauth_bad_secret_fails(emulator, tmp_path: Path) -> None:
    config = oauth_config(emulator.url, ["1000001"])
    config["credentials"]["client_secret"] = "wrong-secret-value"
    run = run_connector("check", tmp_path, config)
    check_failed(run)
    assert_no_secrets(run, ["wrong-secret-value", OAUTH_CLIENT_SECRET])


def test_check_rejects_http_to_remote_host(tmp_path: Path) -> None:
    config = private_app_config("http://api.example.com", ["1"])
    run = run_connector("check", tmp_path, config)
    message = check_failed(run)
    assert "api_base_url" in message
    assert "loopback" in message


def test_check_rejects_all_blank_ids(emulator, tmp_path: Path) -> None:
    run = run_connector("check", tmp_path, private_app_config(emulator.url, ["", "  "]))
    message = check_failed(run)
    assert "partner_client_ids" in message


def test_check_rejects_unknown_credentials_title(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, ["1"])
    config["credentials"]["credentials_title"] = "API Key"
    run = run_connector("check", tmp_path, config)
    check_failed(run)
    assert_no_secrets(run)


def test_discover_returns_partner_clients_stream(emulator, tmp_path: Path) -> None:
    run = run_connector("discover", tmp_path, private_app_config(emulator.url, ["1"]))
    assert run.returncode == 0, run.stderr
    streams = run.catalog.streams
    assert [stream.name for stream in streams] == ["partner_clients"]
    stream = streams[0]
    assert stream.source_defined_primary_key == [["id"]]
    assert stream.supported_sync_modes == [SyncMode.full_refresh]


def test_discover_schema_types(emulator, tmp_path: Path) -> None:
    run = run_connector("discover", tmp_path, private_app_config(emulator.url, ["1"]))
    schema = run.catalog.streams[0].json_schema
    fields = schema["properties"]
    assert fields["id"]["type"] == "string"
    for name in ("createdAt", "updatedAt", "archivedAt"):
        assert fields[name]["type"] == ["string", "null"]
        assert fields[name]["format"] == "date-time"
    assert fields["archived"]["type"] == ["boolean", "null"]
    assert fields["properties"]["type"] == ["object", "null"]
    history_item = fields["propertiesWithHistory"]["additionalProperties"]["items"]
    assert set(history_item["properties"]) == {
        "value",
        "timestamp",
        "sourceType",
        "sourceId",
        "sourceLabel",
        "updatedByUserId",
    }


def test_discover_invalid_token_fails(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, ["1"])
    config["credentials"]["access_token"] = "pat-na1-not-a-real-token"
    run = run_connector("discover", tmp_path, config)
    assert run.returncode != 0
    messages = [m.trace.error.message for m in run.of_type(Type.TRACE) if m.trace.error]
    assert any("invalid, expired or revoked" in message for message in messages)
    assert_no_secrets(run, ["pat-na1-not-a-real-token"])


def test_discover_falls_back_without_properties_scope(emulator, tmp_path: Path) -> None:
    config = private_app_config(emulator.url, ["1"], properties=["client_name"])
    config["credentials"]["access_token"] = NO_SCOPE_TOKEN
    run = run_connector("discover", tmp_path, config)
    assert run.returncode == 0, run.stderr
    schema = run.catalog.streams[0].json_schema
    assert schema["properties"]["properties_client_name"]["type"] == ["string", "null"]
    assert "crm.objects.partner-clients.read" in run.log_text()
