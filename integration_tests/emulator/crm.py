"""CRM v3 endpoints for partner clients: batch read, list and the property definitions.

Each endpoint is a plain function of (EmulatorState, Request) that returns a Response, or
raises RequestError for an invalid request, so it runs without HTTP. Authentication and
rate limits are checked before, in handlers.py.
"""

from __future__ import annotations

import json
import time
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .data import DEFAULT_PROPERTY_NAMES, history_for, iso_timestamp
from .http_types import Request, Response, error_response, reject, too_many_inputs_message
from .state import EmulatorState

MAX_BATCH_INPUTS = 100
MAX_BATCH_INPUTS_WITH_HISTORY = 50
DEFAULT_PAGE_LIMIT = 10
MAX_PAGE_LIMIT = 100
NOT_FOUND_MESSAGE = (
    "Could not get some PARTNER_CLIENT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)
DATA_SENSITIVITY_LEVELS = ("non_sensitive", "sensitive", "highly_sensitive")


@dataclass(frozen=True)
class BatchReadInput:
    """A validated batch-read request body and its `archived` query parameter."""

    ids: list[str]
    properties: list[str]
    history_properties: list[str]
    id_property: str | None
    archived: bool


def parse_archived(request: Request) -> bool:
    """Parse the boolean `archived` query parameter, false when absent."""
    value = request.query_value("archived")
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise reject(f"Invalid archived value {value!r}: use true or false.")


def select_property_names(state: EmulatorState, requested: list[str]) -> list[str]:
    """Return the defined properties among `requested`, or the defaults when none is requested.

    Unknown names are ignored, as HubSpot documents. The defaults are hs_createdate,
    hs_lastmodifieddate and hs_object_id. HubSpot also adds them to a non-empty request,
    which the emulator does only with the include_default_properties setting.
    """
    if not requested:
        return list(DEFAULT_PROPERTY_NAMES)
    names = [name for name in requested if name in state.properties_by_name]
    if state.settings.include_default_properties:
        names.extend(DEFAULT_PROPERTY_NAMES)
    return list(dict.fromkeys(names))


def render_object(
    state: EmulatorState,
    client: dict[str, Any],
    property_names: list[str],
    history_names: list[str],
) -> dict[str, Any]:
    """Build a `SimplePublicObject` with the selected properties.

    propertiesWithHistory is present only when `history_names` is not empty.
    """
    as_null = state.settings.empty_value_as_null
    # NOTE: HubSpot requires a sensitive-data scope to read the values of sensitive
    # properties. The emulator returns them to any token with the read scope.
    properties: dict[str, str | None] = {}
    for name in property_names:
        value = client["properties"][name]
        properties[name] = None if value == "" and as_null else value
    rendered: dict[str, Any] = {
        "id": client["id"],
        "properties": properties,
        "createdAt": client["createdAt"],
        "updatedAt": client["updatedAt"],
        "archived": client["archived"],
    }
    if client["archived"]:
        rendered["archivedAt"] = client["archivedAt"]
    if history_names:
        known = [name for name in history_names if name in state.properties_by_name]
        rendered["propertiesWithHistory"] = {name: history_for(client, name) for name in known}
    return rendered


def _now_iso() -> str:
    return iso_timestamp(int(time.time() * 1000))


def _decode_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise reject(
            f"Invalid request body: not valid JSON ({error}). Send a JSON object such as "
            '{"inputs": [{"id": "1000001"}], "properties": [], "propertiesWithHistory": []}.'
        ) from None
    if not isinstance(body, dict):
        raise reject(f"Invalid request body: expected a JSON object, got {type(body).__name__}.")
    return body


def _string_list(body: dict[str, Any], field: str) -> list[str]:
    """Read an optional list of strings from the body. A null or absent field means []."""
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise reject(f"Invalid {field}: expected a list of property names as strings.")
    return value


def _input_list(body: dict[str, Any]) -> list[Any]:
    inputs = body.get("inputs")
    if isinstance(inputs, list):
        return inputs
    problem = "missing" if inputs is None else f"a {type(inputs).__name__}, not a list"
    raise reject(f'Invalid inputs: the field is {problem}. Send "inputs": [{{"id": "1000001"}}].')


def _check_input_count(count: int, with_history: bool) -> None:
    """Reject more than 100 inputs, or more than 50 when propertiesWithHistory is non-empty."""
    if count > MAX_BATCH_INPUTS:
        raise reject(too_many_inputs_message(count, MAX_BATCH_INPUTS))
    if with_history and count > MAX_BATCH_INPUTS_WITH_HISTORY:
        raise reject(
            f"Too many inputs for a batch read with propertiesWithHistory: the request contains "
            f"{count} inputs, but the maximum is {MAX_BATCH_INPUTS_WITH_HISTORY} inputs "
            "when propertiesWithHistory is not empty."
        )


def _input_ids(inputs: list[Any]) -> list[str]:
    """Read each input's `id`, which must be a JSON string because numbers lose leading zeros."""
    ids: list[str] = []
    for position, item in enumerate(inputs):
        if not isinstance(item, dict) or "id" not in item:
            raise reject(
                f"Invalid inputs[{position}]: expected an object like "
                f'{{"id": "1000001"}}, got {json.dumps(item)}.'
            )
        value = item["id"]
        if not isinstance(value, str):
            raise reject(
                f"Invalid inputs[{position}].id: ids must be JSON strings, got {json.dumps(value)} "
                f'(a JSON {type(value).__name__}). Send it as "{value}". A number cannot keep '
                'leading zeros, so an id like "007" sent as 7 does not match.'
            )
        ids.append(value)
    return ids


def _id_property(state: EmulatorState, body: dict[str, Any]) -> str | None:
    """Read `idProperty`, which must name a property with hasUniqueValue true. "" means none."""
    value = body.get("idProperty")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in state.unique_property_names:
        unique = ", ".join(sorted(state.unique_property_names))
        raise reject(
            f"Invalid idProperty {json.dumps(value)}: it is not a unique-value property of "
            f"PARTNER_CLIENT. Use a property with hasUniqueValue true: {unique}."
        )
    return value


def parse_batch_read(state: EmulatorState, request: Request) -> BatchReadInput:
    """Validate a batch-read request, or raise RequestError with HubSpot's 400 VALIDATION_ERROR."""
    archived = parse_archived(request)
    body = _decode_json_object(request.body)
    inputs = _input_list(body)
    properties = _string_list(body, "properties")
    history = _string_list(body, "propertiesWithHistory")
    _check_input_count(len(inputs), with_history=bool(history))
    ids = _input_ids(inputs)
    return BatchReadInput(ids, properties, history, _id_property(state, body), archived)


def batch_read(state: EmulatorState, request: Request) -> Response:
    """Serve POST /crm/v3/objects/partner_clients/batch/read.

    Sends 200 when every input is found, 207 with an OBJECT_NOT_FOUND error listing the
    missing inputs otherwise, or 404 when none is found and all_unknown_status is 404.
    Duplicate inputs return the object once.
    """
    started_at = _now_iso()
    parsed = parse_batch_read(state, request)
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for key in dict.fromkeys(parsed.ids):
        client = state.find_client(parsed.archived, parsed.id_property, key)
        if client is None:
            missing.append(key)
        else:
            found[client["id"]] = client
    if missing and not found and state.settings.all_unknown_status == 404:
        return error_response(404, NOT_FOUND_MESSAGE, "OBJECT_NOT_FOUND", context={"ids": missing})
    names = select_property_names(state, parsed.properties)
    history = parsed.history_properties
    results = [render_object(state, client, names, history) for client in found.values()]
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started_at}
    if missing:
        body["numErrors"] = 1
        body["errors"] = [_not_found_error(missing)]
    body["completedAt"] = _now_iso()
    return Response(207 if missing else 200, body)


