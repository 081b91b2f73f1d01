"""Mutable emulator state: settings, issued OAuth tokens, rate-limit counters and request log.

All methods are thread-safe, because ThreadingHTTPServer serves each request in its own
thread. Times are `time.monotonic()` seconds unless a name says otherwise.
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .data import NO_SCOPE_TOKEN, PRIVATE_APP_TOKEN, READ_SCOPE, Dataset

RATE_LIMIT_INTERVAL_MS = 10000


@dataclass(frozen=True)
class Settings:
    """Emulator behaviour that tests can change with `reset(**settings)`.

    all_unknown_status: HTTP status of a batch read in which no input is found (207 or 404).
    token_lifetime_seconds: `expires_in` of OAuth access tokens issued from now on.
    latency_ms: delay in milliseconds before every CRM endpoint responds.
    rate_limit_max: requests allowed per 10-second rolling window (X-HubSpot-RateLimit-Max).
    rate_limit_daily: requests allowed since the last reset (X-HubSpot-RateLimit-Daily).
    empty_value_as_null: send empty property values as JSON null, as HubSpot documents for
        properties without a value. The published schema allows only strings, so the
        default sends "".
    include_default_properties: add hs_createdate, hs_lastmodifieddate and hs_object_id to
        every object even when `properties` names others. HubSpot does this, but the default
        returns only the requested properties.
    """

    all_unknown_status: int = 207
    token_lifetime_seconds: int = 1800
    latency_ms: float = 0
    rate_limit_max: int = 190
    rate_limit_daily: int = 1000000
    empty_value_as_null: bool = False
    include_default_properties: bool = False

    def __post_init__(self) -> None:
        """Raise TypeError or ValueError, naming the setting, when a value is invalid."""
        if self.all_unknown_status not in (207, 404):
            raise ValueError(
                f"all_unknown_status must be 207 or 404, got {self.all_unknown_status!r}"
            )
        _check_number("token_lifetime_seconds", self.token_lifetime_seconds, minimum=0)
        _check_number("latency_ms", self.latency_ms, minimum=0, integer_only=False)
        _check_number("rate_limit_max", self.rate_limit_max, minimum=1)
        _check_number("rate_limit_daily", self.rate_limit_daily, minimum=1)
        for name in ("empty_value_as_null", "include_default_properties"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a boolean, got {value!r}")


def _check_number(name: str, value: Any, minimum: int, integer_only: bool = True) -> None:
    kind = int if integer_only else int | float
    if not isinstance(value, kind) or isinstance(value, bool):
        noun = "an integer" if integer_only else "a number"
        raise TypeError(f"{name} must be {noun}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


def build_settings(overrides: Mapping[str, Any]) -> Settings:
    """Build Settings from defaults and `overrides`.

    Raise ValueError on an unknown name, and TypeError or ValueError on an invalid value.
    """
    known = {setting.name for setting in dataclasses.fields(Settings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"Unknown settings {unknown}; valid settings are {sorted(known)}")
    return Settings(**overrides)


@dataclass(frozen=True)
class Credential:
    """The credential of a request.

    kind is "private_app", "no_scope", "oauth", "invalid" or "none".
    expired_seconds is how long ago an OAuth access token expired, or None while it is valid.
    """

    kind: str
    scopes: frozenset[str] = frozenset()
    expired_seconds: float | None = None


@dataclass(frozen=True)
class RateLimitDecision:
    """Whether a request fits the rate limits, the policy it broke, and the header values."""

    allowed: bool
    policy_name: str | None
    headers: dict[str, str]


class RateLimiter:
    """HubSpot's two request limits: a 10-second rolling window and a daily count.

    The daily count starts at the last reset, not at midnight in the account's time zone.
    """

    def __init__(self, interval_max: int, daily_max: int) -> None:
        self._interval_max = interval_max
        self._daily_max = daily_max
        self._window: deque[float] = deque()
        self._daily_used = 0

    def consume(self, now: float) -> RateLimitDecision:
        """Count one request unless a limit is reached. A rejected request is not counted."""
        self._expire(now)
        if self._daily_used >= self._daily_max:
            return RateLimitDecision(False, "DAILY", self._headers())
        if len(self._window) >= self._interval_max:
            return RateLimitDecision(False, "TEN_SECONDLY_ROLLING", self._headers())
        self._window.append(now)
        self._daily_used += 1
        return RateLimitDecision(True, None, self._headers())

    def peek(self, now: float) -> dict[str, str]:
        """Return the current header values without counting a request."""
        self._expire(now)
        return self._headers()

    def _expire(self, now: float) -> None:
        while self._window and now - self._window[0] >= RATE_LIMIT_INTERVAL_MS / 1000:
            self._window.popleft()

    def _headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(self._interval_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self._interval_max - len(self._window))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(RATE_LIMIT_INTERVAL_MS),
            "X-HubSpot-RateLimit-Daily": str(self._daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self._daily_max - self._daily_used)),
        }


class EmulatorState:
    """The data set with its lookup indexes, plus everything that `reset` restores."""

    def __init__(self, dataset: Dataset, base_settings: Mapping[str, Any] | None = None) -> None:
        """Index `dataset`; `base_settings` replace the defaults that every reset starts from."""
        self.dataset = dataset
        self._base_settings = dict(base_settings or {})
        build_settings(self._base_settings)
        self.properties_by_name = {prop["name"]: prop for prop in dataset.properties}
        self.unique_property_names = frozenset(
            prop["name"] for prop in dataset.properties if prop["hasUniqueValue"]
        )
        self.clients_by_archived: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
        for client in dataset.clients:
            self.clients_by_archived[client["archived"]].append(client)
        self.object_ids_by_archived = {
            archived: [int(client["id"]) for client in clients]
            for archived, clients in self.clients_by_archived.items()
        }
        self._indexes: dict[tuple[bool, str], dict[str, dict[str, Any]]] = {}
        for archived, clients in self.clients_by_archived.items():
            for name in self.unique_property_names | {"hs_object_id"}:
                index = {client["properties"][name]: client for client in clients}
                self._indexes[(archived, name)] = index
        self._lock = threading.Lock()
        self.reset({})

    def reset(self, overrides: Mapping[str, Any]) -> Settings:
        """Restore the base settings except `overrides`. Clear the log, tokens and rate limits."""
        settings = build_settings({**self._base_settings, **overrides})
        with self._lock:
            self.settings = settings
            self._access_tokens: dict[str, float] = {}
            self._rate_limiter = RateLimiter(settings.rate_limit_max, settings.rate_limit_daily)
            self._log: list[dict[str, Any]] = []
        return settings

    def find_client(
        self, archived: bool, id_property: str | None, key: str
    ) -> dict[str, Any] | None:
        """Find a client by object id, or by the value of the unique property `id_property`."""
        return self._indexes[(archived, id_property or "hs_object_id")].get(key)

    def issue_access_token(self, now: float) -> tuple[str, int]:
        """Create an OAuth access token with the read scope. Return it and its lifetime in s."""
        token = f"CN{secrets.token_urlsafe(32)}"
        with self._lock:
            lifetime = self.settings.token_lifetime_seconds
            self._access_tokens[token] = now + lifetime
        return token, lifetime

    def identify(self, authorization: str | None, now: float) -> Credential:
        """Classify the Authorization header. Only the "Bearer <token>" scheme is accepted."""
        if not authorization:
            return Credential("none")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return Credential("invalid")
        if token == PRIVATE_APP_TOKEN:
            return Credential("private_app", frozenset({READ_SCOPE}))
        if token == NO_SCOPE_TOKEN:
            return Credential("no_scope")
        with self._lock:
            expires_at = self._access_tokens.get(token)
        if expires_at is None:
            return Credential("invalid")
        expired = now - expires_at if now >= expires_at else None
        return Credential("oauth", frozenset({READ_SCOPE}), expired)

    def consume_rate_limit(self, now: float) -> RateLimitDecision:
        with self._lock:
            return self._rate_limiter.consume(now)

    def peek_rate_limit(self, now: float) -> dict[str, str]:
        with self._lock:
            return self._rate_limiter.peek(now)

    def append_log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def set_log_status(self, entry: dict[str, Any], status: int) -> None:
        """Record the response status in a logged entry."""
        with self._lock:
            entry["status"] = status

    def log_snapshot(self) -> list[dict[str, Any]]:
        """Return a deep copy of the request log, so callers cannot change the stored entries."""
        with self._lock:
            return copy.deepcopy(self._log)
