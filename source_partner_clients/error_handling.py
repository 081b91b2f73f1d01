"""Error handling for HubSpot responses: retry, wait, refresh the token, split the batch, or fail.

The manifest's response filters handle what they can express (private app 401, 400, 404, the
DAILY 429 and the retryable 5xx codes). These components handle the rest. An OAuth 401 needs the
credentials type from the config, which a filter's predicate cannot see. A 403 message names the
scopes found in the body. A 2xx body that is not JSON is retried. The wait before each retry
follows HubSpot's rate-limit headers, within a per-batch budget rather than a small retry count.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.requesters.error_handlers import DefaultErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers import (
    BackoffStrategy,
    ErrorResolution,
    ResponseAction,
)
from airbyte_cdk.sources.streams.http.error_handlers.response_models import SUCCESS_RESOLUTION
from airbyte_cdk.sources.types import Config
from airbyte_cdk.utils.datetime_helpers import ab_datetime_now
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

LOGGER = logging.getLogger("airbyte")
OAUTH_CREDENTIALS_TITLE = "OAuth Credentials"
DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS = 600
MAX_TRANSIENT_RETRIES = 5
BASE_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
DEFAULT_RATE_LIMIT_INTERVAL_SECONDS = 10.0
BODY_EXCERPT_CHARS = 200
# Requests whose retry state is kept; the oldest is dropped first. Each worker has one request
# in flight, so this is far more than a sync ever needs at once.
MAX_TRACKED_REQUESTS = 1024
READ_SCOPE = "crm.objects.partner-clients.read"
# Client errors that a retry cannot fix because HubSpot rejects the size of the URI or body.
TOO_LARGE_STATUSES = {413, 414, 431}
# Client errors with their own handling here or in the manifest; any other fails at once.
HANDLED_CLIENT_ERRORS = {400, 401, 403, 404, 408, 423, 429, 477}
# Attribute under which the error handler leaves the decoded JSON of a 2xx response, so that
# the retriever does not parse the body a second time.
DECODED_BODY_ATTRIBUTE = "partner_clients_decoded_body"


def body_excerpt(response: requests.Response) -> str:
    """Return the first characters of a response body, for error messages."""
    try:
        text = response.text
    except (UnicodeDecodeError, RuntimeError):
        text = repr(response.content[:BODY_EXCERPT_CHARS])
    return text[:BODY_EXCERPT_CHARS]


def decode_json_object(response: requests.Response) -> Mapping[str, Any] | None:
    """Return the body as a JSON object, or None when it is not one (truncated, HTML, empty)."""
    cached = getattr(response, DECODED_BODY_ATTRIBUTE, None)
    if cached is not None:
        return cached
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, Mapping) else None


def credentials_title(config: Config) -> str | None:
    credentials = config.get("credentials")
    return credentials.get("credentials_title") if isinstance(credentials, Mapping) else None


def _missing_scopes(body: Mapping[str, Any] | None) -> list[str]:
    """Collect the scope names a 403 body lists, wherever HubSpot puts them."""
    if not body:
        return []
    contexts = [body.get("context")]
    contexts += [
        error.get("context") for error in body.get("errors") or [] if isinstance(error, Mapping)
    ]
    scopes: list[str] = []
    for context in contexts:
        if not isinstance(context, Mapping):
            continue
        for key in ("requiredGranularScopes", "missingScopes", "requiredScopes"):
            scopes += [str(scope) for scope in context.get(key) or [] if str(scope) not in scopes]
    return scopes


def _is_too_many_inputs(body: Mapping[str, Any] | None) -> bool:
    """Tell whether a 400 rejects the batch for its number of inputs."""
    if not body or body.get("category") != "VALIDATION_ERROR":
        return False
    message = str(body.get("message", "")).lower()
    return "input" in message and any(
        word in message for word in ("limit", "maximum", "more than", "too many")
    )


@dataclass
class PartnerClientErrorHandler(DefaultErrorHandler):
    """DefaultErrorHandler with the HubSpot cases its response filters cannot express."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        # HubSpotBackoffStrategy ends the retries (an attempt cap for errors, a wait budget for
        # 429s), so the HttpClient's own counters are set out of its way.
        budget = int(
            self.config.get("max_rate_limit_wait_seconds", DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS)
        )
        self.max_retries = 100_000
        self.max_time = budget + 30 * MAX_TRANSIENT_RETRIES * int(MAX_BACKOFF_SECONDS)

    def interpret_response(
        self, response_or_exception: requests.Response | Exception | None = None
    ) -> ErrorResolution:
        if isinstance(response_or_exception, requests.Response):
            resolution = self._interpret_hubspot_response(response_or_exception)
            if resolution is not None:
                return resolution
        if isinstance(response_or_exception, requests.exceptions.SSLError):
            # A failed TLS handshake repeats on every retry: the URL or a proxy is wrong.
            return ErrorResolution(
                response_action=ResponseAction.FAIL,
                failure_type=FailureType.config_error,
                error_message=(
                    "The TLS connection to HubSpot failed "
                    f"({str(response_or_exception)[:BODY_EXCERPT_CHARS]}). Check api_base_url "
                    "(default https://api.hubapi.com) and any proxy between this machine and it."
                ),
            )
        resolution = super().interpret_response(response_or_exception)
        if (
            isinstance(response_or_exception, requests.Response)
            and resolution.response_action == ResponseAction.FAIL
            and not resolution.error_message
        ):
            return _failure(response_or_exception, resolution.failure_type)
        return resolution

    def _interpret_hubspot_response(self, response: requests.Response) -> ErrorResolution | None:
        status = response.status_code
        if 200 <= status < 300:
            return self._interpret_success(response)
        body = decode_json_object(response)
        if status == 401 and credentials_title(self.config) == OAUTH_CREDENTIALS_TITLE:
            LOGGER.info("HubSpot returned 401 to the OAuth access token; refreshing it once.")
            return ErrorResolution(
                response_action=ResponseAction.REFRESH_TOKEN_THEN_RETRY,
                failure_type=FailureType.config_error,
                error_message=(
                    "HubSpot rejected the OAuth access token (HTTP 401) even after a refresh. "
                    "Reconnect the OAuth app and update the source's credentials."
                ),
            )
        if status == 403:
            return _forbidden(body)
        if status in TOO_LARGE_STATUSES:
            return ErrorResolution(
                response_action=ResponseAction.FAIL,
                failure_type=FailureType.config_error,
                error_message=(
                    f"HubSpot rejected the request as too large ({describe_response(response)}). "
                    "Configure fewer properties or properties_with_history, or a smaller "
                    "batch_size."
                ),
            )
        if 400 <= status < 500 and status not in HANDLED_CLIENT_ERRORS:
            return _failure(response, FailureType.system_error)
        if status == 400 and _is_too_many_inputs(body):
            return ErrorResolution(
                response_action=ResponseAction.REDUCE_PAGE_SIZE,
                failure_type=FailureType.system_error,
                error_message=f"HubSpot rejected the batch size: {(body or {}).get('message')}",
            )
        return None

    def _interpret_success(self, response: requests.Response) -> ErrorResolution | None:
        body = decode_json_object(response)
        if body is None:
            LOGGER.warning(
                "HubSpot returned HTTP %d with a body that is not a JSON object; retrying. "
                "Body starts with: %r",
                response.status_code,
                body_excerpt(response),
            )
            return ErrorResolution(
                response_action=ResponseAction.RETRY,
                failure_type=FailureType.transient_error,
                error_message=(
                    f"HubSpot returned HTTP {response.status_code} with a body that is not a "
                    f"JSON object: {body_excerpt(response)!r}"
                ),
            )
        setattr(response, DECODED_BODY_ATTRIBUTE, body)
        # The manifest's filters only match error statuses and error bodies, so a valid 2xx
        # body skips them (each would cost an interpolation per response).
        return SUCCESS_RESOLUTION


