"""Soak test: one read of 20,000 IDs under faults, HubSpot's request limit and expiring tokens.

The emulator's fault plan fails about 5% of batches on their first request: 4% with a 5xx
status drawn from SOAK_STATUSES and 1% with a connection reset. The emulator also allows 100
requests per 10 seconds and issues OAuth access tokens that expire after 5 seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.connector import (
    BATCH_READ_PATH,
    SECRETS,
    TOKEN_PATH,
    assert_ids_accounted,
    assert_no_bare_traceback,
    assert_no_secrets,
    assert_records_match_schema,
    configured_catalog,
    discover_schema,
    failure_trace,
    faulted_attempts,
    logged_requests,
    oauth_config,
    run_connector,
)
from integration_tests.emulator import EmulatorServer

ID_COUNT = 20_000
# About 5% of the generated partner clients are archived, so 21,500 give 20,425 active ones.
CLIENT_COUNT = 21_500
BATCH_SIZE = 100
SOAK_STATUSES = [500, 502, 503, 504, 521, 522, 523, 524]
SOAK_SETTINGS = {
    "rate_limit_max": 100,
    "rate_limit_interval_ms": 10_000,
    "token_lifetime_seconds": 5,
    "fault_seed": 20_000,
    "faults": [
        {"kind": "status", "status": SOAK_STATUSES, "rate": 0.04},
        {"kind": "drop", "rate": 0.01},
    ],
}
# Bounds the read so that a stuck connector fails the test instead of stalling CI.
READ_TIMEOUT_SECONDS = 1200


@pytest.fixture(scope="module")
def soak_emulator() -> Iterator[EmulatorServer]:
    """An emulator of its own, because the session's emulator serves only 3,000 clients."""
    server = EmulatorServer(count=CLIENT_COUNT, settings=SOAK_SETTINGS).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_soak_20000_ids_under_faults(soak_emulator: EmulatorServer, tmp_path: Path) -> None:
    ids = soak_emulator.ids()[:ID_COUNT]
    assert len(ids) == ID_COUNT
    schema = discover_schema(soak_emulator.url, tmp_path)
    soak_emulator.reset()
    config = oauth_config(soak_emulator.url, ids, batch_size=BATCH_SIZE)
    started = time.monotonic()
    run = run_connector(
        "read", tmp_path, config, configured_catalog(schema), timeout=READ_TIMEOUT_SECONDS
    )
    wall_time = time.monotonic() - started
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    assert run.id_reports == []
    assert_records_match_schema(run.records, schema)
    assert_no_secrets(run, [*SECRETS, *soak_emulator.issued_access_tokens()])
    assert_no_bare_traceback(run)
    batches = logged_requests(soak_emulator, BATCH_READ_PATH)
    tokens = logged_requests(soak_emulator, TOKEN_PATH)
    # Shown with `pytest -rP`, for the record only: no assertion depends on time.
    print(
        f"read of {ID_COUNT} IDs: {wall_time:.1f} s, {len(batches)} batch requests, "
        f"{sum(faulted_attempts(batches).values())} failed by the fault plan, "
        f"{sum(entry['status'] == 429 for entry in batches)} answered 429, "
        f"{sum(entry['status'] == 401 for entry in batches)} answered 401, "
        f"{len(tokens)} token requests"
    )
    assert faulted_attempts(batches), "no fault hit the read, so the test checks nothing"
    assert len(tokens) * 3 <= len(batches), "the connector requested a token too often"
