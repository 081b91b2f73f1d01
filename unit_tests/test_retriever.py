"""Batch reads through the CDK with HTTP mocked: records, error traces and failures."""

from __future__ import annotations

import json
from typing import Any

from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, FailureType, TraceType
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.mock_http import HttpMocker, HttpResponse

from source_partner_clients import SourcePartnerClients
from unit_tests.builders import (
    ACCESS_TOKEN,
    batch_request,
    batch_response,
    catalog,
    config,
    json_response,
    not_found_error,
    partner_client,
)


def _read(source_config: dict[str, Any], expect_failure: bool = False) -> EntrypointOutput:
    source = SourcePartnerClients(catalog=catalog(), config=source_config, state=None)
    return read(source, source_config, catalog(), expecting_exception=expect_failure)


def _batch_errors(output: EntrypointOutput) -> list[AirbyteMessage]:
    """Return the ERROR traces that belong to the stream (per-ID reports)."""
    return [
        message
        for message in output.trace_messages
        if message.trace.type == TraceType.ERROR
        and message.trace.error.stream_descriptor is not None
        and message.trace.error.failure_type == FailureType.config_error
        and "HubSpot reported" in message.trace.error.message
    ]


def _failure(output: EntrypointOutput) -> AirbyteMessage:
    """Return the stream's first ERROR trace that is not a per-ID report: the one that ended it."""
    reports = _batch_errors(output)
    return next(message for message in output.errors if message not in reports)


def _all_output(output: EntrypointOutput) -> str:
    messages = output.get_message_iterator()
    return "\n".join(json.dumps(AirbyteMessageSerializer.dump(m)) for m in messages)


def _record_ids(output: EntrypointOutput) -> list[str]:
    return [message.record.data["id"] for message in output.records]


def test_read_emits_one_record_per_result(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "2"]),
        batch_response([partner_client("1", name="Zürich AG"), partner_client("2")]),
    )
    output = _read(config(["1", "2"]))
    assert _record_ids(output) == ["1", "2"]
    assert output.records[0].record.data["properties"]["name"] == "Zürich AG"
    assert _batch_errors(output) == []


def test_read_reports_207_errors_as_traces(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "404", "405"]),
        batch_response([partner_client("1")], errors=[not_found_error(["404", "405"])]),
    )
    output = _read(config(["1", "404", "405"]))
    assert _record_ids(output) == ["1"]
    errors = _batch_errors(output)
    assert len(errors) == 1
    error = errors[0].trace.error
    assert error.stream_descriptor.name == "partner_clients"
    assert "OBJECT_NOT_FOUND" in error.message
    assert "404, 405" in error.message
    assert json.loads(error.internal_message)["context"]["ids"] == ["404", "405"]
    assert output.errors == errors


def test_read_reports_ids_neither_returned_nor_listed(http_mocker: HttpMocker) -> None:
    http_mocker.post(batch_request(["1", "2", "3"]), batch_response([partner_client("2")]))
    output = _read(config(["1", "2", "3"]))
    errors = _batch_errors(output)
    assert len(errors) == 1
    assert "NOT_RETURNED" in errors[0].trace.error.message
    assert json.loads(errors[0].trace.error.internal_message)["ids"] == ["1", "3"]


def test_read_lists_first_20_ids_and_count(http_mocker: HttpMocker) -> None:
    ids = [str(i) for i in range(1, 31)]
    http_mocker.post(batch_request(ids), batch_response([], errors=[not_found_error(ids)]))
    output = _read(config(ids))
    message = _batch_errors(output)[0].trace.error.message
    assert "(first 20 of 30)" in message
    assert ", 20 " in message
    assert "21" not in message.split("IDs:")[1]


def test_read_404_naming_ids_is_reported(http_mocker: HttpMocker) -> None:
    body = {**not_found_error(["8", "9"]), "correlationId": "c0ffee00-0000-4000-8000-000000000000"}
    http_mocker.post(batch_request(["8", "9"]), json_response(body, 404))
    output = _read(config(["8", "9"]))
    assert output.records == []
    errors = _batch_errors(output)
    assert len(errors) == 1
    assert "8, 9" in errors[0].trace.error.message
    assert output.errors == errors


