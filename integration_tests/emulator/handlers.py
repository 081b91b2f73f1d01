"""Request routing: authentication, scopes, rate limits, latency, logging and admin endpoints.

`handle_request` turns a parsed Request into a Response without any HTTP machinery, so the
server and tests share one code path.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from . import crm, oauth
from .data import READ_SCOPE
from .fault_responses import describe_fault, fault_response
from .faults import FaultHit, batch_key
from .http_types import (
    JSON_CONTENT_TYPE,
    Request,
    RequestError,
    Response,
    error_response,
    expired_authentication_response,
    invalid_authentication_response,
    missing_scopes_response,
    validation_error,
)
from .state import Credential, EmulatorState

OBJECTS_PATH = "/crm/v3/objects/partner_clients"
BATCH_READ_PATH = f"{OBJECTS_PATH}/batch/read"
PROPERTIES_PATH = "/crm/v3/properties/partner_clients"
TOKEN_PATH = "/oauth/v1/token"
ADMIN_PREFIX = "/_emulator/"
MASKED_FIELDS = frozenset(
    {"client_secret", "refresh_token", "code", "code_verifier", "access_token", "hapikey"}
)
MASK = "***"

logger = logging.getLogger(__name__)

Endpoint = Callable[[EmulatorState, Request], Response]
CRM_ROUTES: dict[tuple[str, str], Endpoint] = {
    ("POST", BATCH_READ_PATH): crm.batch_read,
    ("GET", OBJECTS_PATH): crm.list_objects,
    ("GET", PROPERTIES_PATH): crm.list_properties,
}


def handle_request(state: EmulatorState, request: Request) -> Response:
    """Route a request and, unless it is an admin request, add it to the request log.

    The entry is logged on arrival, so the log is in arrival order, and its status is None
    until the response is ready. It stays None when a fault closes the connection without
    a response.
    """
    if request.path.startswith(ADMIN_PREFIX):
        return _run_safely(request, lambda: _handle_admin(state, request))
    now = time.monotonic()
    credential = state.identify(request.headers.get("authorization"), now)
    entry = _log_entry(request, credential)
    state.append_log(entry)
    response = _run_safely(request, lambda: _route(state, request, credential, now, entry))
    state.set_log_status(entry, None if response.drop else response.status)
    return response


def _run_safely(request: Request, handler: Callable[[], Response]) -> Response:
    """Call `handler`. On an unexpected exception, log the traceback and return a 500."""
    try:
        response = handler()
    except Exception:
        logger.exception("Emulator failed on %s %s", request.method, request.path)
        message = "The emulator failed on this request. Its stderr log has the traceback."
        response = error_response(500, message, "INTERNAL_ERROR")
    return _with_json_type(response)


def _route(
    state: EmulatorState,
    request: Request,
    credential: Credential,
    now: float,
    entry: dict[str, Any],
) -> Response:
    if request.path.startswith("/crm/"):
        return _handle_crm(state, request, credential, entry)
    if (request.method, request.path) == ("POST", TOKEN_PATH):
        return _create_token_or_fault(state, request, now, entry)
    return _not_implemented(request)


def _create_token_or_fault(
    state: EmulatorState, request: Request, now: float, entry: dict[str, Any]
) -> Response:
    def serve() -> Response:
        return oauth.create_token(state, request, now)

    hit = state.next_token_fault()
    if hit is None:
        return serve()
    return _apply_fault(state, hit, entry, serve, state.peek_rate_limit(now))


def _apply_fault(
    state: EmulatorState,
    hit: FaultHit,
    entry: dict[str, Any],
    serve: Callable[[], Response],
    limit_headers: dict[str, str],
) -> Response:
    """Build the response of the fault in `hit` and record the fault in the log entry."""
    response = fault_response(hit, serve, limit_headers, state.wait_unless_released)
    state.set_log_fault(entry, describe_fault(hit, response))
    return response


def _with_json_type(response: Response) -> Response:
    response.headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
    return response


def _not_implemented(request: Request) -> Response:
    return error_response(
        404,
        f"The emulator does not implement {request.method} {request.path}. It serves POST "
        f"{BATCH_READ_PATH}, GET {OBJECTS_PATH}, GET {PROPERTIES_PATH} and POST {TOKEN_PATH}.",
        "OBJECT_NOT_FOUND",
    )


def _handle_crm(
    state: EmulatorState, request: Request, credential: Credential, entry: dict[str, Any]
) -> Response:
    """Apply latency, authentication, scope and rate-limit checks, then the CRM endpoint.

    Requests rejected with 401 are not counted against the rate limits. The fault plan
    applies to batch reads that pass these checks, and those count against the rate limits.
    """
    latency_ms = state.settings.latency_ms
    if latency_ms > 0:
        time.sleep(latency_ms / 1000)
    now = time.monotonic()
    auth_error = _check_credential(credential)
    if auth_error is not None and auth_error.status == 401:
        auth_error.headers.update(state.peek_rate_limit(now))
        return auth_error
    decision = state.consume_rate_limit(now)
    if auth_error is not None:
        response = auth_error
    elif not decision.allowed:
        response = _rate_limited(decision.policy_name or "")
    else:
        response = _run_endpoint_or_fault(state, request, entry, decision.headers)
    for name, value in decision.headers.items():
        response.headers.setdefault(name, value)
    return response


def _run_endpoint_or_fault(
    state: EmulatorState, request: Request, entry: dict[str, Any], limit_headers: dict[str, str]
) -> Response:
    def serve() -> Response:
        return _run_endpoint(state, request)

    is_batch_read = (request.method, request.path) == ("POST", BATCH_READ_PATH)
    key = batch_key(request) if is_batch_read else None
    hit = state.next_batch_fault(key) if key is not None else None
    if hit is None:
        return serve()
    return _apply_fault(state, hit, entry, serve, limit_headers)


def _run_endpoint(state: EmulatorState, request: Request) -> Response:
    endpoint = CRM_ROUTES.get((request.method, request.path))
    if endpoint is None:
        return _not_implemented(request)
    try:
        return endpoint(state, request)
    except RequestError as error:
        return error.response


def _check_credential(credential: Credential) -> Response | None:
    """Return HubSpot's 401 or 403 Response for a credential that may not read, else None."""
    if credential.kind in ("none", "invalid"):
        return invalid_authentication_response()
    if credential.expired_seconds is not None:
        return expired_authentication_response(credential.expired_seconds)
    if READ_SCOPE not in credential.scopes:
        return missing_scopes_response([READ_SCOPE])
    return None


