"""Parsed HTTP request and response values that the endpoint functions take and return."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_CONTENT_TYPE = "application/json;charset=utf-8"


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
    """An HTTP response whose body is serialized as JSON."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode_body(self) -> bytes:
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