def test_read_404_without_ids_is_config_error(http_mocker: HttpMocker) -> None:
    body = {"status": "error", "message": "Resource not found", "category": "OBJECT_NOT_FOUND"}
    http_mocker.post(batch_request(["8"]), json_response(body, 404))
    output = _read(config(["8"]), expect_failure=True)
    error = _failure(output).trace.error
    assert error.failure_type == FailureType.config_error
    assert "api_base_url" in error.message


def test_read_401_is_config_error_without_token(http_mocker: HttpMocker) -> None:
    body = {
        "status": "error",
        "message": "Authentication credentials not found.",
        "category": "INVALID_AUTHENTICATION",
        "correlationId": "x",
    }
    http_mocker.post(batch_request(["1"]), json_response(body, 401))
    output = _read(config(["1"]), expect_failure=True)
    error = _failure(output).trace.error
    assert error.failure_type == FailureType.config_error
    assert "invalid, expired or revoked" in error.message
    assert ACCESS_TOKEN not in _all_output(output)


def test_read_403_names_missing_scope(http_mocker: HttpMocker) -> None:
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes.",
        "category": "MISSING_SCOPES",
        "correlationId": "x",
    }
    http_mocker.post(batch_request(["1"]), json_response(body, 403))
    output = _read(config(["1"]), expect_failure=True)
    error = _failure(output).trace.error
    assert error.failure_type == FailureType.config_error
    assert "crm.objects.partner-clients.read" in error.message


def test_read_non_json_body_names_status_and_excerpt(http_mocker: HttpMocker) -> None:
    http_mocker.post(batch_request(["1"]), HttpResponse("<html>gateway</html>", 200))
    output = _read(config(["1"]), expect_failure=True)
    error = _failure(output).trace.error
    assert "HTTP 200" in error.message
    assert "<html>gateway</html>" in error.message
    assert "batch 1 to 1" in error.message


def test_read_splits_ids_by_batch_size(http_mocker: HttpMocker) -> None:
    ids = [str(i) for i in range(1, 6)]
    http_mocker.post(batch_request(ids[:2]), batch_response([partner_client(i) for i in ids[:2]]))
    http_mocker.post(batch_request(ids[2:4]), batch_response([partner_client(i) for i in ids[2:4]]))
    http_mocker.post(batch_request(ids[4:]), batch_response([partner_client(ids[4])]))
    output = _read(config(ids, batch_size=2))
    assert sorted(_record_ids(output)) == ids


def test_read_sends_archived_and_id_property(http_mocker: HttpMocker) -> None:
    request = batch_request(
        ["PC-1"],
        archived=True,
        properties=["hs_createdate", "hs_lastmodifieddate", "hs_object_id", "code"],
        idProperty="code",
    )
    http_mocker.post(request, batch_response([partner_client("77", code="pc-1")]))
    output = _read(config(["PC-1"], archived=True, id_property="code"))
    assert _record_ids(output) == ["77"]
    assert _batch_errors(output) == []


def test_read_logs_summary_counts(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "2", "3"]),
        batch_response([partner_client("1")], errors=[not_found_error(["2"])]),
    )
    output = _read(config(["1", " 2", "", "3", "1"]))
    assert output.is_in_logs("Read 3 partner client IDs: 1 emitted as records, 2 reported")
    assert output.is_in_logs("Skipped 1 blank entries")


def _rate_limit_body(policy: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "x",
    }
    if policy:
        body["policyName"] = policy
    return body


def test_read_retries_503_then_emits_once(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "2"]),
        [
            HttpResponse("<html>unavailable</html>", 503),
            HttpResponse('{"results": [', 200),
            batch_response([partner_client("1"), partner_client("2")]),
        ],
    )
    output = _read(config(["1", "2"]))
    assert _record_ids(output) == ["1", "2"]
    assert output.errors == []


def test_read_waits_out_ten_secondly_429(http_mocker: HttpMocker) -> None:
    limited = json_response(_rate_limit_body("TEN_SECONDLY_ROLLING"), 429)
    http_mocker.post(
        batch_request(["1"]), [limited, limited, batch_response([partner_client("1")])]
    )
    output = _read(config(["1"]))
    assert _record_ids(output) == ["1"]
    assert output.is_in_logs("HubSpot rate limit reached")


