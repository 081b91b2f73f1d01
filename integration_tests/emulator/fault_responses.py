"""What each fault kind of the fault plan sends in place of the endpoint's response.

`fault_response` builds the response for a FaultHit. Kinds that need the endpoint's own
response (`truncate`) or a delay (`hang`) get them through the `serve` and `wait` callables,
so this module needs no emulator state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from .crm import NOT_FOUND_MESSAGE
from .faults import FaultHit
from .http_types import (
    EXTRA_REASON_PHRASES,
    HTML_CONTENT_TYPE,
    Response,
    error_response,
    expired_authentication_response,
    invalid_authentication_response,
    missing_scopes_response,
    too_many_inputs_message,
    validation_error,
)

# NOTE: HubSpot documents no body for these statuses, so the categories are the emulator's.
STATUS_CATEGORIES = {423: "LOCKED", 477: "MIGRATION_IN_PROGRESS"}
# NOTE: the account number in groupName is made up. Its form follows 429 bodies that HubSpot
# sent to API clients, such as "publicapi:hapikey-api-calls-ten-secondly:6748263".
EMULATED_ACCOUNT_ID = 20240611
FOOTER_MARKER = "end-of-emulated-error-page"
UNAVAILABLE_PAGE_TITLE = "HubSpot is temporarily unavailable"


def reason_phrase(status: int) -> str:
    """Return the reason phrase of an HTTP status, including HubSpot's and Cloudflare's own."""
    if status in EXTRA_REASON_PHRASES:
        return EXTRA_REASON_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def html_page(title: str) -> str:
    """Return a one-line HTML page like those a proxy in front of an API sends.

    The page is longer than 300 characters and FOOTER_MARKER comes after the first 300, so a
    test can check that an error message quotes only the page's first 200 characters.
    """
    filler = "This page was sent by the HubSpot emulator for a fault rule. " * 3
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>{filler.strip()}</p>"
        f"<footer>{FOOTER_MARKER}</footer></body></html>"
    )


def html_error_page(status: int) -> str:
    """Return the HTML page that a fault sends for `status`, titled with its reason phrase."""
    return html_page(f"{status} {reason_phrase(status)}")


def dropped_connection() -> Response:
    """Return a Response that makes the server close the connection without a response."""
    return Response(0, None, drop=True)


def describe_fault(hit: FaultHit, response: Response) -> dict[str, Any]:
    """Return the request log's `fault` value: rule position, kind and the status sent."""
    status = None if response.drop else response.status
    return {"rule": hit.position, "kind": hit.rule.kind, "status": status}


def fault_response(
    hit: FaultHit,
    serve: Callable[[], Response],
    limit_headers: Mapping[str, str],
    wait: Callable[[float], None],
) -> Response:
    """Build the response of the rule in `hit`.

    serve: returns the endpoint's normal response, which `truncate` cuts.
    limit_headers: the X-HubSpot-RateLimit-* headers of the request, for `rate_limit`.
    wait: sleeps for a `hang` fault.
    """
    kind = hit.rule.kind
    if kind == "truncate":
        return _truncated(serve())
    if kind == "hang":
        wait(hit.rule.seconds)
        return dropped_connection()
    if kind == "drop":
        return dropped_connection()
    if kind == "rate_limit":
        return _rate_limited(hit, limit_headers)
    return _BUILDERS[kind](hit)


def _with_retry_after(response: Response, hit: FaultHit) -> Response:
    if hit.rule.retry_after is not None:
        response.headers["Retry-After"] = str(hit.rule.retry_after)
    return response


def _html_response(status: int, page: str) -> Response:
    return Response(
        status, None, {"Content-Type": HTML_CONTENT_TYPE}, raw_body=page.encode("utf-8")
    )


def _status(hit: FaultHit) -> Response:
    statuses = hit.rule.status
    status = statuses[int(hit.draw * len(statuses))]
    if hit.rule.body_format(status) == "html":
        return _with_retry_after(_html_response(status, html_error_page(status)), hit)
    default_category = "INTERNAL_ERROR" if status >= 500 else "ERROR"
    response = error_response(
        status,
        f"HTTP {status} {reason_phrase(status)}: the HubSpot emulator failed this request "
        f"for fault rule {hit.position}.",
        STATUS_CATEGORIES.get(status, default_category),
    )
    return _with_retry_after(response, hit)


def _rate_limited(hit: FaultHit, limit_headers: Mapping[str, str]) -> Response:
    """Build HubSpot's 429 body, which has errorType and policyName but no category."""
    daily = hit.rule.policy == "DAILY"
    body: dict[str, Any] = {
        "status": "error",
        "message": f"You have reached your {'daily' if daily else 'ten_secondly_rolling'} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
    }
    if hit.rule.policy is not None:
        body["policyName"] = hit.rule.policy
    group = "daily" if daily else "ten-secondly"
    body["groupName"] = f"publicapi:private-app-api-calls-{group}:{EMULATED_ACCOUNT_ID}"
    headers = dict(limit_headers)
    if daily:
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
    else:
        headers["X-HubSpot-RateLimit-Remaining"] = "0"
    return _with_retry_after(Response(429, body, headers), hit)


def _truncated(response: Response) -> Response:
    """Keep the status and headers, and cut the body to the first half of its bytes."""
    payload = response.encode_body()
    return Response(
        response.status, None, dict(response.headers), raw_body=payload[: len(payload) // 2]
    )


def _not_json(hit: FaultHit) -> Response:
    return _html_response(200, html_page(UNAVAILABLE_PAGE_TITLE))


def _too_many_inputs(hit: FaultHit) -> Response:
    return validation_error(too_many_inputs_message(len(hit.ids), hit.rule.max_inputs))


def _not_found(hit: FaultHit) -> Response:
    if hit.rule.with_ids:
        return error_response(
            404, NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND", context={"ids": list(hit.ids)}
        )
    return error_response(404, "Resource not found.", "OBJECT_NOT_FOUND")


def _uri_too_long(hit: FaultHit) -> Response:
    return _html_response(414, html_error_page(414))


def _unauthorized(hit: FaultHit) -> Response:
    if hit.rule.category == "EXPIRED_AUTHENTICATION":
        return expired_authentication_response(0)
    return invalid_authentication_response()


def _forbidden(hit: FaultHit) -> Response:
    scopes = list(hit.rule.scopes)
    if hit.rule.scope_field == "requiredGranularScopes":
        return missing_scopes_response(scopes)
    return error_response(
        403,
        f"This access token does not have proper permissions! (requires any of {scopes})",
        "MISSING_SCOPES",
        context={"missingScopes": scopes},
    )


_BUILDERS: dict[str, Callable[[FaultHit], Response]] = {
    "status": _status,
    "not_json": _not_json,
    "too_many_inputs": _too_many_inputs,
    "not_found_404": _not_found,
    "uri_too_long": _uri_too_long,
    "unauthorized": _unauthorized,
    "forbidden": _forbidden,
}
