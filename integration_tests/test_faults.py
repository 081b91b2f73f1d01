"""read under faults from the emulator's fault plan: retries, rate limits, tokens, bad config.

Each read requests 300 IDs in batches of 50 (six batches) unless a test sets otherwise, and
checks that every ID ends up in a record, in a report or in a batch named by the failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from airbyte_cdk.models import FailureType

from integration_tests.connector import (
    BATCH_READ_PATH,
    SECRETS,
    TOKEN_PATH,
    ConnectorRun,
    assert_failed_read_accounted,
    assert_faulted_batches_recovered,
    assert_ids_accounted,
    assert_no_bare_traceback,
    assert_no_secrets,
    assert_records_match_schema,
    batch_ids,
    configured_catalog,
    discover_schema,
    failure_trace,
    faulted_attempts,
    known_ids,
    logged_requests,
    oauth_config,
    private_app_config,
    reported_ids,
    run_connector,
    split_batches,
    warning_logs,
)
from integration_tests.emulator import (
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_REFRESH_TOKEN,
    PRIVATE_APP_TOKEN,
    READ_SCOPE,
)
from integration_tests.emulator.fault_responses import FOOTER_MARKER, html_error_page

ID_COUNT = 300
BATCH_SIZE = 50
# Bounds each read, so that a connector that retries too long fails the test instead of
# stalling the suite.
READ_TIMEOUT_SECONDS = 180
# Keeps rate-limit waits short. The connector's default is 600 seconds per batch.
MAX_RATE_LIMIT_WAIT_SECONDS = 20
EXTRA_SCOPE = "crm.schemas.partner-clients.read"
HTTP_TIMEOUT_SECONDS = 10


@pytest.fixture(scope="module")
def schema(emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The discovered stream schema, read once for the module."""
    return discover_schema(emulator.url, tmp_path_factory.mktemp("discover"))


@pytest.fixture
def ids(emulator) -> list[str]:
    return known_ids(emulator.url)[:ID_COUNT]


def read_under_faults(
    emulator, work_dir: Path, schema: dict[str, Any], config: dict[str, Any]
) -> ConnectorRun:
    """Run read with `config` and check what every read must do, failed or not."""
    run = run_connector(
        "read", work_dir, config, configured_catalog(schema), timeout=READ_TIMEOUT_SECONDS
    )
    assert_no_secrets(run, [*SECRETS, *emulator.issued_access_tokens()])
    assert_no_bare_traceback(run)
    assert_records_match_schema(run.records, schema)
    return run


def fault_config(emulator, ids: list[str], **overrides: Any) -> dict[str, Any]:
    settings = {"batch_size": BATCH_SIZE, **overrides}
    return private_app_config(emulator.url, ids, **settings)


# --- the emulator's fault plan, over HTTP ---------------------------------------------------


def post_batch(emulator, batch: list[str]) -> requests.Response:
    return requests.post(
        f"{emulator.url}{BATCH_READ_PATH}",
        json={"inputs": [{"id": i} for i in batch]},
        headers={"Authorization": f"Bearer {PRIVATE_APP_TOKEN}"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )


def post_token(emulator) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "refresh_token": OAUTH_REFRESH_TOKEN,
    }
    return requests.post(f"{emulator.url}{TOKEN_PATH}", data=form, timeout=HTTP_TIMEOUT_SECONDS)


def faulted_batches_in_order(emulator, batches: list[list[str]]) -> set[tuple[str, ...]]:
    for batch in batches:
        post_batch(emulator, batch)
    return set(faulted_attempts(logged_requests(emulator, BATCH_READ_PATH)))


def test_fault_rate_same_seed_any_order(emulator, ids) -> None:
    batches = split_batches(ids, 10)
    rule = {"kind": "status", "status": 503, "rate": 0.3}
    emulator.reset(faults=[rule], fault_seed=5)
    forward = faulted_batches_in_order(emulator, batches)
    emulator.reset(faults=[rule], fault_seed=5)
    backward = faulted_batches_in_order(emulator, batches[::-1])
    emulator.reset(faults=[rule], fault_seed=6)
    other_seed = faulted_batches_in_order(emulator, batches)
    assert forward == backward
    assert 0 < len(forward) < len(batches)
    assert other_seed != forward


