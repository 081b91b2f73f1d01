"""Console entry point `source-partner-clients`: spec, check, discover and read."""

from __future__ import annotations

import ast
import ctypes
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessageSerializer, ConnectorSpecification, FailureType
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.config_validation import validate_config
from source_partner_clients.output import lines_to_stdout
from source_partner_clients.source import SourcePartnerClients

# CPython 3.11.7 and older can raise "SystemError: AST constructor recursion depth mismatch"
# when two threads build AST objects at once (CPython issue 106905, fixed in 3.11.8). The CDK
# parses every interpolated string with ast.literal_eval, from every worker thread.
FIXED_AST_VERSION = (3, 11, 8)
# glibc's mallopt parameter number for the maximum number of malloc arenas.
M_ARENA_MAX = -8


def serialize_ast_parsing() -> None:
    """Make ast.parse, and so ast.literal_eval, run in one thread at a time on affected Pythons."""
    if sys.version_info[:3] >= FIXED_AST_VERSION or getattr(ast.parse, "_serialized", False):
        return
    lock = threading.Lock()
    unlocked_parse: Callable[..., Any] = ast.parse

    def locked_parse(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return unlocked_parse(*args, **kwargs)

    locked_parse._serialized = True  # type: ignore[attr-defined]
    ast.parse = locked_parse  # type: ignore[assignment]


def limit_malloc_arenas() -> bool:
    """Make glibc's malloc serve every thread from one arena, unless MALLOC_ARENA_MAX is set.

    On 64-bit systems glibc gives threads up to 8 arenas per CPU, and memory freed in a worker
    thread's arena mostly stays with the process. With the default, a read of 100,000 IDs on
    2 CPUs peaked at 178 MB, against 125 MB with one arena. One arena costs little here, because
    the threads allocate while holding the GIL. Other C libraries have no mallopt symbol, or
    ignore this parameter. Returns whether mallopt accepted the limit.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, 1))


def secret_bearing_fields(spec_schema: Mapping[str, Any]) -> set[str]:
    """Return the top-level config fields whose schema marks a value as airbyte_secret."""

    def marks_secret(schema: Any) -> bool:
        if isinstance(schema, Mapping):
            return schema.get("airbyte_secret") is True or any(map(marks_secret, schema.values()))
        if isinstance(schema, list):
            return any(map(marks_secret, schema))
        return False

    properties = spec_schema.get("properties") or {}
    return {name for name, schema in properties.items() if marks_secret(schema)}


class PartnerClientsEntrypoint(AirbyteEntrypoint):
    """AirbyteEntrypoint whose config validation names each wrong field and never a secret."""

    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Any) -> None:
        validate_config(config, source_spec.connectionSpecification)

    @staticmethod
    def set_up_secret_filter(config: Any, connection_specification: Mapping[str, Any]) -> None:
        """Register the config's secrets for masking, looking only in fields that can hold one.

        The CDK walks the whole config once per secret path in the spec, which took 1.4 s with
        100,000 partner client IDs.
        """
        fields = secret_bearing_fields(connection_specification)
        secret_part = {name: value for name, value in config.items() if name in fields}
        AirbyteEntrypoint.set_up_secret_filter(secret_part, connection_specification)


def _launch(source: SourcePartnerClients, args: list[str]) -> None:
    """Run one command and write each message as one line, as airbyte_cdk.entrypoint.launch does."""
    entrypoint = PartnerClientsEntrypoint(source)
    parsed_args = entrypoint.parse_args(args)
    # One LineWriter takes the worker threads' log lines and the main thread's messages.
    with lines_to_stdout() as stdout:
        for message in entrypoint.run(parsed_args):
            stdout.write(message + "\n")


def _build_source(args: list[str]) -> SourcePartnerClients:
    catalog_path = AirbyteEntrypoint.extract_catalog(args)
    config_path = AirbyteEntrypoint.extract_config(args)
    state_path = AirbyteEntrypoint.extract_state(args)
    return SourcePartnerClients(
        catalog=SourcePartnerClients.read_catalog(catalog_path) if catalog_path else None,
        config=YamlDeclarativeSource.read_config(config_path) if config_path else None,
        state=SourcePartnerClients.read_state(state_path) if state_path else None,
        config_path=config_path,
    )


def run(args: list[str] | None = None) -> None:
    """Run one Airbyte command; the arguments default to the process arguments."""
    serialize_ast_parsing()
    limit_malloc_arenas()
    arguments = sys.argv[1:] if args is None else args
    try:
        source = _build_source(arguments)
    except Exception as error:  # noqa: BLE001 - reported as a trace message, then exit 1
        traced = AirbyteTracedException.from_exception(
            error,
            message=f"The connector could not start: {error}",
            failure_type=FailureType.config_error,
        )
        message = AirbyteMessageSerializer.dump(traced.as_airbyte_message())
        sys.stdout.write(orjson.dumps(message).decode() + "\n")
        sys.stdout.flush()
        sys.exit(1)
    _launch(source, arguments)
