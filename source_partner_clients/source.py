"""The connector: a declarative source defined by manifest.yaml."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    Status,
)
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.streams.concurrent.abstract_stream import AbstractStream

from source_partner_clients.batching import MAX_BATCH_SIZE, normalize_partner_client_ids
from source_partner_clients.config_validation import DEFAULT_API_BASE_URL, validate_config
from source_partner_clients.schema import CONFIGURED_SCHEMAS

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")
DEFAULT_NUM_WORKERS = 8
MIN_NUM_WORKERS = 1
MAX_NUM_WORKERS = 20
MIN_RECORD_QUEUE = 500
CONNECT_TIMEOUT_SECONDS = 10


class SourcePartnerClients(YamlDeclarativeSource):
    """HubSpot partner_clients source: spec, check and the stream come from manifest.yaml."""

    def __init__(
        self,
        catalog: ConfiguredAirbyteCatalog | None = None,
        config: Mapping[str, Any] | None = None,
        state: list[AirbyteStateMessage] | None = None,
        config_path: str | None = None,
    ) -> None:
        super().__init__(
            path_to_yaml=str(MANIFEST_PATH),
            catalog=catalog,
            config=config,
            state=state,
            config_path=config_path,
        )
        self._config_file = config_path
        self._config_as_read = config
        self._bound_record_queue(config or {})
        for configured_stream in catalog.streams if catalog else []:
            CONFIGURED_SCHEMAS[configured_stream.stream.name] = configured_stream.stream.json_schema

    def _bound_record_queue(self, config: Mapping[str, Any]) -> None:
        """Bound the queue of records between the workers and the main thread.

        The CDK's queue holds up to 10,000 records. When writing stdout is slower than reading
        (a fast API), the queue fills, so its memory grew with the number of IDs up to that
        bound. Two batches per worker keep every worker busy. In airbyte-cdk 7.39.1 the main
        thread puts its own messages on this queue without blocking (ConcurrentMessageRepository
        buffers them), so a smaller bound cannot deadlock it.
        """
        # The same rule as concurrency_level in manifest.yaml; config validation reports the
        # invalid value.
        workers = config.get("num_workers")
        is_whole_number = isinstance(workers, int) and not isinstance(workers, bool)
        if not (is_whole_number and MIN_NUM_WORKERS <= workers <= MAX_NUM_WORKERS):
            workers = DEFAULT_NUM_WORKERS
        queue = getattr(getattr(self, "_concurrent_source", None), "_queue", None)
        if queue is not None:
            # NOTE: _concurrent_source._queue is private to airbyte-cdk 7.39; without it the
            # CDK's 10,000-record bound applies.
            queue.maxsize = max(MIN_RECORD_QUEUE, 2 * workers * MAX_BATCH_SIZE)

    def read_config(self, config_path: str) -> MutableMapping[str, Any]:  # type: ignore[override]
        """Return the config this source was built with when it came from config_path.

        The entrypoint reads the config file again before each command. A second copy of a
        100,000-ID list would stay in memory for the whole sync.
        """
        config = self._config_as_read
        if config_path == self._config_file and isinstance(config, MutableMapping):
            return config
        return YamlDeclarativeSource.read_config(config_path)

    @property
    def spec_schema(self) -> Mapping[str, Any]:
        """The connection specification's JSON schema from manifest.yaml."""
        return self.resolved_manifest["spec"]["connection_specification"]  # type: ignore[no-any-return]

    def streams(self, config: Mapping[str, Any]) -> list[AbstractStream]:  # type: ignore[override]
        # The parent builds streams from the config it was constructed with, not this argument.
        validate_config(self._config, self.spec_schema)
        return super().streams(config)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Check the connection with a batch read of the first configured ID only.

        A host that refuses the connection or cannot be resolved fails at once, instead of after
        the read's retries and backoff.
        The stream is built from `self._config`, so the narrowed ID list is set there for the
        duration of the check, as the CDK does for a check component's config_overrides.
        """
        validate_config(self._config, self.spec_schema)
        api_base_url = self._config.get("api_base_url") or DEFAULT_API_BASE_URL
        unreachable = unreachable_reason(api_base_url)
        if unreachable:
            logger.error("Check failed: %s", unreachable)
            return AirbyteConnectionStatus(status=Status.FAILED, message=unreachable)
        first_ids = normalize_partner_client_ids(self._config["partner_client_ids"]).ids[:1]
        full_config = self._config
        self._config = {**full_config, "partner_client_ids": list(first_ids)}
        try:
            return super().check(logger, config)
        finally:
            self._config = full_config


def unreachable_reason(api_base_url: str) -> str | None:
    """Return why a TCP connection to the API host fails, or None when it succeeds.

    Returns None without connecting when a proxy from the environment carries the traffic,
    because the host may then be unreachable directly but reachable through the proxy.
    """
    parts = urlsplit(api_base_url)
    if not parts.hostname or requests.utils.get_environ_proxies(api_base_url):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_SECONDS):
            return None
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
    return (
        f"Could not connect to {parts.hostname}:{port} ({reason}). Check api_base_url "
        f"(default {DEFAULT_API_BASE_URL}) and that this machine can reach that host."
    )
