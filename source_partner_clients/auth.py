"""OAuth authenticator that refreshes HubSpot access tokens before they expire, once per sync."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import timedelta

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.auth.oauth import DeclarativeOauth2Authenticator
from airbyte_cdk.utils.datetime_helpers import AirbyteDateTime, ab_datetime_now
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

MAX_REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_MARGIN_SHARE = 0.1

# Access tokens by credentials, shared by every authenticator instance in the process: the
# manifest builds one authenticator per requester, and a sync should use a single token.
_TOKENS: dict[str, tuple[str, AirbyteDateTime, timedelta]] = {}
_TOKENS_LOCK = threading.Lock()


def _refresh_rejected(error: requests.HTTPError) -> Exception:
    """Turn the token endpoint's 4xx into a config error that names the settings to fix."""
    response = error.response
    if response is None or not 400 <= response.status_code < 500 or response.status_code == 429:
        return error
    try:
        body = response.json()
    except ValueError:
        body = {}
    reason = (
        body.get("status") or body.get("category") or "rejected" if isinstance(body, dict) else ""
    )
    detail = body.get("message", "") if isinstance(body, dict) else ""
    message = (
        f"HubSpot rejected the OAuth refresh (HTTP {response.status_code} {reason}: {detail}). "
        "Check client_id, client_secret and refresh_token, or reconnect the OAuth app."
    )
    return AirbyteTracedException(
        message=message, internal_message=message, failure_type=FailureType.config_error
    )


def _refresh_margin(expiry: AirbyteDateTime) -> timedelta:
    lifetime = expiry - ab_datetime_now()
    return max(timedelta(0), min(MAX_REFRESH_MARGIN, lifetime * REFRESH_MARGIN_SHARE))


@dataclass
class PartnerClientOAuthAuthenticator(DeclarativeOauth2Authenticator):
    """DeclarativeOauth2Authenticator that shares one token and refreshes it ahead of expiry.

    HubSpot access tokens last 30 minutes. A token counts as expired when 10% of its lifetime
    (at most 5 minutes) is left, so requests already on their way do not arrive with a token
    that has just expired. Every instance with the same credentials uses the same token, and
    only one of them refreshes it at a time.
    """

    _margin = timedelta(0)

    def _credentials_key(self) -> str:
        parts = (self.get_token_refresh_endpoint(), self.get_client_id(), self.get_refresh_token())
        return hashlib.sha256("\n".join(str(part) for part in parts).encode()).hexdigest()

    def refresh_access_token(self) -> tuple[str, AirbyteDateTime]:  # type: ignore[override]
        key = self._credentials_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and ab_datetime_now() + cached[2] < cached[1]:
                return cached[0], cached[1]
            try:
                token, expiry = super().refresh_access_token()
            except requests.HTTPError as error:
                raise _refresh_rejected(error) from None
            _TOKENS[key] = (token, expiry, _refresh_margin(expiry))
            return token, expiry

    def refresh_and_set_access_token(self) -> None:
        """Refresh because HubSpot rejected the current token: never reuse it from the cache."""
        key = self._credentials_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and cached[0] == self._current_access_token_or_none():
                del _TOKENS[key]
        super().refresh_and_set_access_token()

    def set_token_expiry_date(self, value: AirbyteDateTime) -> None:
        super().set_token_expiry_date(value)
        self._margin = _refresh_margin(self.get_token_expiry_date())

    def token_has_expired(self) -> bool:
        return ab_datetime_now() + self._margin > self.get_token_expiry_date()
