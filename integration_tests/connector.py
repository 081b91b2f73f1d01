"""Run the installed `source-partner-clients` command as a subprocess, as Airbyte runs it.

Every stdout line is parsed with the CDK's protocol models; a line that is not an Airbyte
message fails the test that produced it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import requests
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    FailureType,
    Status,
    TraceType,
    Type,
)

from integration_tests.emulator import (
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_REFRESH_TOKEN,
    PRIVATE_APP_TOKEN,
)

COMMAND = str(Path(sys.executable).with_name("source-partner-clients"))
STREAM_NAME = "partner_clients"
SECRETS = (PRIVATE_APP_TOKEN, OAUTH_CLIENT_SECRET, OAUTH_REFRESH_TOKEN)
TIMEOUT_SECONDS = 300


@dataclass
class ConnectorRun:
    """Output of one connector command."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[AirbyteMessage]

    def of_type(self, message_type: Type) -> list[AirbyteMessage]:
        return [message for message in self.messages if message.type == message_type]

    @property
    def records(self) -> list[dict[str, Any]]:
        return [message.record.data for message in self.of_type(Type.RECORD)]

    @property
    def error_traces(self) -> list[AirbyteMessage]:
        return [m for m in self.of_type(Type.TRACE) if m.trace.type == TraceType.ERROR]

    @property
    def id_reports(self) -> list[AirbyteMessage]:
        """ERROR traces that report IDs missing (the read goes on after them)."""
        return [
            m for m in self.error_traces if m.trace.error.message.startswith("HubSpot reported")
        ]

    @property
    def connection_status(self) -> Any:
        statuses = self.of_type(Type.CONNECTION_STATUS)
        assert len(statuses) == 1, f"expected one CONNECTION_STATUS, got {len(statuses)}"
        return statuses[0].connectionStatus

    @property
    def catalog(self) -> Any:
        catalogs = self.of_type(Type.CATALOG)
        assert len(catalogs) == 1, f"expected one CATALOG, got {len(catalogs)}"
        return catalogs[0].catalog

    def log_text(self) -> str:
        return "\n".join(m.log.message for m in self.of_type(Type.LOG))


def private_app_config(api_base_url: str, ids: Sequence[str], **overrides: Any) -> dict[str, Any]:
    return {
        "credentials": {
            "credentials_title": "Private App Credentials",
            "access_token": PRIVATE_APP_TOKEN,
        },
        "partner_client_ids": list(ids),
        "api_base_url": api_base_url,
        **overrides,
    }


def oauth_config(api_base_url: str, ids: Sequence[str], **overrides: Any) -> dict[str, Any]:
    return {
        "credentials": {
            "credentials_title": "OAuth Credentials",
            "client_id": OAUTH_CLIENT_ID,
            "client_secret": OAUTH_CLIENT_SECRET,
            "refresh_token": OAUTH_REFRESH_TOKEN,
        },
        "partner_client_ids": list(ids),
        "api_base_url": api_base_url,
        **overrides,
    }