def test_fault_times_then_served(emulator, ids) -> None:
    emulator.reset(faults=[{"kind": "status", "status": 500, "nth": [2], "times": 2}])
    statuses = [post_batch(emulator, batch).status_code for batch in (ids[:5], ids[5:10])]
    statuses += [post_batch(emulator, ids[5:10]).status_code for _ in range(3)]
    assert statuses == [200, 500, 500, 200, 200]
    faults = [entry["fault"] for entry in emulator.requests()]
    assert faults[1] == {"rule": 0, "kind": "status", "status": 500}
    assert [fault is None for fault in faults] == [True, False, False, True, True]


def test_fault_rules_apply_in_order(emulator, ids) -> None:
    rules = [{"kind": "truncate", "times": 1}, {"kind": "drop", "times": 2}]
    emulator.reset(faults=rules)
    outcomes = []
    for _ in range(4):
        try:
            outcomes.append(post_batch(emulator, ids[:3]).status_code)
        except requests.ConnectionError:
            outcomes.append("reset")
    assert outcomes == [200, "reset", "reset", 200]
    assert [entry["status"] for entry in emulator.requests()] == [200, None, None, 200]


def test_fault_rate_limit_body_and_headers(emulator, ids) -> None:
    rule = {"kind": "rate_limit", "policy": "DAILY", "retry_after": 3}
    emulator.reset(faults=[rule], rate_limit_interval_ms=2000)
    response = post_batch(emulator, ids[:3])
    body = response.json()
    assert response.status_code == 429
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "DAILY"
    assert body["message"] == "You have reached your daily limit."
    assert body["groupName"]
    assert body["correlationId"]
    assert response.headers["Retry-After"] == "3"
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "2000"


def test_fault_rate_limit_without_policy(emulator, ids) -> None:
    emulator.reset(faults=[{"kind": "rate_limit", "policy": None}])
    response = post_batch(emulator, ids[:3])
    assert response.status_code == 429
    assert "policyName" not in response.json()
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in response.headers


def test_fault_token_requests(emulator) -> None:
    """Token request 3 is selected and fails with the one after it; request 6 is selected next."""
    rule = {"kind": "status", "status": 503, "target": "token", "every": 3, "times": 2}
    emulator.reset(faults=[rule], token_lifetime_seconds=5)
    responses = [post_token(emulator) for _ in range(6)]
    assert [response.status_code for response in responses] == [200, 200, 503, 503, 200, 503]
    assert responses[0].json()["expires_in"] == 5


INVALID_RULES = [
    pytest.param({"kind": "explode"}, id="unknown_kind"),
    pytest.param({"kind": "status"}, id="status_missing"),
    pytest.param({"kind": "status", "status": 200}, id="status_not_error"),
    pytest.param({"kind": "drop", "rate": 1.5}, id="rate_above_1"),
    pytest.param({"kind": "drop", "rate": 0.5, "every": 2}, id="two_selectors"),
    pytest.param({"kind": "drop", "times": 0}, id="times_0"),
    pytest.param({"kind": "drop", "status": 500}, id="field_of_other_kind"),
    pytest.param({"kind": "too_many_inputs", "every": 2}, id="too_many_inputs_selector"),
    pytest.param({"kind": "not_found_404", "target": "token"}, id="kind_not_for_token"),
    pytest.param({"kind": "hang", "seconds": 301}, id="hang_too_long"),
]


@pytest.mark.parametrize("rule", INVALID_RULES)
def test_fault_rule_invalid_rejected(emulator, rule: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError), match=r"faults\[0\]"):
        emulator.reset(faults=[rule])
    response = requests.post(
        f"{emulator.url}/_emulator/reset", json={"faults": [rule]}, timeout=HTTP_TIMEOUT_SECONDS
    )
    assert response.status_code == 400
    assert "faults[0]" in response.json()["message"]


