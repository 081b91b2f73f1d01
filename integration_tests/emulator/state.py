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
from .faults import BatchKey, FaultHit, FaultPlan, FaultRule, parse_fault_rules

RATE_LIMIT_INTERVAL_MS = 10000


@dataclass(frozen=True)
class Settings:
    """Emulator behaviour that tests can change with `reset(**settings)`.

    all_unknown_status: HTTP status of a batch read in which no input is found (207 or 404).
    token_lifetime_seconds: `expires_in` of OAuth access tokens issued from now on.
    latency_ms: delay in milliseconds before every CRM endpoint responds.
    rate_limit_max: requests allowed per rolling window (X-HubSpot-RateLimit-Max).
    rate_limit_interval_ms: length of that window in milliseconds
        (X-HubSpot-RateLimit-Interval-Milliseconds). HubSpot's window is 10 seconds.
    rate_limit_daily: requests allowed since the last reset (X-HubSpot-RateLimit-Daily).
    empty_value_as_null: send empty property values as JSON null, as HubSpot documents for
        properties without a value. The published schema allows only strings, so the
        default sends "".
    include_default_properties: add hs_createdate, hs_lastmodifieddate and hs_object_id to
        every object even when `properties` names others. HubSpot does this, but the default
        returns only the requested properties.
    faults: rules of the fault plan, as described in faults.py. Mappings are validated and
        stored as FaultRule values.
    fault_seed: seed of the fault plan's draws.
    """

    all_unknown_status: int = 207
    token_lifetime_seconds: int = 1800
    latency_ms: float = 0
    rate_limit_max: int = 190
    rate_limit_interval_ms: int = RATE_LIMIT_INTERVAL_MS
    rate_limit_daily: int = 1000000
    empty_value_as_null: bool = False
    include_default_properties: bool = False
    faults: tuple[FaultRule, ...] = ()
    fault_seed: int = 0

    def __post_init__(self) -> None:
        """Raise TypeError or ValueError, naming the setting, when a value is invalid."""
        if self.all_unknown_status not in (207, 404):
            raise ValueError(
                f"all_unknown_status must be 207 or 404, got {self.all_unknown_status!r}"
            )
        _check_number("token_lifetime_seconds", self.token_lifetime_seconds, minimum=0)
        _check_number("latency_ms", self.latency_ms, minimum=0, integer_only=False)
        _check_number("rate_limit_max", self.rate_limit_max, minimum=1)
        _check_number("rate_limit_interval_ms", self.rate_limit_interval_ms, minimum=1)
        _check_number("rate_limit_daily", self.rate_limit_daily, minimum=1)
        _check_number("fault_seed", self.fault_seed, minimum=0)
        # The dataclass is frozen, so the validated rules replace the raw ones this way.
        object.__setattr__(self, "faults", parse_fault_rules(self.faults))
        for name in ("empty_value_as_null", "include_default_properties"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a boolean, got {value!r}")

    def as_json(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values, with each fault rule as a mapping."""
        return dataclasses.asdict(self)


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
    token_number is the 1-based issue order of an OAuth access token since the last reset.
    """

    kind: str
    scopes: frozenset[str] = frozenset()
    expired_seconds: float | None = None
    token_number: int | None = None


@dataclass(frozen=True)
class RateLimitDecision:
    """Whether a request fits the rate limits, the policy it broke, and the header values."""

    allowed: bool
    policy_name: str | None
    headers: dict[str, str]


class RateLimiter:
    """HubSpot's two request limits: a rolling window (10 seconds at HubSpot) and a daily count.

    The daily count starts at the last reset, not at midnight in the account's time zone.
    """

    def __init__(self, interval_max: int, daily_max: int, interval_ms: int) -> None:
        self._interval_max = interval_max
        self._daily_max = daily_max
        self._interval_ms = interval_ms
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
        while self._window and now - self._window[0] >= self._interval_ms / 1000:
            self._window.popleft()

    def _headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(self._interval_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self._interval_max - len(self._window))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self._interval_ms),
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
        self._release = threading.Event()
        self.reset({})

    def reset(self, overrides: Mapping[str, Any]) -> Settings:
        """Restore the base settings except `overrides`.

        Clear the log, tokens, rate limits and the fault plan's progress, and end every wait
        of a `hang` fault.
        """
        settings = build_settings({**self._base_settings, **overrides})
        with self._lock:
            self.settings = settings
            self._access_tokens: dict[str, tuple[float, int]] = {}
            self._rate_limiter = RateLimiter(
                settings.rate_limit_max, settings.rate_limit_daily, settings.rate_limit_interval_ms
            )
            self._fault_plan = FaultPlan(settings.faults, settings.fault_seed)
            self._log: list[dict[str, Any]] = []
            self._release.set()
            self._release = threading.Event()
        return settings

    def release_waits(self) -> None:
        """End every wait of a `hang` fault now, for example because the server stops."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def wait_unless_released(self, seconds: float) -> None:
        """Sleep `seconds`, or less when a reset or `release_waits` comes first."""
        with self._lock:
            release = self._release
        release.wait(seconds)

    def next_batch_fault(self, key: BatchKey) -> FaultHit | None:
        """Count a batch-read request in the fault plan and return the fault it gets, if any."""
        with self._lock:
            return self._fault_plan.next_batch_fault(key)

    def next_token_fault(self) -> FaultHit | None:
        """Count a token request in the fault plan and return the fault it gets, if any."""
        with self._lock:
            return self._fault_plan.next_token_fault()

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
            self._access_tokens[token] = (now + lifetime, len(self._access_tokens) + 1)
        return token, lifetime

    def issued_access_tokens(self) -> list[str]:
        """Return the OAuth access tokens issued since the last reset, oldest first."""
        with self._lock:
            return list(self._access_tokens)

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
            issued = self._access_tokens.get(token)
        if issued is None:
            return Credential("invalid")
        expires_at, number = issued
        expired = now - expires_at if now >= expires_at else None
        return Credential("oauth", frozenset({READ_SCOPE}), expired, number)

    def consume_rate_limit(self, now: float) -> RateLimitDecision:
        with self._lock:
            return self._rate_limiter.consume(now)

    def peek_rate_limit(self, now: float) -> dict[str, str]:
        with self._lock:
            return self._rate_limiter.peek(now)

    def append_log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def set_log_status(self, entry: dict[str, Any], status: int | None) -> None:
        """Record the response status in a logged entry: None when no response was sent."""
        with self._lock:
            entry["status"] = status

    def set_log_fault(self, entry: dict[str, Any], fault: dict[str, Any]) -> None:
        """Record in a logged entry which fault rule failed the request."""
        with self._lock:
            entry["fault"] = fault

    def log_snapshot(self) -> list[dict[str, Any]]:
        """Return a deep copy of the request log, so callers cannot change the stored entries."""
        with self._lock:
            return copy.deepcopy(self._log)
