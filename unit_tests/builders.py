"""Builders for configs, catalogs and HubSpot batch read responses used by unit tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airbyte_cdk.models import ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.mock_http import HttpRequest, HttpResponse

API_BASE_URL = "https://api.hubapi.com"
BATCH_READ_URL = f"{API_BASE_URL}/crm/v3/objects/partner_clients/batch/read"
PROPERTIES_URL = f"{API_BASE_URL}/crm/v3/properties/partner_clients"
ACCESS_TOKEN = "pat-na1-unit-test-token"
NOT_FOUND_MESSAGE = (
    "Could not get some PARTNER_CLIENT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)


def config(ids: Sequence[Any], **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "credentials": {
            "credentials_title": "Private App Credentials",
            "access_token": ACCESS_TOKEN,
        },
        "partner_client_ids": list(ids),
    }
    return {**base, **overrides}


def catalog() -> ConfiguredAirbyteCatalog:
    return CatalogBuilder().with_stream("partner_clients", SyncMode.full_refresh).build()


def batch_request(ids: Sequence[str], archived: bool = False, **body_fields: Any) -> HttpRequest:
    body: dict[str, Any] = {
        "inputs": [{"id": i} for i in ids],
        "properties": [],
        "propertiesWithHistory": [],
        **body_fields,
    }
    return HttpRequest(
        BATCH_READ_URL,
        query_params={"archived": "true" if archived else "false"},
        body=body,
    )


def partner_client(object_id: str, **properties: str) -> dict[str, Any]:
    return {
        "id": object_id,
        "properties": {"hs_object_id": object_id, **properties},
        "createdAt": "2024-01-02T03:04:05.678Z",
        "updatedAt": "2024-02-03T04:05:06.789Z",
        "archived": False,
    }


def not_found_error(ids: Iterable[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": NOT_FOUND_MESSAGE,
        "context": {"ids": list(ids)},
        "errors": [],
        "links": {},
    }


def batch_response(
    results: Sequence[Mapping[str, Any]],
    errors: Sequence[Mapping[str, Any]] = (),
    status_code: int | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": list(results),
        "startedAt": "2024-05-06T07:08:09.000Z",
        "completedAt": "2024-05-06T07:08:09.500Z",
    }
    if errors:
        body["errors"] = list(errors)
        body["numErrors"] = len(errors)
    code = status_code or (207 if errors else 200)
    return HttpResponse(json.dumps(body), status_code=code)


def json_response(body: Mapping[str, Any], status_code: int) -> HttpResponse:
    return HttpResponse(json.dumps(body), status_code=status_code)


def properties_request(data_sensitivity: str | None = None) -> HttpRequest:
    query = {"dataSensitivity": data_sensitivity} if data_sensitivity else None
    return HttpRequest(PROPERTIES_URL, query_params=query)


def property_definition(name: str, property_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.replace("_", " ").title(),
        "type": property_type,
        "fieldType": "text",
        "groupName": "partner_client_information",
        "description": "",
        "options": [],
        "dataSensitivity": "non_sensitive",
        **fields,
    }


def properties_response(definitions: Sequence[Mapping[str, Any]] = ()) -> HttpResponse:
    return HttpResponse(json.dumps({"results": list(definitions)}), status_code=200)
