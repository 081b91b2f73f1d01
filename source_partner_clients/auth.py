"""OAuth authenticator that refreshes HubSpot access tokens before they expire, once per sync."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.auth.oauth import DeclarativeOauth2Authenticator
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets
from airbyte_cdk.utils.datetime_helpers import AirbyteDateTime, ab_datetime_now
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.error_handling import (
    MAX_TRANSIENT_RETRIES,
    decode_json_object,
    describe_response,
    retry_after_seconds,
    transient_backoff_seconds,
)

LOGGER = logging.getLogger("airbyte")
MAX_REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_MARGIN_SHARE = 0.1
# Seconds to connect and to wait for the response, as for batch reads.
TOKEN_TIMEOUT_SECONDS = (30, 120)

# Access tokens by credentials, shared by every authenticator instance in the process: the
# manifest builds one authenticator per requester, and a sync should use a single token.
_TOKENS: dict[str, tuple[str, AirbyteDateTime, timedelta]] = {}
# Failed refreshes by credentials. Every later refresh in the process fails with the same error
# at once, instead of each worker repeating the failed requests and their waits.
_FAILED_REFRESHES: dict[str, AirbyteTracedException] = {}
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
            failed = _FAILED_REFRESHES.get(key)
            if failed:
                raise AirbyteTracedException(
                    message=failed.message,
                    internal_message=failed.internal_message,
                    failure_type=failed.failure_type,
                )
            try:
                token, expiry = super().refresh_access_token()
            except requests.HTTPError as error:
                rejected = _refresh_rejected(error)
                if isinstance(rejected, AirbyteTracedException):
                    _FAILED_REFRESHES[key] = rejected
                raise rejected from None
            except AirbyteTracedException as error:
                _FAILED_REFRESHES[key] = error
                raise
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

    def _make_handled_request(self) -> Any:
        """POST the refresh request and return its JSON body, retrying transient failures.

        Transient failures are 429s, 5xx responses, bodies that are not JSON and network errors.
        The CDK's version sends the request without a timeout and retries for up to 300 s, then
        fails with a system error. This one retries as batch reads do: at most 5 times, after
        1 s, 2 s, 4 s and so on or after Retry-After, then fails with a transient error. Any
        other 4xx raises HTTPError, which refresh_access_token turns into a config error.
        """
        # NOTE: _make_handled_request is private to airbyte-cdk 7.39, whose
        # refresh_access_token calls it.
        failure = "no request sent"
        retry_after: float | None = None
        for attempt in range(MAX_TRANSIENT_RETRIES + 1):
            if attempt:
                self._wait_before_retry(attempt, failure, retry_after)
                retry_after = None
            try:
                response = requests.post(
                    self.get_token_refresh_endpoint(),  # type: ignore[arg-type]
                    data=self.build_refresh_request_body(),
                    headers=self.build_refresh_request_headers(),
                    params=self.build_refresh_request_query_params(),
                    timeout=TOKEN_TIMEOUT_SECONDS,
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                failure = type(error).__name__
                continue
            if response.status_code == 429 or response.status_code >= 500:
                failure = describe_response(response)
                retry_after = retry_after_seconds(response)
                continue
            response.raise_for_status()
            body = decode_json_object(response)
            if body is None:
                failure = f"HTTP {response.status_code} with a body that is not a JSON object"
                continue
            self._register_token_secret(body)
            return body
        raise AirbyteTracedException(
            message=(
                f"HubSpot's OAuth token endpoint failed {MAX_TRANSIENT_RETRIES + 1} times in a "
                f"row ({failure}). Run the sync again later."
            ),
            internal_message=f"The token refresh failed after {MAX_TRANSIENT_RETRIES} retries.",
            failure_type=FailureType.transient_error,
        )

    @staticmethod
    def _wait_before_retry(attempt: int, failure: str, retry_after: float | None) -> None:
        wait = transient_backoff_seconds(attempt, retry_after)
        LOGGER.warning(
            "Retrying the OAuth token refresh in %.1f s (retry %d of %d) after %s.",
            wait,
            attempt,
            MAX_TRANSIENT_RETRIES,
            failure,
        )
        time.sleep(wait)

    def _register_token_secret(self, body: Mapping[str, Any]) -> None:
        token = body.get(self.get_access_token_name())
        if isinstance(token, str) and token:
            add_to_secrets(token)

    def set_token_expiry_date(self, value: AirbyteDateTime) -> None:
        super().set_token_expiry_date(value)
        self._margin = _refresh_margin(self.get_token_expiry_date())

    def token_has_expired(self) -> bool:
        return ab_datetime_now() + self._margin > self.get_token_expiry_date()