def _not_found_error(missing: list[str]) -> dict[str, Any]:
    """Build the `StandardError` that a 207 batch read carries for the inputs not found."""
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": NOT_FOUND_MESSAGE,
        "context": {"ids": missing},
        "errors": [],
        "links": {},
    }


def _page_limit(request: Request) -> int:
    """Parse `limit` (default 10). Values above 100 are lowered to 100."""
    value = request.query_value("limit")
    if value is None or value == "":
        return DEFAULT_PAGE_LIMIT
    if not value.isdigit() or int(value) < 1:
        raise reject(f"Invalid limit {value!r}: use an integer from 1 to {MAX_PAGE_LIMIT}.")
    # NOTE: HubSpot's documents give no maximum, so 100 is assumed. Larger limits are
    # lowered to it rather than rejected.
    return min(int(value), MAX_PAGE_LIMIT)


def _page_start(request: Request, object_ids: list[int]) -> int:
    """Return the list position of the `after` cursor, which is the id of the next object."""
    after = request.query_value("after")
    if after is None or after == "":
        return 0
    if not after.isdigit():
        raise reject(
            f"Invalid after {after!r}: use the paging.next.after value of the previous page."
        )
    return bisect_left(object_ids, int(after))


def list_objects(state: EmulatorState, request: Request) -> Response:
    """Serve GET /crm/v3/objects/partner_clients, one page in id order.

    `paging.next` (with `after` and `link`) is present while more objects remain.
    """
    archived = parse_archived(request)
    limit = _page_limit(request)
    clients = state.clients_by_archived[archived]
    start = _page_start(request, state.object_ids_by_archived[archived])
    page = clients[start : start + limit]
    names = select_property_names(state, request.query_list("properties"))
    history = request.query_list("propertiesWithHistory")
    body: dict[str, Any] = {"results": [render_object(state, c, names, history) for c in page]}
    if start + limit < len(clients):
        after = clients[start + limit]["id"]
        query = {key: values[-1] for key, values in request.query.items() if key != "after"}
        query["after"] = after
        link = f"{request.base_url}{request.path}?{urlencode(query)}"
        body["paging"] = {"next": {"after": after, "link": link}}
    return Response(200, body)


def list_properties(state: EmulatorState, request: Request) -> Response:
    """Serve GET /crm/v3/properties/partner_clients.

    As HubSpot documents, only properties of the requested `dataSensitivity` level are
    returned, and the default level is non_sensitive. `properties` narrows the result to
    the comma-separated names given.
    """
    archived = parse_archived(request)
    sensitivity = request.query_value("dataSensitivity") or "non_sensitive"
    if sensitivity not in DATA_SENSITIVITY_LEVELS:
        levels = ", ".join(DATA_SENSITIVITY_LEVELS)
        raise reject(f"Invalid dataSensitivity {sensitivity!r}: use one of {levels}.")
    requested_names = set(request.query_list("properties"))
    results = [
        prop
        for prop in state.dataset.properties
        if prop["archived"] == archived
        and prop["dataSensitivity"] == sensitivity
        and (not requested_names or prop["name"] in requested_names)
    ]
    return Response(200, {"results": results})