def configured_catalog(json_schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "streams": [
            {
                "stream": {
                    "name": STREAM_NAME,
                    "json_schema": dict(json_schema or {}),
                    "supported_sync_modes": ["full_refresh"],
                    "source_defined_primary_key": [["id"]],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "overwrite",
                "primary_key": [["id"]],
            }
        ]
    }


def run_connector(
    command: str,
    work_dir: Path,
    config: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> ConnectorRun:
    """Run one command with its files written to work_dir, and parse every stdout line.

    Raise subprocess.TimeoutExpired, after killing the command, when it runs past `timeout`
    seconds.
    """
    arguments = [COMMAND, command]
    if config is not None:
        config_path = work_dir / "config.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        arguments += ["--config", str(config_path)]
    if catalog is not None:
        catalog_path = work_dir / "catalog.json"
        catalog_path.write_text(json.dumps(catalog), encoding="utf-8")
        arguments += ["--catalog", str(catalog_path)]
    completed = subprocess.run(
        arguments,
        cwd=work_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    messages = [parse_message(line) for line in completed.stdout.splitlines() if line.strip()]
    return ConnectorRun(completed.returncode, completed.stdout, completed.stderr, messages)


def parse_message(line: str) -> AirbyteMessage:
    """Parse one stdout line as an Airbyte message, failing with the line when it is not one."""
    try:
        return AirbyteMessageSerializer.load(json.loads(line))
    except Exception as error:  # noqa: BLE001 - any parse failure means an invalid line
        raise AssertionError(f"stdout line is not an Airbyte message: {line[:300]!r}") from error


def discover_schema(api_base_url: str, work_dir: Path) -> dict[str, Any]:
    run = run_connector("discover", work_dir, private_app_config(api_base_url, ["1"]))
    assert run.returncode == 0, run.stderr
    return run.catalog.streams[0].json_schema


def read(
    api_base_url: str, work_dir: Path, config: Mapping[str, Any]
) -> tuple[ConnectorRun, dict[str, Any]]:
    """Discover, then read with the discovered schema; return the read and the schema."""
    discovered = run_connector("discover", work_dir, config)
    assert discovered.returncode == 0, discovered.stderr
    schema = discovered.catalog.streams[0].json_schema
    return run_connector("read", work_dir, config, configured_catalog(schema)), schema


def assert_records_match_schema(
    records: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]
) -> None:
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for record in records:
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, f"record {record.get('id')} does not match the schema: {errors[0]}"


def reported_ids(run: ConnectorRun) -> list[str]:
    """Return every ID named in the internal messages of the ID reports, in output order."""
    ids: list[str] = []
    for message in run.id_reports:
        error = json.loads(message.trace.error.internal_message)
        ids += error.get("ids") or (error.get("context") or {}).get("ids") or []
    return ids


def assert_ids_accounted(run: ConnectorRun, requested: Sequence[str], id_key: str = "id") -> None:
    """Check that every requested ID is in exactly one record or one report, and no other."""
    emitted = [_record_key(record, id_key) for record in run.records]
    reported = reported_ids(run)
    assert len(emitted) == len(set(emitted)), "a record was emitted twice"
    assert len(reported) == len(set(reported)), "an ID was reported twice"
    assert not set(emitted) & set(reported), "an ID was both emitted and reported"
    assert sorted(emitted + reported) == sorted(requested)


def _record_key(record: Mapping[str, Any], id_key: str) -> str:
    return str(record["id"] if id_key == "id" else record["properties"][id_key])


def assert_no_secrets(run: ConnectorRun, secrets: Iterable[str] = SECRETS) -> None:
    for secret in secrets:
        assert secret not in run.stdout, "a secret is in stdout"
        assert secret not in run.stderr, "a secret is in stderr"


def assert_report_failure_types(run: ConnectorRun) -> None:
    for message in run.id_reports:
        assert message.trace.error.failure_type == FailureType.config_error
        assert message.trace.error.stream_descriptor.name == STREAM_NAME


def check_failed(run: ConnectorRun) -> str:
    """Return the message of a FAILED connection status."""
    status = run.connection_status
    assert status.status == Status.FAILED, f"check succeeded unexpectedly: {status}"
    return status.message or ""


def known_ids(api_base_url: str, archived: bool = False) -> list[str]:
    """Return the emulator's partner-client IDs, active or archived, in order."""
    response = requests.get(
        f"{api_base_url}/_emulator/ids", params={"archived": str(archived).lower()}, timeout=10
    )
    response.raise_for_status()
    return response.json()["ids"]


# --- helpers for reads under faults -------------------------------------------------------

BATCH_READ_PATH = "/crm/v3/objects/partner_clients/batch/read"
TOKEN_PATH = "/oauth/v1/token"
# The CDK's concurrent source ends every failed read with a config_error trace that starts
# with these words and only lists the stream's exceptions (airbyte-cdk 7.39.1).
FAILED_STREAMS_SUMMARY = "During the sync, the following streams did not sync successfully"


def logged_requests(emulator: Any, path: str) -> list[dict[str, Any]]:
    """Return the emulator's log entries for `path`, in arrival order."""
    return [entry for entry in emulator.requests() if entry["path"] == path]


def batch_ids(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the input IDs of a logged batch-read request."""
    return tuple(str(item["id"]) for item in (entry["body"] or {}).get("inputs") or [])


def faulted_attempts(entries: Iterable[Mapping[str, Any]]) -> dict[tuple[str, ...], int]:
    """Count, per batch, the logged requests that a fault failed."""
    counts: dict[tuple[str, ...], int] = {}
    for entry in entries:
        if entry["fault"]:
            counts[batch_ids(entry)] = counts.get(batch_ids(entry), 0) + 1
    return counts


def assert_faulted_batches_recovered(entries: Sequence[Mapping[str, Any]], times: int) -> None:
    """Check that each faulted batch failed `times` attempts and its last request got a 2xx."""
    counts = faulted_attempts(entries)
    assert counts, "no request was answered by a fault, so the test checks nothing"
    for ids, count in counts.items():
        assert count == times, f"batch {ids[0]}..{ids[-1]} got {count} faults, expected {times}"
        last = [entry for entry in entries if batch_ids(entry) == ids][-1]
        assert last["fault"] is None, f"batch {ids[0]}..{ids[-1]} was not retried after a fault"
        assert 200 <= last["status"] < 300, f"batch {ids[0]}..{ids[-1]} ended with {last}"


def failure_trace(run: ConnectorRun) -> Any:
    """Return the error of the last ERROR trace that ended the read.

    ID reports and the CDK's closing summary of failed streams are skipped, because the
    summary is always a config_error and the reason is in the trace before it.
    """
    failures = [
        message.trace.error
        for message in run.error_traces
        if message not in run.id_reports
        and not message.trace.error.message.startswith(FAILED_STREAMS_SUMMARY)
    ]
    assert failures, f"no ERROR trace explains the failure; stdout ends {run.stdout[-500:]!r}"
    return failures[-1]


def split_batches(ids: Sequence[str], batch_size: int) -> list[list[str]]:
    return [list(ids[start : start + batch_size]) for start in range(0, len(ids), batch_size)]


def batches_named_in_failures(run: ConnectorRun, batches: Sequence[Sequence[str]]) -> list:
    """Return the batches whose first and last IDs are both in one failure trace message."""
    messages = [
        message.trace.error.message for message in run.error_traces if message not in run.id_reports
    ]
    return [
        batch
        for batch in batches
        if any(batch[0] in text and batch[-1] in text for text in messages)
    ]


def assert_failed_read_accounted(
    run: ConnectorRun, batches: Sequence[Sequence[str]], covers_all: bool = True
) -> list:
    """Check the IDs of a read that failed, and return the batches its failures name.

    Nothing is emitted or reported twice or outside the request. Each batch is read whole
    (every ID in a record or a report) or not at all, and a batch named in a failure is not
    read at all. With `covers_all`, records, reports and named batches together hold every
    requested ID, so a failure leaves no ID unexplained.
    """
    requested = {i for batch in batches for i in batch}
    emitted = [str(record["id"]) for record in run.records]
    reported = reported_ids(run)
    assert len(emitted) == len(set(emitted)), "a record was emitted twice"
    assert len(reported) == len(set(reported)), "an ID was reported twice"
    assert not set(emitted) & set(reported), "an ID was both emitted and reported"
    accounted = set(emitted) | set(reported)
    assert accounted <= requested, "an ID that was not requested was emitted or reported"
    for batch in batches:
        done = accounted & set(batch)
        assert not done or done == set(batch), f"batch {batch[0]}..{batch[-1]} was read in part"
    named = batches_named_in_failures(run, batches)
    assert named, "no failure trace names a batch by its first and last IDs"
    for batch in named:
        assert not accounted & set(batch), f"failed batch {batch[0]}..{batch[-1]} has records"
    if covers_all:
        named_ids = {i for batch in named for i in batch}
        assert accounted | named_ids == requested, "some IDs are neither read nor in a failure"
    return named


def assert_no_bare_traceback(run: ConnectorRun) -> None:
    """Check that no traceback escaped the Airbyte messages and none is a JSON decoding error.

    Every stdout line is already parsed as a message, so only stderr can hold a bare
    traceback. The traces' messages and stack traces must not show a JSON decoding error.
    """
    assert "Traceback (most recent call last)" not in run.stderr, run.stderr[-2000:]
    trace_text = "\n".join(
        f"{m.trace.error.message}\n{m.trace.error.stack_trace or ''}" for m in run.error_traces
    )
    for text in ("JSONDecodeError", "Expecting value"):
        assert text not in run.stderr, f"stderr has {text}"
        assert text not in trace_text, f"an ERROR trace has {text}"


def warning_logs(run: ConnectorRun) -> list[str]:
    return [m.log.message for m in run.of_type(Type.LOG) if m.log.level.value == "WARN"]
