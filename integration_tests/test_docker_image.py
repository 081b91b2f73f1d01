"""The connector image, built from the Dockerfile and run the way Airbyte runs it.

The image is built on a local Debian base (see docker_support) in a Docker engine that these
tests start and stop themselves. check, discover and read run in containers on the host network
against the emulator on 127.0.0.1, and must give the same output as the command run directly.
Set SOURCE_PARTNER_CLIENTS_SKIP_DOCKER=1 to skip these tests where Docker cannot run; without
it, a machine that cannot run Docker fails them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.models import Status, Type

from integration_tests import docker_support
from integration_tests.connector import (
    ConnectorRun,
    assert_no_secrets,
    configured_catalog,
    known_ids,
    parse_message,
    private_app_config,
    reported_ids,
    run_connector,
)
from integration_tests.docker_support import DockerEngine
from integration_tests.local_cache import cache_dir

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def progress(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Write a progress line to the terminal, past output capture, so that CI logs show it."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def report(message: str) -> None:
        logger.info(message)
        if reporter is None or capture is None:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[docker] {message}")

    return report


@pytest.fixture(scope="module")
def docker_engine(progress: Callable[[str], None]) -> Iterator[DockerEngine]:
    if os.environ.get(docker_support.SKIP_ENV_VAR) == "1":
        pytest.skip(f"{docker_support.SKIP_ENV_VAR}=1 is set, so the Docker image is not tested")
    engine = DockerEngine(cache_dir() / "docker-data", progress)
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def connector_image(docker_engine: DockerEngine, progress: Callable[[str], None]) -> str:
    base_image = docker_support.ensure_base_image(docker_engine, cache_dir(), progress)
    return docker_support.build_connector_image(docker_engine, REPO_ROOT, base_image, progress)


def _metadata() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "metadata.yaml").read_text(encoding="utf-8"))["data"]


def _messages(stdout: str) -> list[Any]:
    return [parse_message(line) for line in stdout.splitlines() if line.strip()]


def _read_config(api_base_url: str) -> dict[str, Any]:
    ids = known_ids(api_base_url)[:40]
    return private_app_config(
        api_base_url,
        [*ids, "999999999", "  ", ids[0]],
        properties=["client_name", "city", "partner_tier", "partner_status"],
        batch_size=15,
    )


def _by_id(run: ConnectorRun) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in run.records}


def test_image_config_matches_metadata(docker_engine: DockerEngine, connector_image: str) -> None:
    config = docker_engine.image_config(connector_image)
    metadata = _metadata()
    assert config["Labels"]["io.airbyte.name"] == metadata["dockerRepository"]
    assert config["Labels"]["io.airbyte.version"] == metadata["dockerImageTag"]
    assert "AIRBYTE_ENTRYPOINT=source-partner-clients" in config["Env"]
    assert config["Entrypoint"] == ["source-partner-clients"]
    assert config["User"] == "airbyte"


def test_image_runs_as_uid_1000(
    docker_engine: DockerEngine, connector_image: str, progress: Callable[[str], None]
) -> None:
    completed = docker_support.run_image(
        docker_engine, connector_image, ["-u"], entrypoint="id", log=progress
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(docker_support.AIRBYTE_UID)


def test_image_spec_without_network(
    docker_engine: DockerEngine,
    connector_image: str,
    progress: Callable[[str], None],
    tmp_path: Path,
) -> None:
    completed = docker_support.run_image(docker_engine, connector_image, ["spec"], log=progress)
    assert completed.returncode == 0, completed.stderr
    specs = [message for message in _messages(completed.stdout) if message.type == Type.SPEC]
    assert len(specs) == 1
    local_spec = run_connector("spec", tmp_path).of_type(Type.SPEC)[0].spec
    assert specs[0].spec.connectionSpecification == local_spec.connectionSpecification


def test_image_airbyte_entrypoint_runs_spec(
    docker_engine: DockerEngine, connector_image: str, progress: Callable[[str], None]
) -> None:
    """The platform launches `$AIRBYTE_ENTRYPOINT <command>`, so that must run the connector."""
    completed = docker_support.run_image(
        docker_engine,
        connector_image,
        ["-c", 'exec $AIRBYTE_ENTRYPOINT "$@"', "sh", "spec"],
        entrypoint="/bin/sh",
        log=progress,
    )
    assert completed.returncode == 0, completed.stderr
    spec_count = sum(1 for message in _messages(completed.stdout) if message.type == Type.SPEC)
    assert spec_count == 1


def test_image_check_valid_and_invalid_token(
    docker_engine: DockerEngine,
    connector_image: str,
    emulator,
    progress: Callable[[str], None],
    tmp_path: Path,
) -> None:
    config = private_app_config(emulator.url, known_ids(emulator.url)[:3])
    succeeded = docker_support.run_connector_image(
        docker_engine, connector_image, "check", tmp_path, config, log=progress
    )
    assert succeeded.returncode == 0, succeeded.stderr
    assert succeeded.connection_status.status == Status.SUCCEEDED

    config["credentials"]["access_token"] = "pat-na1-not-a-real-token"
    failed = docker_support.run_connector_image(
        docker_engine, connector_image, "check", tmp_path, config, log=progress
    )
    assert failed.connection_status.status == Status.FAILED
    assert "invalid, expired or revoked" in (failed.connection_status.message or "")
    assert_no_secrets(failed, ["pat-na1-not-a-real-token"])


def test_image_discover_matches_local(
    docker_engine: DockerEngine,
    connector_image: str,
    emulator,
    progress: Callable[[str], None],
    tmp_path: Path,
) -> None:
    config = private_app_config(emulator.url, known_ids(emulator.url)[:1])
    in_image = docker_support.run_connector_image(
        docker_engine, connector_image, "discover", tmp_path, config, log=progress
    )
    assert in_image.returncode == 0, in_image.stderr
    local = run_connector("discover", tmp_path, config)
    assert in_image.catalog == local.catalog


def test_image_read_matches_local(
    docker_engine: DockerEngine,
    connector_image: str,
    emulator,
    progress: Callable[[str], None],
    tmp_path: Path,
) -> None:
    config = _read_config(emulator.url)
    local_discover = run_connector("discover", tmp_path, config)
    catalog = configured_catalog(local_discover.catalog.streams[0].json_schema)

    in_image = docker_support.run_connector_image(
        docker_engine, connector_image, "read", tmp_path, config, catalog, log=progress
    )
    local = run_connector("read", tmp_path, config, catalog)

    assert in_image.returncode == 0, in_image.stderr
    assert local.returncode == 0, local.stderr
    assert len(in_image.records) == len(local.records)
    assert _by_id(in_image) == _by_id(local)
    assert sorted(reported_ids(in_image)) == sorted(reported_ids(local))
    assert "999999999" in reported_ids(in_image)
    assert_no_secrets(in_image)
    progress(
        f"read in the image emitted {len(in_image.records)} records and reported "
        f"{len(reported_ids(in_image))} IDs missing, the same as the local read"
    )