# --- rate limits ----------------------------------------------------------------------------


RATE_LIMIT_RECOVERY = [
    pytest.param({"policy": "TEN_SECONDLY_ROLLING", "retry_after": 1}, id="ten_secondly_retry"),
    pytest.param({"policy": "TEN_SECONDLY_ROLLING"}, id="ten_secondly_interval_header"),
    pytest.param({"policy": None, "retry_after": 1}, id="no_policy_retry_after"),
    pytest.param({"policy": None}, id="no_policy_interval_header"),
]


@pytest.mark.parametrize("rule_fields", RATE_LIMIT_RECOVERY)
def test_rate_limit_429_waits_and_recovers(
    emulator, tmp_path: Path, schema, ids, rule_fields: dict[str, Any]
) -> None:
    # Without Retry-After, the connector waits for the window that
    # X-HubSpot-RateLimit-Interval-Milliseconds names, here 1 second.
    rule = {"kind": "rate_limit", "every": 2, "times": 2, **rule_fields}
    emulator.reset(faults=[rule], rate_limit_interval_ms=1000)
    config = fault_config(emulator, ids, max_rate_limit_wait_seconds=MAX_RATE_LIMIT_WAIT_SECONDS)
    run = read_under_faults(emulator, tmp_path, schema, config)
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    batches = logged_requests(emulator, BATCH_READ_PATH)
    assert len(faulted_attempts(batches)) == 3
    assert_faulted_batches_recovered(batches, times=2)


def test_rate_limit_real_limiter_recovers(emulator, tmp_path: Path, schema, ids) -> None:
    """The emulator's own limiter: 3 requests per second, as 429 TEN_SECONDLY_ROLLING."""
    emulator.reset(rate_limit_max=3, rate_limit_interval_ms=1000)
    config = fault_config(
        emulator, ids, batch_size=25, max_rate_limit_wait_seconds=MAX_RATE_LIMIT_WAIT_SECONDS
    )
    run = read_under_faults(emulator, tmp_path, schema, config)
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)


def test_rate_limit_wait_budget_exhausted(emulator, tmp_path: Path, schema, ids) -> None:
    rule = {"kind": "rate_limit", "retry_after": 1, "nth": [2], "times": None}
    emulator.reset(faults=[rule])
    run = read_under_faults(
        emulator, tmp_path, schema, fault_config(emulator, ids, max_rate_limit_wait_seconds=3)
    )
    assert run.returncode != 0
    assert failure_trace(run).failure_type == FailureType.transient_error
    named = assert_failed_read_accounted(run, split_batches(ids, BATCH_SIZE))
    assert len(named) == 1
    attempts = faulted_attempts(logged_requests(emulator, BATCH_READ_PATH))
    assert list(attempts) == [tuple(named[0])]
    assert attempts[tuple(named[0])] >= 2, "the rate-limited batch was not retried"


DAILY_LIMITS = [
    pytest.param(
        {"faults": [{"kind": "rate_limit", "policy": "DAILY", "nth": [3], "times": None}]},
        id="fault_rule",
    ),
    pytest.param({"rate_limit_daily": 2}, id="emulator_daily_limit"),
]


@pytest.mark.parametrize("settings", DAILY_LIMITS)
def test_rate_limit_daily_stops_read(
    emulator, tmp_path: Path, schema, ids, settings: dict[str, Any]
) -> None:
    emulator.reset(**settings)
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode != 0
    failure = failure_trace(run)
    assert failure.failure_type == FailureType.transient_error
    assert "daily" in failure.message.lower()
    assert "midnight" in failure.message.lower()
    # Batches read before the limit keep their records, and unread batches need not be
    # named. The third batch is requested only after one of the first two is read.
    assert_failed_read_accounted(run, split_batches(ids, BATCH_SIZE), covers_all=False)
    assert len(run.records) >= BATCH_SIZE
    requested = [batch_ids(entry) for entry in logged_requests(emulator, BATCH_READ_PATH)]
    assert len(requested) == len(set(requested)), "a batch was retried after a daily 429"


