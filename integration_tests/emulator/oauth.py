"""OAuth v1 token endpoint: exchanges the emulator's refresh token for an access token."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs

from .data import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_REFRESH_TOKEN
from .http_types import Request, Response
from .state import EmulatorState


def read_form(request: Request) -> dict[str, str]:
    """Merge the query string and the form-encoded body. A body field wins over the query.

    HubSpot's document lists client_secret and refresh_token as query parameters as well as
    form fields, so both places are read.
    """
    fields = {name: values[-1] for name, values in request.query.items() if values}
    body = request.body.decode("utf-8", errors="replace")
    for name, values in parse_qs(body, keep_blank_values=True).items():
        fields[name] = values[-1]
    return fields


def _token_error(code: str, message: str) -> Response:
    """Build HubSpot's 400 OAuth error, e.g. status BAD_REFRESH_TOKEN.

    HubSpot sends the code in `status`. The published `Error` schema also requires
    `category`, so the same code is sent there.
    """
    body = {
        "status": code,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": code,
    }
    return Response(400, body)


def _check_form(fields: dict[str, str]) -> Response | None:
    """Return the 400 Response for the first invalid field, or None when all are valid.

    BAD_GRANT_TYPE is the emulator's own status name, because HubSpot documents none.
    """
    if fields.get("grant_type") != "refresh_token":
        return _token_error(
            "BAD_GRANT_TYPE",
            f"Unsupported grant_type {fields.get('grant_type')!r}: use refresh_token.",
        )
    if fields.get("client_id") != OAUTH_CLIENT_ID:
        return _token_error("BAD_CLIENT_ID", "The client_id is missing or unknown.")
    if fields.get("client_secret") != OAUTH_CLIENT_SECRET:
        return _token_error(
            "BAD_CLIENT_SECRET", "The client_secret is missing or does not match the client_id."
        )
    if fields.get("refresh_token") != OAUTH_REFRESH_TOKEN:
        return _token_error("BAD_REFRESH_TOKEN", "The refresh_token is missing or unknown.")
    return None


def create_token(state: EmulatorState, request: Request, now: float) -> Response:
    """Serve POST /oauth/v1/token for grant_type=refresh_token.

    The response matches the `AccessTokenResponse` branch of the published `TokenResponseIF`,
    which requires token_use "access_token". The refresh token does not rotate.
    """
    fields = read_form(request)
    error = _check_form(fields)
    if error is not None:
        return error
    access_token, lifetime = state.issue_access_token(now)
    body = {
        "token_type": "bearer",
        "refresh_token": OAUTH_REFRESH_TOKEN,
        "access_token": access_token,
        "expires_in": lifetime,
        "token_use": "access_token",
    }
    return Response(200, body)
