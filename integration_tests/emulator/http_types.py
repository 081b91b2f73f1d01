"""Parsed HTTP request and response values that the endpoint functions take and return."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
SCOPES_LINK = "https://developers.hubspot.com/scopes"
HTML_CONTENT_TYPE = "text/html;charset=utf-8"

# Reason phrases for the status codes that http.HTTPStatus lacks: HubSpot's 477 and the 52x
# codes that Cloudflare, in front of HubSpot's API, sends for origin failures.
EXTRA_REASON_PHRASES = {
    477: "Migration In Progress",
    521: "Web Server Is Down",
    522: "Connection Timed Out",
    523: "Origin Is Unreachable",
    524: "A Timeout Occurred",
}


@dataclass(frozen=True)
class Request:
    """An HTTP request as the endpoint functions see it.

    `headers` has lower-case names, and `query` maps each parameter to all its values in
    order, as `urllib.parse.parse_qs` returns them.
    """

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = "http://127.0.0.1"

    def query_value(self, name: str) -> str | None:
        """Return the last value of a query parameter, or None when it is absent."""
        values = self.query.get(name)
        return values[-1] if values else None

    def query_list(self, name: str) -> list[str]:
        """Return every comma-separated item of a repeatable query parameter."""
        items: list[str] = []
        for value in self.query.get(name, []):
            items.extend(item.strip() for item in value.split(",") if item.strip())
        return items


@dataclass
class Response:
    """An HTTP response whose body is serialized as JSON.

    `raw_body`, when set, is sent as is instead of `body`, so a response can carry HTML or
    invalid JSON. `drop` makes the server close the connection without sending anything.
    """

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    drop: bool = False

    def encode_body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def error_body(
    message: str,
    category: str,
    *,
    context: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Build HubSpot's `Error` body: status "error", message, correlationId (a UUID), category."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if context is not None:
        body["context"] = context
    if errors is not None:
        body["errors"] = errors
    if links is not None:
        body["links"] = links
    return body


def error_response(status: int, message: str, category: str, **details: Any) -> Response:
    return Response(status, error_body(message, category, **details))


def invalid_authentication_response() -> Response:
    """Build HubSpot's 401 INVALID_AUTHENTICATION for a missing, unknown or revoked token."""
    return error_response(
        401,
        "Authentication credentials not found. Send a private app access token or an "
        "OAuth access token in the Authorization header as 'Bearer <token>'.",
        "INVALID_AUTHENTICATION",
    )


def expired_authentication_response(expired_seconds: float) -> Response:
    """Build HubSpot's 401 EXPIRED_AUTHENTICATION for an OAuth access token past its expiry."""
    return error_response(
        401,
        f"The OAuth token used to make this call expired {int(expired_seconds)} "
        "second(s) ago. Request a new access token with the refresh token.",
        "EXPIRED_AUTHENTICATION",
    )


def missing_scopes_response(scopes: Sequence[str]) -> Response:
    """Build HubSpot's 403 MISSING_SCOPES, naming `scopes` in requiredGranularScopes."""
    return error_response(
        403,
        "This app hasn't been granted all required scopes to make this call. Grant the "
        "scope listed in errors[0].context.requiredGranularScopes and reinstall the app.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": list(scopes)},
            }
        ],
        links={"scopes": SCOPES_LINK},
    )


def too_many_inputs_message(count: int, maximum: int) -> str:
    """Return the message of the 400 VALIDATION_ERROR for a batch over its maximum size."""
    return (
        f"Too many inputs: the request contains {count} inputs, "
        f"but the maximum is {maximum} inputs per batch read."
    )


def validation_error(message: str) -> Response:
    """Build HubSpot's 400 response to an invalid request, with category VALIDATION_ERROR."""
    return error_response(400, message, "VALIDATION_ERROR")


class RequestError(Exception):
    """An invalid request. Endpoint helpers raise it, and the dispatcher sends `response`."""

    def __init__(self, response: Response) -> None:
        super().__init__(
            response.body.get("message", "") if isinstance(response.body, dict) else ""
        )
        self.response = response


def reject(message: str) -> RequestError:
    """Build a RequestError that sends HubSpot's 400 VALIDATION_ERROR with `message`."""
    return RequestError(validation_error(message))