# --- transient failures -----------------------------------------------------------------------


TRANSIENT_FAULTS = [
    pytest.param({"kind": "status", "status": 500}, 1, id="500"),
    pytest.param({"kind": "status", "status": 502}, 1, id="502_html"),
    pytest.param({"kind": "status", "status": 503, "retry_after": 1}, 2, id="503_retry_after"),
    pytest.param({"kind": "status", "status": 504}, 1, id="504"),
    pytest.param({"kind": "status", "status": 521, "retry_after": 1}, 1, id="521_html"),
    pytest.param({"kind": "status", "status": 522, "retry_after": 1}, 1, id="522_html"),
    pytest.param({"kind": "status", "status": 523, "retry_after": 1}, 1, id="523_html"),
    pytest.param({"kind": "status", "status": 524, "retry_after": 1}, 1, id="524_html"),
    pytest.param({"kind": "status", "status": 423, "retry_after": 1}, 1, id="423_locked"),
    pytest.param({"kind": "status", "status": 477, "retry_after": 1}, 1, id="477_migration"),
    pytest.param({"kind": "drop"}, 2, id="dropped_connection"),
    # airbyte-cdk 7.39.1 sets no read timeout unless the manifest sets
    # read_timeout_in_seconds, so the connector waits until the emulator closes the connection.
    pytest.param({"kind": "hang", "seconds": 2}, 1, id="hang_then_drop"),
    pytest.param({"kind": "truncate"}, 1, id="truncated_json"),
    pytest.param({"kind": "not_json"}, 1, id="html_200"),
]