def _rate_limited(policy_name: str) -> Response:
    """Build HubSpot's 429 body, plus `category`, which the published `Error` schema requires."""
    limit_name = "daily" if policy_name == "DAILY" else "ten_secondly_rolling"
    response = error_response(429, f"You have reached your {limit_name} limit.", "RATE_LIMITS")
    response.body["errorType"] = "RATE_LIMIT"
    response.body["policyName"] = policy_name
    return response


def _handle_admin(state: EmulatorState, request: Request) -> Response:
    """Serve the /_emulator/ endpoints: reset, requests and ids. They are not logged."""
    route = (request.method, request.path)
    if route == ("POST", f"{ADMIN_PREFIX}reset"):
        return _admin_reset(state, request)
    if route == ("GET", f"{ADMIN_PREFIX}requests"):
        return Response(200, {"requests": state.log_snapshot()})
    if route == ("GET", f"{ADMIN_PREFIX}ids"):
        try:
            archived = crm.parse_archived(request)
        except RequestError as error:
            return error.response
        return Response(
            200, {"ids": [client["id"] for client in state.clients_by_archived[archived]]}
        )
    return _not_implemented(request)


def _admin_reset(state: EmulatorState, request: Request) -> Response:
    """Reset to defaults plus the settings in the JSON body ({} or empty for all defaults)."""
    try:
        overrides = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return validation_error(f"Invalid reset body: not valid JSON ({error}).")
    if not isinstance(overrides, dict):
        return validation_error("Invalid reset body: expected a JSON object of settings.")
    try:
        settings = state.reset(overrides)
    except (TypeError, ValueError) as error:
        return validation_error(f"Invalid settings: {error}")
    return Response(200, {"settings": settings.as_json()})


def _log_entry(request: Request, credential: Credential) -> dict[str, Any]:
    """Build a log entry. Secrets are masked, and the credential appears only as its kind.

    token_number is the issue order of an OAuth access token, so tests can tell tokens apart
    without the log holding them. fault is set by `_apply_fault`.
    """
    return {
        "time": time.time(),
        "method": request.method,
        "path": request.path,
        "query": {name: _mask_values(name, values) for name, values in request.query.items()},
        "body": _loggable_body(request),
        "status": None,
        "credential": credential.kind,
        "token_number": credential.token_number,
        "fault": None,
    }


def _mask_values(name: str, values: list[str]) -> list[str]:
    return [MASK for _ in values] if name in MASKED_FIELDS else list(values)


def _loggable_body(request: Request) -> Any:
    """Return the JSON or form body with secret fields masked, or None when the body is empty.

    A body that is neither valid JSON nor form-encoded is logged as {"unparsed": <byte count>}
    so that no unmasked secret can reach the log.
    """
    if not request.body:
        return None
    text = request.body.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        form = parse_qs(text, keep_blank_values=True)
        return {name: _mask_values(name, values) for name, values in form.items()}
    try:
        return _mask_json(json.loads(text))
    except json.JSONDecodeError:
        return {"unparsed": len(request.body)}


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if key in MASKED_FIELDS else _mask_json(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(item) for item in value]
    return value
