"""The partner_clients schema, built from the portal's property definitions on every discover."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.requesters.requester import Requester
from airbyte_cdk.sources.declarative.schema.schema_loader import SchemaLoader
from airbyte_cdk.sources.types import Config
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.error_handling import decode_json_object
from source_partner_clients.property_types import (
    Converter,
    build_converters,
    build_stream_schema,
    select_properties,
    untyped_stream_schema,
)

LOGGER = logging.getLogger("airbyte")
# Key, inside each property's schema, naming the HubSpot type that its converter is chosen by.
HUBSPOT_TYPE_KEY = "hubspot_type"
SENSITIVE_LEVELS = ("sensitive", "highly_sensitive")
STREAM_NAME = "partner_clients"
# Schemas of the configured catalog by stream name, set by the source for `read`. When the
# properties API fails during a read, the catalog from the last discover still names the
# properties and their types, so the read does not fall back to HubSpot's default properties.
CONFIGURED_SCHEMAS: dict[str, Mapping[str, Any]] = {}


@dataclass
class PartnerClientSchemaLoader(SchemaLoader):
    """Build the record schema from GET /crm/v3/properties/partner_clients.

    Without configured properties the schema lists every non-sensitive property (reading
    sensitive values needs extra scopes); with them, the configured properties that exist,
    sensitive ones included. Configured names the portal does not have are named in one warning.
    When the properties API fails (a 403 for a missing scope, for example), the schema falls back
    to property values as strings, and the read emits them unchanged.
    """

    requester: Requester
    config: Config
    parameters: InitVar[Mapping[str, Any]]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._parameters = parameters

    def get_json_schema(self) -> Mapping[str, Any]:
        configured = list(self.config.get("properties") or [])
        cast_values = self.config.get("cast_property_values", True)
        try:
            definitions = self._fetch_definitions(include_sensitive=bool(configured))
        except AirbyteTracedException as error:
            # A 403 (no scope for property definitions) or a failure outside the configuration
            # falls back to another schema. Any other config error, such as bad credentials,
            # fails the command.
            message = error.message or ""
            if error.failure_type == FailureType.config_error and "HTTP 403" not in message:
                raise
            catalog_schema = CONFIGURED_SCHEMAS.get(STREAM_NAME)
            if catalog_schema and requested_property_names(catalog_schema):
                LOGGER.warning(
                    "Could not read the partner_clients property definitions (%s); reading "
                    "the properties and types of the configured catalog instead.",
                    message,
                )
                return catalog_schema
            LOGGER.warning(
                "Could not read the partner_clients property definitions, so property values "
                "are emitted as strings: %s",
                error.message,
            )
            return untyped_stream_schema(_names_with_id_property(configured, self.config))
        names, unknown = select_properties(definitions, configured)
        if unknown:
            LOGGER.warning(
                "The portal has no partner_clients properties named %s; they are left out of "
                "requests. Check the properties setting.",
                ", ".join(unknown),
            )
        by_name = {definition["name"]: definition for definition in definitions}
        history_names = dict.fromkeys(self.config.get("properties_with_history") or [])
        unknown_history = [name for name in history_names if name not in by_name]
        if unknown_history:
            LOGGER.warning(
                "The portal has no partner_clients properties named %s, so properties_with_history "
                "reads no history for them. Check the properties_with_history setting.",
                ", ".join(unknown_history),
            )
        selected = [
            by_name[name] for name in _names_with_id_property(names, self.config) if name in by_name
        ]
        if not cast_values:
            return untyped_stream_schema(definition["name"] for definition in selected)
        schema = build_stream_schema(selected)
        for definition in selected:
            property_schema = schema["properties"]["properties"]["properties"][definition["name"]]
            property_schema[HUBSPOT_TYPE_KEY] = definition.get("type") or "string"
        return schema

    def _fetch_definitions(self, include_sensitive: bool) -> list[Mapping[str, Any]]:
        levels = [None, *SENSITIVE_LEVELS] if include_sensitive else [None]
        definitions: dict[str, Mapping[str, Any]] = {}
        for level in levels:
            params = {"dataSensitivity": level} if level else {}
            response = self.requester.send_request(request_params=params)
            if response is None or not response.ok:
                status = response.status_code if response is not None else "no response"
                raise AirbyteTracedException(
                    message=f"The properties API returned HTTP {status}.",
                    internal_message=f"dataSensitivity={level}",
                )
            body = decode_json_object(response)
            if body is None:
                raise AirbyteTracedException(
                    message="The properties API returned a body that is not JSON.",
                    internal_message=f"dataSensitivity={level}",
                )
            for definition in body.get("results") or []:
                if isinstance(definition, Mapping) and isinstance(definition.get("name"), str):
                    definitions.setdefault(definition["name"], definition)
        LOGGER.info("Read %d partner_clients property definitions.", len(definitions))
        return list(definitions.values())


def _names_with_id_property(names: Sequence[str], config: Config) -> list[str]:
    id_property = config.get("id_property")
    if id_property and id_property not in names:
        return [*names, id_property]
    return list(names)


def requested_property_names(schema: Mapping[str, Any]) -> list[str]:
    """Return the property names a schema from PartnerClientSchemaLoader describes."""
    properties = schema.get("properties", {}).get("properties", {})
    return list(properties.get("properties", {}) or {})


def converters_from_schema(schema: Mapping[str, Any]) -> dict[str, Converter]:
    """Return one converter per property that the schema types, chosen by its HubSpot type."""
    properties = schema.get("properties", {}).get("properties", {}).get("properties", {}) or {}
    definitions = [
        {"name": name, "type": property_schema[HUBSPOT_TYPE_KEY]}
        for name, property_schema in properties.items()
        if HUBSPOT_TYPE_KEY in property_schema
    ]
    return build_converters(definitions)
