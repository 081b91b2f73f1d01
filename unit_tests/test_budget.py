"""The shared request budget: limits from headers, the cap, and the rolling window."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from source_partner_clients import budget as budget_module
from source_partner_clients.budget import HubSpotRequestBudget, shared_request_budget


class FakeClock:
    """A monotonic clock that only moves when the budget waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        self.now += timeout or 0.0
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(budget_module.time, "monotonic", fake.monotonic)
    return fake


def _budget(clock: FakeClock, cap: int | None = None) -> HubSpotRequestBudget:
    budget = HubSpotRequestBudget(cap=cap)
    budget._condition.wait = clock.wait  # type: ignore[method-assign]
    return budget


def _response(limit: int, interval_ms: int, daily: int | None = None) -> SimpleNamespace:
    headers = {
        "X-HubSpot-RateLimit-Max": str(limit),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
    }
    if daily is not None:
        headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(daily)
    return SimpleNamespace(headers=headers)


def test_budget_starts_at_100_per_10_seconds(clock: FakeClock) -> None:
    budget = _budget(clock)
    for _ in range(98):
        budget.acquire_call(None)
    assert clock.waits == []
    budget.acquire_call(None)
    assert len(clock.waits) == 1
    assert clock.waits[0] == pytest.approx(10.2)


def test_budget_follows_header_limit(clock: FakeClock) -> None:
    budget = _budget(clock)
    budget.update_from_response(None, _response(190, 10_000))
    for _ in range(188):
        budget.acquire_call(None)
    assert clock.waits == []


def test_budget_cap_lowers_header_limit(clock: FakeClock) -> None:
    budget = _budget(clock, cap=50)
    budget.update_from_response(None, _response(190, 10_000))
    for _ in range(50):
        budget.acquire_call(None)
    assert clock.waits == []
    budget.acquire_call(None)
    assert len(clock.waits) == 1


def test_budget_never_exceeds_window(clock: FakeClock) -> None:
    budget = _budget(clock)
    budget.update_from_response(None, _response(10, 1_000))
    sent: list[float] = []
    for _ in range(50):
        budget.acquire_call(None)
        sent.append(clock.now)
    for index, start in enumerate(sent):
        in_window = [t for t in sent[index:] if t < start + 1.0]
        assert len(in_window) <= 8


def test_budget_keeps_daily_remaining(clock: FakeClock) -> None:
    budget = _budget(clock)
    assert budget.daily_remaining is None
    budget.update_from_response(None, _response(100, 10_000, daily=1234))
    assert budget.daily_remaining == 1234


def test_budget_ignores_missing_headers(clock: FakeClock) -> None:
    budget = _budget(clock)
    budget.update_from_response(None, SimpleNamespace(headers={}))
    for _ in range(98):
        budget.acquire_call(None)
    assert clock.waits == []


def test_shared_budget_is_one_per_credentials() -> None:
    config = {"credentials": {"access_token": "a"}, "api_base_url": "https://x.test"}
    other = {"credentials": {"access_token": "b"}, "api_base_url": "https://x.test"}
    assert shared_request_budget(config) is shared_request_budget(dict(config))
    assert shared_request_budget(config) is not shared_request_budget(other)


def test_budget_cap_is_used_exactly(clock: FakeClock) -> None:
    budget = _budget(clock, cap=3)
    for _ in range(3):
        budget.acquire_call(None)
    assert clock.waits == []
    budget.update_from_response(None, _response(5, 10_000))
    budget.acquire_call(None)
    assert len(clock.waits) == 1
