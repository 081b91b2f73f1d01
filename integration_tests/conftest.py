"""Fixtures for the integration tests: the in-process HubSpot emulator and OpenAPI schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft4Validator

from integration_tests.emulator import EmulatorServer
from integration_tests.openapi import load_openapi_documents, schema_validator


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """Serve the emulator on a free 127.0.0.1 port for the whole test session."""
    server = EmulatorServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _reset_emulator(request: pytest.FixtureRequest) -> None:
    """Restore default settings and clear the request log before each test that uses `emulator`.

    Tests that do not use the emulator do not start it.
    """
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(scope="session")
def openapi() -> dict[str, dict[str, Any]]:
    """HubSpot's OpenAPI documents keyed "objects", "properties" and "oauth", or a skip."""
    try:
        return load_openapi_documents()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def batch_read_schema(openapi: dict[str, dict[str, Any]]) -> Draft4Validator:
    """Validator for batch-read request bodies (`BatchReadInputSimplePublicObjectId`)."""
    return schema_validator(openapi["objects"], "BatchReadInputSimplePublicObjectId")
