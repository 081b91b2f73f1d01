"""Console entry point `source-partner-clients`: spec, check, discover and read."""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import PRINT_BUFFER
from airbyte_cdk.models import AirbyteMessageSerializer, ConnectorSpecification, FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.config_validation import validate_config
from source_partner_clients.source import SourcePartnerClients

# CPython 3.11.7 and older can raise "SystemError: AST constructor recursion depth mismatch"
# when two threads build AST objects at once (CPython issue 106905, fixed in 3.11.8). The CDK
# parses every interpolated string with ast.literal_eval, from every worker thread.
FIXED_AST_VERSION = (3, 11, 8)


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


class PartnerClientsEntrypoint(AirbyteEntrypoint):
    """AirbyteEntrypoint whose config validation names each wrong field and never a secret."""

    @staticmethod
    def validate_connection(source_spec: ConnectorSpecification, config: Any) -> None:
        validate_config(config, source_spec.connectionSpecification)


def _launch(source: SourcePartnerClients, args: list[str]) -> None:
    """Run one command and write each message as one line, as airbyte_cdk.entrypoint.launch does."""
    entrypoint = PartnerClientsEntrypoint(source)
    parsed_args = entrypoint.parse_args(args)
    # PRINT_BUFFER serializes lines printed by worker threads with the main thread's messages.
    with PRINT_BUFFER:
        for message in entrypoint.run(parsed_args):
            print(f"{message}\n", end="")  # noqa: T201 - the Airbyte protocol is stdout


def _build_source(args: list[str]) -> SourcePartnerClients:
    catalog_path = AirbyteEntrypoint.extract_catalog(args)
    config_path = AirbyteEntrypoint.extract_config(args)
    state_path = AirbyteEntrypoint.extract_state(args)
    return SourcePartnerClients(
        catalog=SourcePartnerClients.read_catalog(catalog_path) if catalog_path else None,
        config=SourcePartnerClients.read_config(config_path) if config_path else None,
        state=SourcePartnerClients.read_state(state_path) if state_path else None,
        config_path=config_path,
    )


def run(args: list[str] | None = None) -> None:
    """Run one Airbyte command; the arguments default to the process arguments."""
    serialize_ast_parsing()
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
