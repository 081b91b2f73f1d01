"""Airbyte's standard connector tests (airbyte_cdk.test.standard_tests) against the emulator.

The suite reads its scenarios from acceptance-test-config.yml and runs the connector in-process.
It runs spec with the CDK's spec lint, check with valid and invalid configs, and discover. Its
full-refresh read must return records that match the discovered schema, and its read with an
invalid catalog must fail. The suite no longer compares records, so two tests here do what the
Connector Acceptance Tests did: a read compared with integration_tests/expected_records.jsonl
(see expected_records.py), and two full-refresh reads that must return the same records.

The config files name the emulator's URL, whose port is chosen at run time, so a fixture writes
them to integration_tests/generated_configs/ before the tests run.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airbyte_cdk.models import SyncMode, TraceType, Type
from airbyte_cdk.test import entrypoint_wrapper
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.standard_tests import ConnectorTestScenario, SourceTestSuiteBase, pytest_hooks

from integration_tests.connector import STREAM_NAME, oauth_config, private_app_config
from integration_tests.emulator import NO_SCOPE_TOKEN
from integration_tests.expected_records import EXPECTED_RECORDS_PATH, READ_IDS, read_settings
from source_partner_clients.run import serialize_ast_parsing
from source_partner_clients.source import SourcePartnerClients

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATED_CONFIG_DIR = REPO_ROOT / "integration_tests" / "generated_configs"
DOCKER_NETWORK_SKIP_REASON = (
    "The suite runs `docker run` without --network host, so the container cannot reach the "
    "emulator on the host's 127.0.0.1. test_docker_image.py runs check, discover and read in "
    "the image on the host network."
)
DOCKER_BUILD_SKIP_REASON = (
    "The suite builds the image from Airbyte's Dockerfile templates, downloaded from GitHub, "
    "on the base image from Docker Hub, and neither is reachable here. test_docker_image.py "
    "builds this repository's Dockerfile on a local base and runs spec in the image."
)
SPEC_COMPATIBILITY_SKIP_REASON = (
    "The suite compares the spec with the version published in Airbyte's connector registry, "
    "a request to connectors.airbyte.com. This connector is not published there, and the "
    "tests send no request beyond the machine."
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the suite's `scenario` argument with acceptance-test-config.yml's configs."""
    pytest_hooks.pytest_generate_tests(metafunc)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _generated_configs(api_base_url: str) -> dict[str, dict[str, Any]]:
    """Return the config files that acceptance-test-config.yml lists, by file name."""
    invalid_token = private_app_config(api_base_url, READ_IDS[:1])
    invalid_token["credentials"]["access_token"] = "pat-na1-not-a-real-token"
    missing_scope = private_app_config(api_base_url, READ_IDS[:1])
    missing_scope["credentials"]["access_token"] = NO_SCOPE_TOKEN
    return {
        "config.json": private_app_config(api_base_url, READ_IDS, **read_settings()),
        "oauth_config.json": oauth_config(api_base_url, READ_IDS, **read_settings()),
        "invalid_token_config.json": invalid_token,
        "missing_scope_config.json": missing_scope,
        "unreachable_host_config.json": private_app_config(
            f"http://127.0.0.1:{_free_port()}", READ_IDS[:1]
        ),
    }


@pytest.fixture(scope="module", autouse=True)
def acceptance_configs(emulator) -> Iterator[Path]:
    """Write the config files for the emulator's URL, and delete them after the module."""
    GENERATED_CONFIG_DIR.mkdir(exist_ok=True)
    paths = []
    for name, config in _generated_configs(emulator.url).items():
        path = GENERATED_CONFIG_DIR / name
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    yield GENERATED_CONFIG_DIR
    for path in paths:
        path.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def suite_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point tempfile at tmp_path, where the suite writes config and catalog files it keeps."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


class TestPartnerClientsStandardSuite(SourceTestSuiteBase):
    """The CDK's source test suite, with this connector's source class."""

    @classmethod
    def create_connector(cls, scenario: ConnectorTestScenario | None) -> SourcePartnerClients:
        """Build the source with the scenario's config, as run.py builds it from --config.

        The source builds its streams from the config it is constructed with, so the suite's
        default, a source built without a config, could not check or read.
        """
        # The console script does this before every command, and the suite runs in-process.
        serialize_ast_parsing()
        config = None
        if scenario is not None:
            config = scenario.get_config_dict(
                connector_root=cls.get_connector_root_dir(), empty_if_missing=True
            )
        return SourcePartnerClients(config=config or None)

    @pytest.mark.skip(reason=DOCKER_BUILD_SKIP_REASON)
    def test_docker_image_build_and_spec(self) -> None:
        """Replaced by test_docker_image.py."""

    @pytest.mark.skip(reason=DOCKER_BUILD_SKIP_REASON)
    def test_docker_image_build_and_config_matches_spec(self) -> None:
        """Replaced by test_docker_image.py."""

    @pytest.mark.skip(reason=DOCKER_NETWORK_SKIP_REASON)
    def test_docker_image_build_and_check(self) -> None:
        """Replaced by test_docker_image.py."""

    @pytest.mark.skip(reason=DOCKER_NETWORK_SKIP_REASON)
    def test_docker_image_build_and_discover(self) -> None:
        """Replaced by test_docker_image.py."""

    @pytest.mark.skip(reason=DOCKER_NETWORK_SKIP_REASON)
    def test_docker_image_build_and_read(self) -> None:
        """Replaced by test_docker_image.py."""

    @pytest.mark.skip(reason=SPEC_COMPATIBILITY_SKIP_REASON)
    def test_docker_image_spec_backward_compatibility(self) -> None:
        """Needs Airbyte's connector registry."""

    def _read_records(self, config_name: str) -> list[dict[str, Any]]:
        config = json.loads((GENERATED_CONFIG_DIR / config_name).read_text(encoding="utf-8"))
        catalog = CatalogBuilder().with_stream(STREAM_NAME, SyncMode.full_refresh).build()
        scenario = ConnectorTestScenario(config_dict=config)
        output = entrypoint_wrapper.read(self.create_connector(scenario), config, catalog)
        assert not output.errors, output.get_formatted_error_message()
        error_traces = [
            message
            for message in output.trace_messages
            if message.type == Type.TRACE and message.trace.type == TraceType.ERROR
        ]
        assert not error_traces, f"the read reported errors: {error_traces}"
        return sorted((message.record.data for message in output.records), key=_record_id)

    def test_read_matches_expected_records(self) -> None:
        expected = [
            json.loads(line)
            for line in EXPECTED_RECORDS_PATH.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        assert {line["stream"] for line in expected} == {STREAM_NAME}
        records = self._read_records("config.json")
        assert [record["id"] for record in records] == sorted(READ_IDS)
        assert records == sorted((line["data"] for line in expected), key=_record_id)

    def test_full_refresh_twice_same_records(self) -> None:
        first = self._read_records("config.json")
        second = self._read_records("config.json")
        assert first, "the first read returned no records"
        assert first == second


def _record_id(record: dict[str, Any]) -> str:
    return str(record["id"])