def _forbidden(body: Mapping[str, Any] | None) -> ErrorResolution:
    scopes = _missing_scopes(body) or [READ_SCOPE]
    category = (body or {}).get("category", "FORBIDDEN")
    return ErrorResolution(
        response_action=ResponseAction.FAIL,
        failure_type=FailureType.config_error,
        error_message=(
            f"HubSpot denied access (HTTP 403 {category}) while reading partner_clients: the "
            f"token lacks the scopes {', '.join(scopes)}. Grant them to the private app or OAuth "
            "app, then update the source's credentials."
        ),
    )


def describe_response(response: requests.Response) -> str:
    """Describe a response by its status and its body: HubSpot's category and message, or the
    first characters of a body that is not JSON."""
    body = decode_json_object(response)
    if body is not None and body.get("message"):
        detail = f"{body.get('category', 'error')}: {body['message']}"
    else:
        detail = f"body starts with {body_excerpt(response)!r}"
    return f"HTTP {response.status_code}, {detail}"


def _failure(response: requests.Response, failure_type: FailureType | None) -> ErrorResolution:
    return ErrorResolution(
        response_action=ResponseAction.FAIL,
        failure_type=failure_type or FailureType.system_error,
        error_message=(
            f"HubSpot returned {describe_response(response)} while reading partner_clients."
        ),
    )


@dataclass
class _RetryState:
    transient_attempts: int = 0
    rate_limit_wait_seconds: float = 0.0


