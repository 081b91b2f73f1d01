"""One request budget for every worker of a sync, sized by HubSpot's rate-limit headers.

HubSpot limits private apps to 100 requests per 10 seconds (Free and Starter), 190
(Professional and Enterprise) or 250 (with the API limit add-on), over a rolling window. Every
response reports the limit in its `X-HubSpot-RateLimit-Max` and
`X-HubSpot-RateLimit-Interval-Milliseconds` headers. Staying just under the limit is faster than
bursting past it and waiting out 429s.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_cdk.sources.declarative.requesters.http_requester import HttpRequester
from airbyte_cdk.sources.streams.call_rate import AbstractAPIBudget, AbstractCallRatePolicy
from airbyte_cdk.sources.types import Config

LOGGER = logging.getLogger("airbyte")
DEFAULT_LIMIT = 100
DEFAULT_WINDOW_SECONDS = 10.0
# Requests kept in reserve below the limit, and extra window length, so that requests that reach
# HubSpot later than they were sent do not push a window over the limit.
SAFETY_REQUESTS = 2
SAFETY_WINDOW_SHARE = 0.02
MAX_HEADER = "X-HubSpot-RateLimit-Max"
INTERVAL_HEADER = "X-HubSpot-RateLimit-Interval-Milliseconds"
DAILY_REMAINING_HEADER = "X-HubSpot-RateLimit-Daily-Remaining"


class HubSpotRequestBudget(AbstractAPIBudget):
    """A rolling-window request budget shared by threads, adjusted from HubSpot's headers.

    Before any header is seen the budget is `cap` or 100 requests per 10 seconds. Once a
    response carries the limit headers, it becomes their limit (at most `cap`) per their window.
    """

    def __init__(self, cap: int | None = None) -> None:
        self._cap = cap
        self._limit = min(cap, DEFAULT_LIMIT) if cap else DEFAULT_LIMIT - SAFETY_REQUESTS
        self._header_limit: int | None = None
        self._window = DEFAULT_WINDOW_SECONDS
        self._sent: deque[float] = deque()
        self._condition = threading.Condition()
        self._daily_remaining: int | None = None
        self._authenticator: Any = None
        LOGGER.info(
            "Request budget: %s until HubSpot's rate-limit headers are seen.", self._describe()
        )

    @property
    def daily_remaining(self) -> int | None:
        """The last X-HubSpot-RateLimit-Daily-Remaining value seen, if any."""
        return self._daily_remaining

    def _usable(self) -> int:
        """Requests allowed per span: HubSpot's limit less the reserve, or the cap if lower."""
        usable = self._header_limit - SAFETY_REQUESTS if self._header_limit else self._limit
        if self._cap:
            usable = min(usable, self._cap)
        return max(1, usable)

    def _span(self) -> float:
        return self._window * (1 + SAFETY_WINDOW_SHARE)

    def _describe(self) -> str:
        return f"{self._usable()} requests per {self._span():.1f} s"

    def register_authenticator(self, authenticator: Any) -> None:
        """Keep an authenticator to sign requests again after they waited for the budget."""
        if self._authenticator is None and callable(authenticator):
            self._authenticator = authenticator

    def acquire_call(self, request: Any, block: bool = True, timeout: float | None = None) -> None:
        """Wait until one more request fits in the rolling window, then count it.

        The CDK signs a request before it reaches the budget, so a request that waited is
        signed again: an OAuth token may have expired while it waited.
        """
        waited = False
        with self._condition:
            while True:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self._span():
                    self._sent.popleft()
                if len(self._sent) < self._usable():
                    self._sent.append(now)
                    break
                wait = self._sent[0] + self._span() - now
                LOGGER.debug("Request budget full; waiting %.2f s.", wait)
                self._condition.wait(timeout=wait)
                waited = True
        if waited and self._authenticator is not None and request is not None:
            self._authenticator(request)

    def get_matching_policy(self, request: Any) -> AbstractCallRatePolicy | None:
        return None

    def update_from_response(self, request: Any, response: Any) -> None:
        headers = getattr(response, "headers", None) or {}
        daily = _int_header(headers, DAILY_REMAINING_HEADER)
        if daily is not None:
            self._daily_remaining = daily
        limit = _int_header(headers, MAX_HEADER)
        interval = _int_header(headers, INTERVAL_HEADER)
        if not limit or limit <= 0:
            return
        new_window = interval / 1000 if interval and interval > 0 else self._window
        with self._condition:
            if (limit, new_window) == (self._header_limit, self._window):
                return
            self._header_limit, self._window = limit, new_window
            self._condition.notify_all()
        LOGGER.info(
            "Request budget: %s (HubSpot allows %d per %.1f s%s).",
            self._describe(),
            limit,
            new_window,
            f"; max_requests_per_10_seconds caps it at {self._cap}" if self._cap else "",
        )


def _int_header(headers: Mapping[str, Any], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_BUDGETS: dict[str, HubSpotRequestBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def shared_request_budget(config: Config) -> HubSpotRequestBudget:
    """Return the process's budget for these credentials and cap, creating it on first use."""
    cap = config.get("max_requests_per_10_seconds") or None
    credentials = config.get("credentials") or {}
    key_source = f"{config.get('api_base_url')}|{sorted(credentials.items())}|{cap}"
    key = hashlib.sha256(key_source.encode()).hexdigest()
    with _BUDGETS_LOCK:
        if key not in _BUDGETS:
            _BUDGETS[key] = HubSpotRequestBudget(cap=int(cap) if cap else None)
        return _BUDGETS[key]


@dataclass
class PartnerClientRequester(HttpRequester):
    """HttpRequester whose every attempt, retries included, spends the shared request budget."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        if self.api_budget is None:
            self.api_budget = shared_request_budget(self.config)  # type: ignore[assignment]
        super().__post_init__(parameters)
        if isinstance(self.api_budget, HubSpotRequestBudget):
            self.api_budget.register_authenticator(self.authenticator)
