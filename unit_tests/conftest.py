"""Shared fixtures for unit tests: no real waiting between retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from airbyte_cdk.test.mock_http import HttpMocker


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Replace time.sleep so that retried requests in tests do not wait."""
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    yield


@pytest.fixture
def http_mocker() -> Iterator[HttpMocker]:
    """Mock HTTP for one test; unused mocked requests fail the test on exit."""
    with HttpMocker() as mocker:
        yield mocker