@pytest.mark.parametrize(("rule_fields", "times"), TRANSIENT_FAULTS)
def test_transient_fault_retried(
    emulator, tmp_path: Path, schema, ids, rule_fields: dict[str, Any], times: int
) -> None:
    emulator.reset(faults=[{**rule_fields, "every": 2, "times": times}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    batches = logged_requests(emulator, BATCH_READ_PATH)
    assert len(faulted_attempts(batches)) == 3
    assert_faulted_batches_recovered(batches, times=times)


def test_random_5xx_retried(emulator, tmp_path: Path, schema, ids) -> None:
    """A seeded draw picks the batches and a status from the list for each failed attempt."""
    rule = {"kind": "status", "status": [500, 502, 503, 504], "rate": 0.5, "times": 2}
    emulator.reset(faults=[rule], fault_seed=11)
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    assert_faulted_batches_recovered(logged_requests(emulator, BATCH_READ_PATH), times=2)


def test_retried_batches_emit_records_once(emulator, tmp_path: Path, schema, ids) -> None:
    """Every batch gets a truncated 200, then a 503, then its records."""
    rules = [{"kind": "truncate"}, {"kind": "status", "status": 503, "retry_after": 1}]
    emulator.reset(faults=rules)
    config = fault_config(emulator, ids, batch_size=100)
    run = read_under_faults(emulator, tmp_path, schema, config)
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    batches = logged_requests(emulator, BATCH_READ_PATH)
    assert len(batches) == 3 * len(split_batches(ids, 100))
    assert_faulted_batches_recovered(batches, times=2)


# Without Retry-After, the connector's own backoff sets how long these reads take, so the
# cases without it are marked slow.
ENDLESS_FAULTS = [
    pytest.param({"kind": "status", "status": 503, "retry_after": 1}, id="503"),
    pytest.param({"kind": "status", "status": 502, "retry_after": 1}, id="502_html"),
    pytest.param({"kind": "drop"}, id="dropped_connection", marks=pytest.mark.slow),
    pytest.param({"kind": "truncate"}, id="truncated_json", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("rule_fields", ENDLESS_FAULTS)
def test_endless_fault_fails_naming_batch(
    emulator, tmp_path: Path, schema, ids, rule_fields: dict[str, Any]
) -> None:
    emulator.reset(faults=[{**rule_fields, "nth": [2], "times": None}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode != 0
    assert failure_trace(run).failure_type == FailureType.transient_error
    # The other five batches are read, so only the failed batch's IDs are not accounted for.
    named = assert_failed_read_accounted(run, split_batches(ids, BATCH_SIZE))
    assert len(named) == 1
    assert list(faulted_attempts(logged_requests(emulator, BATCH_READ_PATH))) == [tuple(named[0])]


# The 414 case is marked slow because the connector retries it with its own backoff, as it
# retries a 5xx without Retry-After.
NON_JSON_ERRORS = [
    pytest.param({"kind": "uri_too_long"}, 414, id="414", marks=pytest.mark.slow),
    pytest.param({"kind": "status", "status": 502, "retry_after": 1}, 502, id="502_html"),
    pytest.param(
        {"kind": "status", "status": 500, "body": "html", "retry_after": 1}, 500, id="500_html"
    ),
]


@pytest.mark.parametrize(("rule_fields", "status"), NON_JSON_ERRORS)
def test_non_json_error_body_quoted(
    emulator, tmp_path: Path, schema, ids, rule_fields: dict[str, Any], status: int
) -> None:
    emulator.reset(faults=[{**rule_fields, "nth": [2], "times": None}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode != 0
    message = failure_trace(run).message
    assert str(status) in message
    page = html_error_page(status)
    assert page[:200] in message, "the message does not quote the body's first 200 characters"
    assert FOOTER_MARKER not in message, "the message quotes more than 200 characters"
    assert_failed_read_accounted(run, split_batches(ids, BATCH_SIZE))


# --- authentication and scopes ----------------------------------------------------------------


def test_oauth_expiring_tokens_refreshed(emulator, tmp_path: Path, schema, ids) -> None:
    """Tokens live 5 seconds, and the read takes at least 6.

    With num_workers 2 the connector has at most three requests in flight, so 30 batches with
    600 ms latency take at least ten rounds.
    """
    emulator.reset(token_lifetime_seconds=5, latency_ms=600)
    config = oauth_config(emulator.url, ids, batch_size=10, num_workers=2)
    run = read_under_faults(emulator, tmp_path, schema, config)
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    batches = logged_requests(emulator, BATCH_READ_PATH)
    tokens = logged_requests(emulator, TOKEN_PATH)
    used = {entry["token_number"] for entry in batches}
    assert len(used) > 1, "no token expired during the read, so the test checks nothing"
    assert len(tokens) * 3 <= len(batches), "the connector requested a token too often"
    expired = [entry for entry in batches if entry["status"] == 401]
    assert len(expired) <= len(tokens), "a 401 was not followed by one token refresh"


def test_oauth_401_refreshes_and_retries(emulator, tmp_path: Path, schema, ids) -> None:
    rule = {"kind": "unauthorized", "category": "EXPIRED_AUTHENTICATION", "every": 2}
    emulator.reset(faults=[rule])
    run = read_under_faults(emulator, tmp_path, schema, oauth_config(emulator.url, ids))
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    batches = logged_requests(emulator, BATCH_READ_PATH)
    assert_faulted_batches_recovered(batches, times=1)
    # One token for the read, and at most one refresh per 401.
    assert len(logged_requests(emulator, TOKEN_PATH)) <= 1 + len(faulted_attempts(batches))


def test_oauth_401_after_refresh_fails(emulator, tmp_path: Path, schema, ids) -> None:
    rule = {"kind": "unauthorized", "nth": [2], "times": None}
    emulator.reset(faults=[rule])
    config = oauth_config(emulator.url, ids, batch_size=BATCH_SIZE)
    run = read_under_faults(emulator, tmp_path, schema, config)
    assert run.returncode != 0
    assert failure_trace(run).failure_type == FailureType.config_error
    assert_failed_read_accounted(run, split_batches(ids, BATCH_SIZE))
    attempts = faulted_attempts(logged_requests(emulator, BATCH_READ_PATH))
    assert list(attempts.values()) == [2], "the batch was not retried exactly once"


TOKEN_ENDPOINT_FAULTS = [
    pytest.param({"kind": "status", "status": 503, "retry_after": 1}, id="503"),
    pytest.param({"kind": "status", "status": 502}, id="502_html"),
    pytest.param({"kind": "rate_limit", "retry_after": 1}, id="429"),
    pytest.param({"kind": "drop"}, id="dropped_connection"),
]


@pytest.mark.parametrize("rule_fields", TOKEN_ENDPOINT_FAULTS)
def test_oauth_token_endpoint_fault_retried(
    emulator, tmp_path: Path, schema, ids, rule_fields: dict[str, Any]
) -> None:
    emulator.reset(faults=[{**rule_fields, "target": "token", "nth": [1]}])
    run = read_under_faults(emulator, tmp_path, schema, oauth_config(emulator.url, ids))
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    tokens = logged_requests(emulator, TOKEN_PATH)
    assert tokens[0]["fault"] is not None
    assert tokens[-1]["status"] == 200


def test_oauth_token_endpoint_down_fails(emulator, tmp_path: Path, schema, ids) -> None:
    rule = {"kind": "status", "status": 503, "retry_after": 0, "target": "token", "times": None}
    emulator.reset(faults=[rule])
    run = read_under_faults(emulator, tmp_path, schema, oauth_config(emulator.url, ids))
    assert run.returncode != 0
    failure = failure_trace(run)
    assert failure.failure_type == FailureType.transient_error
    assert "OAuth token endpoint failed 6 times in a row (HTTP 503" in failure.message
    assert len(logged_requests(emulator, TOKEN_PATH)) == 6
    assert logged_requests(emulator, BATCH_READ_PATH) == []
    assert run.records == []
    assert_no_secrets(run)
    assert_no_bare_traceback(run)


def test_private_app_401_fails_at_once(emulator, tmp_path: Path, schema, ids) -> None:
    emulator.reset(faults=[{"kind": "unauthorized", "times": None}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode != 0
    assert failure_trace(run).failure_type == FailureType.config_error
    assert run.records == []
    # Batches already in flight on other workers get their own 401, but no batch is retried.
    attempts = faulted_attempts(logged_requests(emulator, BATCH_READ_PATH))
    assert attempts
    assert set(attempts.values()) == {1}, "a batch was retried after a private app 401"


@pytest.mark.parametrize("scope_field", ["requiredGranularScopes", "missingScopes"])
def test_missing_scopes_named(emulator, tmp_path: Path, schema, ids, scope_field: str) -> None:
    rule = {
        "kind": "forbidden",
        "scopes": [READ_SCOPE, EXTRA_SCOPE],
        "scope_field": scope_field,
        "times": None,
    }
    emulator.reset(faults=[rule])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode != 0
    failure = failure_trace(run)
    assert failure.failure_type == FailureType.config_error
    assert READ_SCOPE in failure.message
    assert EXTRA_SCOPE in failure.message


# --- batch size and 404 ------------------------------------------------------------------------


def test_too_many_inputs_halves_batch(emulator, tmp_path: Path, schema, ids) -> None:
    """A 40-input maximum makes the connector halve batches of 100 twice, to 25."""
    emulator.reset(faults=[{"kind": "too_many_inputs", "max_inputs": 40}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids, batch_size=100))
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    answered = [
        batch_ids(entry)
        for entry in logged_requests(emulator, BATCH_READ_PATH)
        if entry["status"] == 200
    ]
    assert all(len(batch) <= 40 for batch in answered)
    assert sorted(i for batch in answered for i in batch) == sorted(ids)
    assert len(warning_logs(run)) == 1, warning_logs(run)


def test_404_naming_ids_reported(emulator, tmp_path: Path, schema, ids) -> None:
    emulator.reset(faults=[{"kind": "not_found_404", "every": 2, "times": None}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode == 0, failure_trace(run).message
    assert_ids_accounted(run, ids)
    missing = [
        i for batch in faulted_attempts(logged_requests(emulator, BATCH_READ_PATH)) for i in batch
    ]
    assert len(missing) == 3 * BATCH_SIZE
    assert sorted(reported_ids(run)) == sorted(missing)


def test_plain_404_config_error(emulator, tmp_path: Path, schema, ids) -> None:
    emulator.reset(faults=[{"kind": "not_found_404", "with_ids": False, "times": None}])
    run = read_under_faults(emulator, tmp_path, schema, fault_config(emulator, ids))
    assert run.returncode != 0
    failure = failure_trace(run)
    assert failure.failure_type == FailureType.config_error
    assert "api_base_url" in failure.message
    assert reported_ids(run) == []


# --- configuration ------------------------------------------------------------------------------


def _oauth_without(*fields: str) -> dict[str, Any]:
    credentials = {
        "credentials_title": "OAuth Credentials",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "refresh_token": OAUTH_REFRESH_TOKEN,
    }
    return {name: value for name, value in credentials.items() if name not in fields}


BAD_CONFIGS = [
    pytest.param({"partner_client_ids": []}, "partner_client_ids", id="no_ids"),
    pytest.param({"partner_client_ids": [" ", ""]}, "partner_client_ids", id="blank_ids"),
    pytest.param({"partner_client_ids": [None]}, "partner_client_ids", id="null_id"),
    pytest.param({"partner_client_ids": [{"id": "1"}]}, "partner_client_ids", id="object_id"),
    pytest.param({"partner_client_ids": [["1"]]}, "partner_client_ids", id="list_id"),
    pytest.param({"batch_size": 0}, "batch_size", id="batch_size_0"),
    pytest.param({"batch_size": 101}, "batch_size", id="batch_size_101"),
    pytest.param({"batch_size": "ten"}, "batch_size", id="batch_size_text"),
    pytest.param({"api_base_url": "http://example.com"}, "api_base_url", id="http_remote_host"),
    pytest.param(
        {"credentials": {"credentials_title": "API Key", "access_token": PRIVATE_APP_TOKEN}},
        "credentials_title",
        id="unknown_credentials_title",
    ),
    pytest.param(
        {"credentials": _oauth_without("client_secret", "refresh_token")},
        "client_secret",
        id="oauth_fields_missing",
    ),
]


@pytest.mark.parametrize(("overrides", "named_field"), BAD_CONFIGS)
def test_bad_config_rejected_before_requests(
    emulator, tmp_path: Path, schema, overrides: dict[str, Any], named_field: str
) -> None:
    config = {**private_app_config(emulator.url, known_ids(emulator.url)[:3]), **overrides}
    run = read_under_faults(emulator, tmp_path, schema, config)
    assert run.returncode != 0
    failure = failure_trace(run)
    assert failure.failure_type == FailureType.config_error
    assert named_field in failure.message
    assert emulator.requests() == [], "the connector sent requests with an invalid config"


# --- strict mode --------------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True], ids=["default", "fail_on_batch_errors"])
def test_strict_mode_reads_all_then_fails(
    emulator, tmp_path: Path, schema, ids, strict: bool
) -> None:
    requested = [*ids[:148], "999000001", "999000002"]
    config = fault_config(emulator, requested, fail_on_batch_errors=strict)
    run = read_under_faults(emulator, tmp_path, schema, config)
    # Every record is emitted and every missing ID reported before a strict read fails.
    assert_ids_accounted(run, requested)
    assert sorted(reported_ids(run)) == ["999000001", "999000002"]
    if strict:
        assert run.returncode != 0
        assert failure_trace(run).message
    else:
        assert run.returncode == 0, run.stderr
