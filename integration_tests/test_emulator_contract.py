"""Contract tests: the emulator's HTTP responses validate against HubSpot's OpenAPI documents.

Set HUBSPOT_OPENAPI_DIR to the folder with HubSpot's published documents, or see
`integration_tests.openapi.openapi_dir` for the default. Tests that use the `openapi`
fixture are skipped when the documents are absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator

from integration_tests.emulator import (
    NO_SCOPE_TOKEN,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_REFRESH_TOKEN,
    PRIVATE_APP_TOKEN,
    READ_SCOPE,
    UNIQUE_ID_PROPERTY,
    EmulatorServer,
    build_dataset,
)
from integration_tests.emulator.handlers import CRM_ROUTES, handle_request
from integration_tests.emulator.http_types import Request
from integration_tests.openapi import (
    OPENAPI_DIR_ENV,
    REPO_ROOT,
    load_openapi_documents,
    schema_errors,
)

OBJECTS_PATH = "/crm/v3/objects/partner_clients"
BATCH_READ_PATH = f"{OBJECTS_PATH}/batch/read"
PROPERTIES_PATH = "/crm/v3/properties/partner_clients"
TOKEN_PATH = "/oauth/v1/token"
UNKNOWN_IDS = ["999000001", "999000002"]
RATE_LIMIT_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
)
PROPERTY_TYPES = {
    "string",
    "number",
    "bool",
    "enumeration",
    "date",
    "datetime",
    "phone_number",
    "json",
    "object_coordinates",
}
TIMEOUT = 10


# --- OpenAPI documents --------------------------------------------------------------------


def test_openapi_missing_names_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OPENAPI_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=OPENAPI_DIR_ENV):
        load_openapi_documents()


# --- HTTP helpers -------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def batch_body(
    ids: list[Any],
    properties: list[str] | None = None,
    history: list[str] | None = None,
    id_property: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [{"id": value} for value in ids],
        "properties": properties or [],
        "propertiesWithHistory": history or [],
    }
    if id_property is not None:
        body["idProperty"] = id_property
    return body


def post_batch(
    emulator: EmulatorServer,
    body: Any,
    token: str | None = PRIVATE_APP_TOKEN,
    archived: str | None = None,
) -> requests.Response:
    headers = bearer(token) if token else {}
    params = {"archived": archived} if archived is not None else None
    url = f"{emulator.url}{BATCH_READ_PATH}"
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        return requests.post(url, data=body, headers=headers, params=params, timeout=TIMEOUT)
    return requests.post(url, json=body, headers=headers, params=params, timeout=TIMEOUT)


def get(
    emulator: EmulatorServer, path: str, token: str | None = PRIVATE_APP_TOKEN, **params: Any
) -> requests.Response:
    headers = bearer(token) if token else {}
    return requests.get(f"{emulator.url}{path}", headers=headers, params=params, timeout=TIMEOUT)


def refresh_form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "refresh_token",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "refresh_token": OAUTH_REFRESH_TOKEN,
    }
    form.update(overrides)
    return form


def request_token(emulator: EmulatorServer, **overrides: str) -> requests.Response:
    url = f"{emulator.url}{TOKEN_PATH}"
    return requests.post(url, data=refresh_form(**overrides), timeout=TIMEOUT)


# --- batch read: successful responses -------------------------------------------------------


def test_batch_read_all_found_200(emulator: EmulatorServer, openapi: dict) -> None:
    ids = emulator.ids()[:5]
    response = post_batch(emulator, batch_body(ids, ["client_name", "city"]))
    body = response.json()
    assert response.status_code == 200
    assert schema_errors(openapi["objects"], "BatchResponseSimplePublicObject", body) == []
    assert body["status"] == "COMPLETE"
    assert [result["id"] for result in body["results"]] == ids


def test_batch_read_request_body_schema(batch_read_schema: Draft4Validator) -> None:
    body = batch_body(["1000001"], ["city"], ["partner_status"], UNIQUE_ID_PROPERTY)
    errors = [error.message for error in batch_read_schema.iter_errors(body)]
    assert errors == []


def test_batch_read_request_schema_rejects_number(batch_read_schema: Draft4Validator) -> None:
    assert not batch_read_schema.is_valid(batch_body([7]))


def test_batch_read_default_properties(emulator: EmulatorServer) -> None:
    result = post_batch(emulator, batch_body(emulator.ids()[:1])).json()["results"][0]
    assert set(result["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    assert result["properties"]["hs_object_id"] == result["id"]
    assert "propertiesWithHistory" not in result
    assert "archivedAt" not in result


def test_batch_read_ignores_unknown_property(emulator: EmulatorServer) -> None:
    body = batch_body(emulator.ids()[:1], ["city", "no_such_property"])
    result = post_batch(emulator, body).json()["results"][0]
    assert set(result["properties"]) == {"city"}


def test_batch_read_include_defaults_setting(emulator: EmulatorServer) -> None:
    emulator.reset(include_default_properties=True)
    result = post_batch(emulator, batch_body(emulator.ids()[:1], ["city"])).json()["results"][0]
    expected = {"city", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    assert set(result["properties"]) == expected


def test_batch_read_empty_value_as_null(emulator: EmulatorServer) -> None:
    client = next(c for c in emulator.state.dataset.clients if c["properties"]["city"] == "")
    emulator.reset(empty_value_as_null=True)
    result = post_batch(emulator, batch_body([client["id"]], ["city"])).json()["results"][0]
    assert result["properties"]["city"] is None


def test_batch_read_history_newest_first(emulator: EmulatorServer, openapi: dict) -> None:
    ids = emulator.ids()[:10]
    body = post_batch(emulator, batch_body(ids, ["partner_status"], ["partner_status"])).json()
    assert schema_errors(openapi["objects"], "BatchResponseSimplePublicObject", body) == []
    for result in body["results"]:
        history = result["propertiesWithHistory"]["partner_status"]
        timestamps = [entry["timestamp"] for entry in history]
        assert 2 <= len(history) <= 3
        assert timestamps == sorted(timestamps, reverse=True)
        assert history[0]["value"] == result["properties"]["partner_status"]


def test_batch_read_duplicate_inputs(emulator: EmulatorServer) -> None:
    first, second = emulator.ids()[:2]
    response = post_batch(emulator, batch_body([first, second, first, first]))
    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [first, second]


def test_batch_read_id_property(emulator: EmulatorServer) -> None:
    clients = emulator.state.dataset.clients
    active = [client for client in clients if not client["archived"]][:3]
    codes = [client["properties"][UNIQUE_ID_PROPERTY] for client in active]
    body = batch_body(codes, [UNIQUE_ID_PROPERTY], id_property=UNIQUE_ID_PROPERTY)
    results = post_batch(emulator, body).json()["results"]
    assert [result["id"] for result in results] == [client["id"] for client in active]
    assert [result["properties"][UNIQUE_ID_PROPERTY] for result in results] == codes


def test_batch_read_archived_true(emulator: EmulatorServer, openapi: dict) -> None:
    archived_ids = emulator.ids(archived=True)[:3]
    response = post_batch(emulator, batch_body(archived_ids), archived="true")
    body = response.json()
    assert response.status_code == 200
    assert schema_errors(openapi["objects"], "BatchResponseSimplePublicObject", body) == []
    assert all(result["archived"] is True for result in body["results"])
    assert all(result["archivedAt"] for result in body["results"])


def test_batch_read_archived_hidden_by_default(emulator: EmulatorServer) -> None:
    archived_id = emulator.ids(archived=True)[0]
    active_id = emulator.ids()[0]
    response = post_batch(emulator, batch_body([archived_id, active_id]))
    assert response.status_code == 207
    assert response.json()["errors"][0]["context"]["ids"] == [archived_id]


def test_batch_read_active_hidden_when_archived(emulator: EmulatorServer) -> None:
    active_id = emulator.ids()[0]
    response = post_batch(emulator, batch_body([active_id]), archived="true")
    assert response.status_code == 207
    assert response.json()["results"] == []


# --- batch read: missing objects ----------------------------------------------------------


def test_batch_read_partial_207(emulator: EmulatorServer, openapi: dict) -> None:
    found = emulator.ids()[:2]
    response = post_batch(emulator, batch_body([found[0], UNKNOWN_IDS[0], found[1]]))
    body = response.json()
    schema = "BatchResponseSimplePublicObjectWithErrors"
    assert response.status_code == 207
    assert schema_errors(openapi["objects"], schema, body) == []
    assert [result["id"] for result in body["results"]] == found
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": [UNKNOWN_IDS[0]]}


def test_batch_read_all_unknown_207(emulator: EmulatorServer, openapi: dict) -> None:
    response = post_batch(emulator, batch_body(UNKNOWN_IDS))
    body = response.json()
    schema = "BatchResponseSimplePublicObjectWithErrors"
    assert response.status_code == 207
    assert schema_errors(openapi["objects"], schema, body) == []
    assert body["results"] == []
    assert body["errors"][0]["context"]["ids"] == UNKNOWN_IDS


def test_batch_read_all_unknown_404(emulator: EmulatorServer, openapi: dict) -> None:
    emulator.reset(all_unknown_status=404)
    response = post_batch(emulator, batch_body(UNKNOWN_IDS))
    body = response.json()
    assert response.status_code == 404
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["context"] == {"ids": UNKNOWN_IDS}


def test_batch_read_404_setting_partial_still_207(emulator: EmulatorServer) -> None:
    emulator.reset(all_unknown_status=404)
    response = post_batch(emulator, batch_body([emulator.ids()[0], UNKNOWN_IDS[0]]))
    assert response.status_code == 207


# --- batch read: invalid requests ---------------------------------------------------------


def assert_validation_error(response: requests.Response, openapi: dict) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 400
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    return body


def test_batch_read_too_many_inputs(emulator: EmulatorServer, openapi: dict) -> None:
    ids = [str(1000001 + offset) for offset in range(101)]
    body = assert_validation_error(post_batch(emulator, batch_body(ids)), openapi)
    assert "101" in body["message"]
    assert "100" in body["message"]
    assert "inputs" in body["message"]


def test_batch_read_accepts_100_inputs(emulator: EmulatorServer) -> None:
    response = post_batch(emulator, batch_body(emulator.ids()[:100]))
    assert response.status_code == 200


def test_batch_read_history_limit(emulator: EmulatorServer, openapi: dict) -> None:
    body = batch_body(emulator.ids()[:51], history=["partner_status"])
    error = assert_validation_error(post_batch(emulator, body), openapi)
    assert "51" in error["message"]
    assert "50" in error["message"]
    assert "inputs" in error["message"]


def test_batch_read_history_accepts_50(emulator: EmulatorServer) -> None:
    body = batch_body(emulator.ids()[:50], history=["partner_status"])
    assert post_batch(emulator, body).status_code == 200


def test_batch_read_numeric_id(emulator: EmulatorServer, openapi: dict) -> None:
    body = assert_validation_error(post_batch(emulator, batch_body([7])), openapi)
    assert "string" in body["message"]
    assert "007" in body["message"]


def test_batch_read_invalid_json(emulator: EmulatorServer, openapi: dict) -> None:
    body = assert_validation_error(post_batch(emulator, b"{not json"), openapi)
    assert "JSON" in body["message"]


def test_batch_read_missing_inputs(emulator: EmulatorServer, openapi: dict) -> None:
    body = assert_validation_error(post_batch(emulator, {"properties": []}), openapi)
    assert "inputs" in body["message"]


def test_batch_read_inputs_not_list(emulator: EmulatorServer, openapi: dict) -> None:
    body = assert_validation_error(post_batch(emulator, {"inputs": {"id": "1"}}), openapi)
    assert "inputs" in body["message"]


def test_batch_read_non_unique_id_property(emulator: EmulatorServer, openapi: dict) -> None:
    body = batch_body(["Berlin"], id_property="city")
    error = assert_validation_error(post_batch(emulator, body), openapi)
    assert "idProperty" in error["message"]


def test_batch_read_invalid_archived(emulator: EmulatorServer, openapi: dict) -> None:
    response = post_batch(emulator, batch_body(emulator.ids()[:1]), archived="maybe")
    assert_validation_error(response, openapi)


# --- authentication -----------------------------------------------------------------------


def test_auth_missing_token_401(emulator: EmulatorServer, openapi: dict) -> None:
    response = post_batch(emulator, batch_body(emulator.ids()[:1]), token=None)
    body = response.json()
    assert response.status_code == 401
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")


def test_auth_invalid_token_401(emulator: EmulatorServer, openapi: dict) -> None:
    response = post_batch(emulator, batch_body(emulator.ids()[:1]), token="pat-na1-unknown")
    body = response.json()
    assert response.status_code == 401
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["category"] == "INVALID_AUTHENTICATION"


def test_auth_expired_oauth_token_401(emulator: EmulatorServer, openapi: dict) -> None:
    emulator.reset(token_lifetime_seconds=0)
    access_token = request_token(emulator).json()["access_token"]
    response = post_batch(emulator, batch_body(emulator.ids()[:1]), token=access_token)
    body = response.json()
    assert response.status_code == 401
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert "expired" in body["message"]


def test_auth_no_scope_403(emulator: EmulatorServer, openapi: dict) -> None:
    response = post_batch(emulator, batch_body(emulator.ids()[:1]), token=NO_SCOPE_TOKEN)
    body = response.json()
    assert response.status_code == 403
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [READ_SCOPE]


def test_auth_applies_to_list_and_properties(emulator: EmulatorServer) -> None:
    assert get(emulator, OBJECTS_PATH, token=None).status_code == 401
    assert get(emulator, PROPERTIES_PATH, token=None).status_code == 401
    assert get(emulator, OBJECTS_PATH, token=NO_SCOPE_TOKEN).status_code == 403
    assert get(emulator, PROPERTIES_PATH, token=NO_SCOPE_TOKEN).status_code == 403


# --- list ---------------------------------------------------------------------------------


def walk_pages(emulator: EmulatorServer, openapi: dict, **params: Any) -> list[dict[str, Any]]:
    """Follow paging.next.after to the last page, validating every page against the schema."""
    schema = "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"
    results: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(1000):
        page_params = {**params, "after": after} if after else params
        response = get(emulator, OBJECTS_PATH, **page_params)
        assert response.status_code == 200
        assert schema_errors(openapi["objects"], schema, response.json()) == []
        results.extend(response.json()["results"])
        after = response.json().get("paging", {}).get("next", {}).get("after")
        if after is None:
            return results
    raise AssertionError("paging did not end after 1000 pages")


def test_list_walks_all_pages(emulator: EmulatorServer, openapi: dict) -> None:
    results = walk_pages(emulator, openapi, limit=100)
    ids = [result["id"] for result in results]
    assert len(results) == len(emulator.ids())
    assert ids == emulator.ids()


def test_list_archived_pages(emulator: EmulatorServer, openapi: dict) -> None:
    results = walk_pages(emulator, openapi, limit=100, archived="true")
    assert [result["id"] for result in results] == emulator.ids(archived=True)


def test_list_default_limit_and_link(emulator: EmulatorServer) -> None:
    body = get(emulator, OBJECTS_PATH, properties="city").json()
    next_page = body["paging"]["next"]
    assert len(body["results"]) == 10
    assert next_page["after"] == emulator.ids()[10]
    assert next_page["link"].startswith(f"{emulator.url}{OBJECTS_PATH}?")
    assert f"after={next_page['after']}" in next_page["link"]


def test_list_limit_capped_at_100(emulator: EmulatorServer) -> None:
    body = get(emulator, OBJECTS_PATH, limit=500).json()
    assert len(body["results"]) == 100


def test_list_invalid_limit(emulator: EmulatorServer, openapi: dict) -> None:
    assert_validation_error(get(emulator, OBJECTS_PATH, limit="ten"), openapi)


def test_list_selected_properties(emulator: EmulatorServer) -> None:
    body = get(emulator, OBJECTS_PATH, limit=3, properties="city,partner_tier").json()
    assert all(set(r["properties"]) == {"city", "partner_tier"} for r in body["results"])


# --- properties ---------------------------------------------------------------------------


def test_properties_schema(emulator: EmulatorServer, openapi: dict) -> None:
    response = get(emulator, PROPERTIES_PATH)
    body = response.json()
    assert response.status_code == 200
    assert schema_errors(openapi["properties"], "CollectionResponsePropertyNoPaging", body) == []
    assert {prop["dataSensitivity"] for prop in body["results"]} == {"non_sensitive"}


def test_properties_sensitive_levels(emulator: EmulatorServer, openapi: dict) -> None:
    sensitive = get(emulator, PROPERTIES_PATH, dataSensitivity="sensitive").json()
    highly = get(emulator, PROPERTIES_PATH, dataSensitivity="highly_sensitive").json()
    schema = "CollectionResponsePropertyNoPaging"
    assert schema_errors(openapi["properties"], schema, sensitive) == []
    assert [prop["name"] for prop in sensitive["results"]] == ["support_phone"]
    assert [prop["name"] for prop in highly["results"]] == ["tax_identifier"]


def test_properties_unique_value(emulator: EmulatorServer) -> None:
    results = get(emulator, PROPERTIES_PATH).json()["results"]
    unique = [prop["name"] for prop in results if prop["hasUniqueValue"]]
    assert unique == [UNIQUE_ID_PROPERTY]


# --- OAuth --------------------------------------------------------------------------------


def test_token_refresh_200(emulator: EmulatorServer, openapi: dict) -> None:
    response = request_token(emulator)
    body = response.json()
    assert response.status_code == 200
    assert schema_errors(openapi["oauth"], "TokenResponseIF", body) == []
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert body["access_token"][0].isalpha()


def test_token_lifetime_setting(emulator: EmulatorServer) -> None:
    emulator.reset(token_lifetime_seconds=60)
    assert request_token(emulator).json()["expires_in"] == 60


def test_token_access_token_reads(emulator: EmulatorServer) -> None:
    access_token = request_token(emulator).json()["access_token"]
    response = post_batch(emulator, batch_body(emulator.ids()[:1]), token=access_token)
    assert response.status_code == 200
    assert emulator.requests()[-1]["credential"] == "oauth"


@pytest.mark.parametrize(
    ("field", "status"),
    [
        ("refresh_token", "BAD_REFRESH_TOKEN"),
        ("client_id", "BAD_CLIENT_ID"),
        ("client_secret", "BAD_CLIENT_SECRET"),
    ],
)
def test_token_bad_field_400(
    emulator: EmulatorServer, openapi: dict, field: str, status: str
) -> None:
    response = request_token(emulator, **{field: "wrong-value"})
    body = response.json()
    assert response.status_code == 400
    assert schema_errors(openapi["oauth"], "Error", body) == []
    assert body["status"] == status
    assert body["message"]


def test_token_bad_grant_type_400(emulator: EmulatorServer) -> None:
    response = request_token(emulator, grant_type="authorization_code")
    assert response.status_code == 400


# --- rate limits, errors, latency ---------------------------------------------------------


def test_rate_limit_headers_present(emulator: EmulatorServer) -> None:
    responses = [
        post_batch(emulator, batch_body(emulator.ids()[:1])),
        get(emulator, OBJECTS_PATH),
        get(emulator, PROPERTIES_PATH),
        post_batch(emulator, batch_body(emulator.ids()[:1]), token=None),
    ]
    for response in responses:
        missing = [name for name in RATE_LIMIT_HEADERS if name not in response.headers]
        assert missing == [], f"{response.request.method} {response.url} lacks {missing}"
        assert response.headers["Content-Type"].startswith("application/json")


def test_rate_limit_header_values(emulator: EmulatorServer) -> None:
    first = get(emulator, OBJECTS_PATH).headers
    second = get(emulator, OBJECTS_PATH).headers
    assert first["X-HubSpot-RateLimit-Max"] == "190"
    assert first["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first["X-HubSpot-RateLimit-Daily"] == "1000000"
    assert first["X-HubSpot-RateLimit-Daily-Remaining"] == "999999"
    assert second["X-HubSpot-RateLimit-Daily-Remaining"] == "999998"
    assert second["X-HubSpot-RateLimit-Remaining"] == "188"


def test_rate_limit_429_when_exhausted(emulator: EmulatorServer, openapi: dict) -> None:
    emulator.reset(rate_limit_max=2)
    statuses = [get(emulator, OBJECTS_PATH).status_code for _ in range(3)]
    rejected = get(emulator, OBJECTS_PATH)
    body = rejected.json()
    assert statuses == [200, 200, 429]
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert rejected.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_rate_limit_daily_429(emulator: EmulatorServer) -> None:
    emulator.reset(rate_limit_daily=1)
    statuses = [get(emulator, OBJECTS_PATH).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_unknown_path_404(emulator: EmulatorServer, openapi: dict) -> None:
    response = get(emulator, "/crm/v3/objects/unknown_things")
    body = response.json()
    assert response.status_code == 404
    assert schema_errors(openapi["objects"], "Error", body) == []
    assert body["status"] == "error"


def test_unknown_path_outside_crm_404(emulator: EmulatorServer) -> None:
    response = requests.get(f"{emulator.url}/nothing/here", timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"


def test_latency_setting_delays(emulator: EmulatorServer) -> None:
    emulator.reset(latency_ms=300)
    started = time.monotonic()
    get(emulator, OBJECTS_PATH, limit=1)
    assert time.monotonic() - started >= 0.3


# --- admin endpoints and request log ------------------------------------------------------


def test_reset_over_http(emulator: EmulatorServer) -> None:
    get(emulator, OBJECTS_PATH)
    url = f"{emulator.url}/_emulator/reset"
    response = requests.post(url, json={"all_unknown_status": 404}, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["settings"]["all_unknown_status"] == 404
    assert emulator.requests() == []
    assert post_batch(emulator, batch_body(UNKNOWN_IDS)).status_code == 404


def test_reset_rejects_unknown_setting(emulator: EmulatorServer) -> None:
    url = f"{emulator.url}/_emulator/reset"
    response = requests.post(url, json={"no_such_setting": 1}, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "no_such_setting" in response.json()["message"]


def test_ids_endpoint(emulator: EmulatorServer) -> None:
    url = f"{emulator.url}/_emulator/ids"
    active = requests.get(url, params={"archived": "false"}, timeout=TIMEOUT).json()["ids"]
    archived = requests.get(url, params={"archived": "true"}, timeout=TIMEOUT).json()["ids"]
    assert active == emulator.ids()
    assert archived == emulator.ids(archived=True)
    assert len(active) + len(archived) == 3000


def test_requests_endpoint(emulator: EmulatorServer) -> None:
    get(emulator, OBJECTS_PATH)
    url = f"{emulator.url}/_emulator/requests"
    logged = requests.get(url, timeout=TIMEOUT).json()["requests"]
    assert [entry["path"] for entry in logged] == [OBJECTS_PATH]


def test_log_entry_fields(emulator: EmulatorServer) -> None:
    body = batch_body(emulator.ids()[:1], ["city"])
    post_batch(emulator, body, archived="true")
    entry = emulator.requests()[-1]
    assert entry["method"] == "POST"
    assert entry["path"] == BATCH_READ_PATH
    assert entry["query"] == {"archived": ["true"]}
    assert entry["body"] == body
    assert entry["status"] == 207
    assert entry["credential"] == "private_app"


def test_log_credential_kinds(emulator: EmulatorServer) -> None:
    for token in (None, "pat-na1-unknown", NO_SCOPE_TOKEN, PRIVATE_APP_TOKEN):
        get(emulator, OBJECTS_PATH, token=token)
    kinds = [entry["credential"] for entry in emulator.requests()]
    assert kinds == ["none", "invalid", "no_scope", "private_app"]


def test_log_hides_secrets(emulator: EmulatorServer) -> None:
    access_token = request_token(emulator).json()["access_token"]
    request_token(emulator, refresh_token="wrong-refresh-token")
    post_batch(emulator, batch_body(emulator.ids()[:1]), token=access_token)
    post_batch(emulator, batch_body(emulator.ids()[:1]), token=PRIVATE_APP_TOKEN)
    get(emulator, OBJECTS_PATH, token=NO_SCOPE_TOKEN)
    log_text = json.dumps(emulator.requests())
    secrets = [
        access_token,
        PRIVATE_APP_TOKEN,
        NO_SCOPE_TOKEN,
        OAUTH_CLIENT_SECRET,
        OAUTH_REFRESH_TOKEN,
        "wrong-refresh-token",
    ]
    for secret in secrets:
        assert secret not in log_text, f"the request log contains {secret[:12]}..."
    token_entry = emulator.requests()[0]
    assert token_entry["body"]["client_secret"] == ["***"]
    assert token_entry["body"]["refresh_token"] == ["***"]


def test_requests_returns_copy(emulator: EmulatorServer) -> None:
    get(emulator, OBJECTS_PATH)
    emulator.requests()[0]["status"] = 999
    assert emulator.requests()[0]["status"] == 200


# --- endpoint logic without HTTP ----------------------------------------------------------


def test_handlers_run_without_http(emulator: EmulatorServer) -> None:
    body = json.dumps(batch_body(emulator.ids()[:2])).encode()
    request = Request(
        method="POST",
        path=BATCH_READ_PATH,
        headers={"authorization": f"Bearer {PRIVATE_APP_TOKEN}"},
        body=body,
    )
    response = handle_request(emulator.state, request)
    assert response.status == 200
    assert len(response.body["results"]) == 2
    assert response.headers["X-HubSpot-RateLimit-Max"] == "190"


def test_handler_failure_returns_500(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(state: object, request: Request) -> None:
        raise RuntimeError("endpoint failure for the test")

    monkeypatch.setitem(CRM_ROUTES, ("GET", OBJECTS_PATH), fail)
    response = get(emulator, OBJECTS_PATH)
    assert response.status_code == 500
    assert response.json()["category"] == "INTERNAL_ERROR"
    assert emulator.requests()[-1]["status"] == 500


def test_chunked_request_body(emulator: EmulatorServer) -> None:
    payload = json.dumps(batch_body(emulator.ids()[:2])).encode()
    chunks = (payload[start : start + 7] for start in range(0, len(payload), 7))
    url = f"{emulator.url}{BATCH_READ_PATH}"
    headers = {**bearer(PRIVATE_APP_TOKEN), "Content-Type": "application/json"}
    response = requests.post(url, data=chunks, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200
    assert emulator.requests()[-1]["body"] == batch_body(emulator.ids()[:2])


# --- data set -----------------------------------------------------------------------------


def dataset_digest(count: int) -> str:
    dataset = build_dataset(count)
    payload = {"properties": dataset.properties, "clients": dataset.clients}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def test_dataset_deterministic() -> None:
    assert build_dataset(500) == build_dataset(500)


def test_dataset_same_in_other_process() -> None:
    script = (
        "from integration_tests.test_emulator_contract import dataset_digest; "
        "print(dataset_digest(500))"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "Asia/Tokyo"}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == dataset_digest(500)


def test_dataset_prefix_stable() -> None:
    small = build_dataset(50).clients
    large = build_dataset(3000).clients[:50]
    assert [c["properties"] for c in small] == [c["properties"] for c in large]


def test_dataset_covers_property_types() -> None:
    properties = build_dataset(10).properties
    field_types = {(prop["type"], prop["fieldType"]) for prop in properties}
    assert {prop["type"] for prop in properties} == PROPERTY_TYPES
    assert ("enumeration", "checkbox") in field_types
    assert ("enumeration", "select") in field_types


def test_dataset_default_and_special_properties() -> None:
    by_name = {prop["name"]: prop for prop in build_dataset(10).properties}
    assert {"hs_object_id", "hs_createdate", "hs_lastmodifieddate"} <= set(by_name)
    assert by_name[UNIQUE_ID_PROPERTY]["hasUniqueValue"] is True
    assert by_name["support_phone"]["dataSensitivity"] == "sensitive"
    assert by_name["tax_identifier"]["dataSensitivity"] == "highly_sensitive"


def test_dataset_values_are_strings() -> None:
    clients = build_dataset(3000).clients
    values = [value for client in clients for value in client["properties"].values()]
    assert all(isinstance(value, str) for value in values)
    assert "" in values


def test_dataset_value_formats() -> None:
    clients = build_dataset(3000).clients
    dates = {c["properties"]["contract_start_date"] for c in clients} - {""}
    datetimes = {c["properties"]["last_review_at"] for c in clients} - {""}
    balances = {c["properties"]["account_balance"] for c in clients} - {""}
    services = {c["properties"]["service_lines"] for c in clients}
    assert any(len(value) == 10 and value[4] == "-" for value in dates)
    assert any(value.isdigit() and int(value) % 86400000 == 0 for value in dates)
    assert any(value.endswith("Z") for value in datetimes)
    assert any(value.isdigit() for value in datetimes)
    assert any(value.startswith("-") for value in balances)
    assert any("." in value for value in balances)
    assert any(";" in value for value in services)
    assert {c["properties"]["is_active"] for c in clients} == {"true", "false"}


def test_dataset_non_ascii_text() -> None:
    clients = build_dataset(3000).clients
    text = " ".join(c["properties"]["client_name"] + c["properties"]["city"] for c in clients)
    for sample in ("Zürich", "東京", "São Paulo", "🚀"):
        assert sample in text, f"{sample} missing from the data set"


def test_dataset_ids_and_codes() -> None:
    clients = build_dataset(3000).clients
    ids = [client["id"] for client in clients]
    codes = [client["properties"][UNIQUE_ID_PROPERTY] for client in clients]
    assert ids[0] == "1000001"
    assert all(value.isdigit() for value in ids)
    assert [int(value) for value in ids] == sorted(int(value) for value in ids)
    assert len(set(codes)) == len(codes)
    assert codes[0] == "PC-000001"


def test_dataset_archived_share() -> None:
    clients = build_dataset(3000).clients
    archived = [client for client in clients if client["archived"]]
    assert len(archived) == 150
    assert all(client["archivedAt"] for client in archived)
    assert all("archivedAt" not in client for client in clients if not client["archived"])


def test_dataset_history_newest_first() -> None:
    for client in build_dataset(300).clients:
        for name, history in client["propertiesWithHistory"].items():
            timestamps = [entry["timestamp"] for entry in history]
            assert 2 <= len(history) <= 3
            assert timestamps == sorted(timestamps, reverse=True)
            assert history[0]["value"] == client["properties"][name]


# --- command line -------------------------------------------------------------------------


def test_main_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "integration_tests.emulator", "--port", "0", "--count", "20"]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = json.loads(process.stdout.readline())["url"]
        response = requests.get(
            f"{url}{OBJECTS_PATH}", headers=bearer(PRIVATE_APP_TOKEN), timeout=10
        )
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert url.startswith("http://127.0.0.1:")
    assert response.status_code == 200
    assert returncode == 0