def test_read_daily_429_fails_transient(http_mocker: HttpMocker) -> None:
    http_mocker.post(batch_request(["1"]), json_response(_rate_limit_body("DAILY"), 429))
    output = _read(config(["1"]), expect_failure=True)
    error = _failure(output).trace.error
    assert error.failure_type == FailureType.transient_error
    assert "daily API request limit" in error.message
    assert "midnight" in error.message


def test_read_429_budget_exhausted_fails(http_mocker: HttpMocker) -> None:
    limited = json_response(_rate_limit_body(None), 429)
    http_mocker.post(batch_request(["1"]), [limited] * 3)
    output = _read(config(["1"], max_rate_limit_wait_seconds=15), expect_failure=True)
    error = _failure(output).trace.error
    assert error.failure_type == FailureType.transient_error
    assert "max_rate_limit_wait_seconds (15 s)" in error.message
    assert "batch 1 to 1" in error.message


def test_read_halves_batch_rejected_for_size(http_mocker: HttpMocker) -> None:
    too_many = json_response(
        {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "correlationId": "x",
            "message": "Too many inputs: 4. The maximum is 2 inputs.",
        },
        400,
    )
    http_mocker.post(batch_request(["1", "2", "3", "4"]), too_many)
    http_mocker.post(
        batch_request(["1", "2"]), batch_response([partner_client("1"), partner_client("2")])
    )
    http_mocker.post(
        batch_request(["3", "4"]), batch_response([partner_client("3"), partner_client("4")])
    )
    output = _read(config(["1", "2", "3", "4"]))
    assert _record_ids(output) == ["1", "2", "3", "4"]
    assert output.is_in_logs("sending batches of at most 2 IDs")


def test_read_403_lists_scopes_from_body(http_mocker: HttpMocker) -> None:
    body = {
        "status": "error",
        "category": "MISSING_SCOPES",
        "correlationId": "x",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {
                    "requiredGranularScopes": [
                        "crm.objects.partner-clients.read",
                        "crm.schemas.custom.read",
                    ]
                },
            }
        ],
    }
    http_mocker.post(batch_request(["1"]), json_response(body, 403))
    output = _read(config(["1"]), expect_failure=True)
    message = _failure(output).trace.error.message
    assert "crm.objects.partner-clients.read, crm.schemas.custom.read" in message


def test_read_414_names_status_and_body(http_mocker: HttpMocker) -> None:
    http_mocker.post(batch_request(["1"]), HttpResponse("<html>URI Too Long</html>", 414))
    output = _read(config(["1"]), expect_failure=True)
    message = _failure(output).trace.error.message
    assert "HTTP 414" in message
    assert "URI Too Long" in message


def test_read_strict_mode_fails_after_records(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "2"]),
        batch_response([partner_client("1")], errors=[not_found_error(["2"])]),
    )
    output = _read(config(["1", "2"], fail_on_batch_errors=True), expect_failure=True)
    assert _record_ids(output) == ["1"]
    failure = _failure(output).trace.error
    assert failure.failure_type == FailureType.config_error
    assert "fail_on_batch_errors" in failure.message


def test_read_emits_estimate_first(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "2"]), batch_response([partner_client("1"), partner_client("2")])
    )
    output = _read(config(["1", "2", "1"]))
    estimates = [m for m in output.trace_messages if m.trace.type == TraceType.ESTIMATE]
    assert len(estimates) == 1
    assert estimates[0].trace.estimate.row_estimate == 2
    assert estimates[0].trace.estimate.name == "partner_clients"


def test_read_emits_repeated_result_once(http_mocker: HttpMocker) -> None:
    http_mocker.post(
        batch_request(["1", "2"]),
        batch_response([partner_client("1"), partner_client("1"), partner_client("2")]),
    )
    output = _read(config(["1", "2"]))
    assert _record_ids(output) == ["1", "2"]
    assert output.is_in_logs("each object is emitted once")