@dataclass
class HubSpotBackoffStrategy(BackoffStrategy):
    """Compute the wait before a retry from HubSpot's headers, within a per-batch budget.

    A 429 waits for `Retry-After`, or else for the rolling window in
    `X-HubSpot-RateLimit-Interval-Milliseconds` (HubSpot's limits are per 10 seconds), plus up to
    one second of jitter so that workers do not retry together. 429s are retried until the waits
    for one request add up to `max_rate_limit_wait_seconds`. Other retryable failures (5xx,
    connection resets, read timeouts, bodies that are not JSON) back off exponentially with
    jitter, honouring `Retry-After`, at most MAX_TRANSIENT_RETRIES times.
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    _states: OrderedDict[tuple[Any, ...], _RetryState] = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._states = OrderedDict()
        self._lock = threading.Lock()
        self._budget = float(
            self.config.get("max_rate_limit_wait_seconds", DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS)
        )

    def backoff_time(
        self,
        response_or_exception: requests.Response | requests.RequestException | None,
        attempt_count: int,
    ) -> float | None:
        state = self._state_for(response_or_exception)
        if (
            isinstance(response_or_exception, requests.Response)
            and response_or_exception.status_code == 429
        ):
            return self._rate_limit_wait(response_or_exception, state)
        return self._transient_wait(response_or_exception, state)

    def _state_for(self, response_or_exception: Any) -> _RetryState:
        """Return the retry state of the request, keyed by its method, URL and body.

        A retry may reach this strategy with another PreparedRequest object for the same
        request, so identity cannot be the key. A batch's body is unique within a sync.
        """
        request = getattr(response_or_exception, "request", None)
        if request is None:
            return _RetryState()
        key = (request.method, request.url, request.body)
        with self._lock:
            state = self._states.pop(key, None) or _RetryState()
            self._states[key] = state
            while len(self._states) > MAX_TRACKED_REQUESTS:
                self._states.popitem(last=False)
        return state

    def _rate_limit_wait(self, response: requests.Response, state: _RetryState) -> float:
        retry_after = retry_after_seconds(response)
        interval = _interval_seconds(response)
        wait = (retry_after if retry_after is not None else interval) + random.uniform(0, 1)
        state.rate_limit_wait_seconds += wait
        if state.rate_limit_wait_seconds > self._budget:
            raise AirbyteTracedException(
                message=(
                    "HubSpot kept answering 429 (rate limit) for one batch for longer than "
                    f"max_rate_limit_wait_seconds ({self._budget:.0f} s). Lower num_workers or "
                    "max_requests_per_10_seconds, or raise max_rate_limit_wait_seconds."
                ),
                internal_message=(
                    "Rate-limit waits for this request reached "
                    f"{state.rate_limit_wait_seconds:.1f} s."
                ),
                failure_type=FailureType.transient_error,
            )
        LOGGER.info(
            "HubSpot rate limit reached (HTTP 429, policy %s); waiting %.1f s before retrying "
            "(%.0f s of %.0f s budget used for this batch).",
            _policy_name(response),
            wait,
            state.rate_limit_wait_seconds,
            self._budget,
        )
        return wait

    def _transient_wait(self, response_or_exception: Any, state: _RetryState) -> float:
        state.transient_attempts += 1
        failure = _describe(response_or_exception)
        if state.transient_attempts > MAX_TRANSIENT_RETRIES:
            raise AirbyteTracedException(
                message=f"HubSpot failed {state.transient_attempts} times in a row ({failure}).",
                internal_message=f"Giving up after {MAX_TRANSIENT_RETRIES} retries: {failure}",
                failure_type=FailureType.transient_error,
            )
        retry_after = (
            retry_after_seconds(response_or_exception)
            if isinstance(response_or_exception, requests.Response)
            else None
        )
        wait = transient_backoff_seconds(state.transient_attempts, retry_after)
        LOGGER.warning(
            "Retrying a HubSpot request in %.1f s (retry %d of %d) after %s.",
            wait,
            state.transient_attempts,
            MAX_TRANSIENT_RETRIES,
            failure,
        )
        return wait


def _describe(response_or_exception: Any) -> str:
    if isinstance(response_or_exception, requests.Response):
        return describe_response(response_or_exception)
    if response_or_exception is None:
        return "no response"
    detail = str(response_or_exception)[:BODY_EXCERPT_CHARS]
    return f"{type(response_or_exception).__name__}: {detail}"


def _policy_name(response: requests.Response) -> str:
    body = decode_json_object(response)
    return str((body or {}).get("policyName") or "none")


def transient_backoff_seconds(retry: int, retry_after: float | None) -> float:
    """Return the wait before retry number `retry`, counted from 1.

    The wait is Retry-After when the response has one, else 1 s, 2 s, 4 s and so on up to 60 s,
    plus up to 1 s of jitter.
    """
    exponential = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** (retry - 1))
    base = retry_after if retry_after is not None else exponential
    return base + random.uniform(0, BASE_BACKOFF_SECONDS)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Read Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - ab_datetime_now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _interval_seconds(response: requests.Response) -> float:
    value = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    try:
        return max(0.1, float(value) / 1000) if value else DEFAULT_RATE_LIMIT_INTERVAL_SECONDS
    except ValueError:
        return DEFAULT_RATE_LIMIT_INTERVAL_SECONDS
