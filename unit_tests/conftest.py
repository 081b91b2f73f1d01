"""Shared fixtures for unit tests: no real waiting between retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from airbyte_cdk.test.mock_http import HttpMocker

from unit_tests.builders import properties_request, properties_response


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Replace time.sleep so that retried requests in tests do not wait."""
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    yield


@pytest.fixture
def http_mocker() -> Iterator[HttpMocker]:
    """Mock HTTP for one test; unused mocked requests fail the test on exit.

    The properties API returns no definitions, so records keep HubSpot's strings and
    batch reads request HubSpot's default properties, unless a test mocks it again.
    """
    with HttpMocker() as mocker:
        mocker.get(properties_request(), properties_response())
        yield mocker
