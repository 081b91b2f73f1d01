"""Per-field configuration messages, before any request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.config_validation import config_problems, validate_config
from source_partner_clients.source import SourcePartnerClients

MANIFEST = Path(__file__).parent.parent / "source_partner_clients" / "manifest.yaml"
SPEC = yaml.safe_load(MANIFEST.read_text())["spec"]["connection_specification"]
TOKEN = "pat-na1-secret-value-123"


def _config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "credentials": {"credentials_title": "Private App Credentials", "access_token": TOKEN},
        "partner_client_ids": ["1"],
    }
    return {**base, **overrides}


def test_valid_config_passes() -> None:
    assert list(config_problems(_config(), SPEC)) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"partner_client_ids": []}, "partner_client_ids must contain at least one"),
        ({"partner_client_ids": ["", " "]}, "only blank entries"),
        ({"partner_client_ids": ["1", None]}, "partner_client_ids[1] must be text"),
        ({"partner_client_ids": ["1", {"id": 2}]}, "partner_client_ids[1] must be text"),
        ({"batch_size": 0}, "batch_size must be at least 1 (got 0)"),
        ({"batch_size": 101}, "batch_size must be at most 100 (got 101)"),
        ({"batch_size": "ten"}, "batch_size must be a whole number (got 'ten')"),
        ({"api_base_url": "http://api.example.com"}, "plain http is accepted only for a loopback"),
        ({"api_base_url": "ftp://x"}, "api_base_url must start with https://"),
        ({"num_workers": 21}, "num_workers must be at most 20"),
        ({"credentials": {"credentials_title": "API Key"}}, "must be 'Private App Credentials'"),
        (
            {"credentials": {"credentials_title": "OAuth Credentials", "client_id": "c"}},
            "missing or not text: client_secret, refresh_token",
        ),
    ],
    ids=[
        "no-ids",
        "blank-ids",
        "null-id",
        "object-id",
        "batch-size-zero",
        "batch-size-101",
        "batch-size-text",
        "http-remote",
        "other-scheme",
        "too-many-workers",
        "unknown-credentials",
        "oauth-missing-fields",
    ],
)
def test_problem_is_named(overrides: dict[str, Any], expected: str) -> None:
    problems = " ".join(config_problems(_config(**overrides), SPEC))
    assert expected in problems


def test_integer_ids_are_accepted() -> None:
    assert list(config_problems(_config(partner_client_ids=[101, "102"]), SPEC)) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"])
def test_http_loopback_is_accepted(url: str) -> None:
    assert list(config_problems(_config(api_base_url=url), SPEC)) == []


def test_missing_credentials_is_named() -> None:
    config = _config()
    del config["credentials"]
    assert "credentials is missing." in list(config_problems(config, SPEC))


def test_secret_is_never_quoted() -> None:
    config = _config(
        credentials={"credentials_title": "Private App Credentials", "access_token": 7}
    )
    problems = " ".join(config_problems(config, SPEC))
    assert "access_token" in problems
    assert "7" not in problems.replace("access_token", "")


def test_validate_raises_config_error() -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        validate_config(_config(batch_size=0), SPEC)
    assert raised.value.failure_type.value == "config_error"
    assert raised.value.message.startswith("Invalid configuration: ")


def test_long_id_list_of_text_passes() -> None:
    ids = [str(position) for position in range(100_000)]
    assert list(config_problems(_config(partner_client_ids=ids), SPEC)) == []


@pytest.mark.parametrize("bad_item", [None, {"id": 2}, 1.5], ids=["null", "object", "float"])
def test_long_id_list_names_wrong_item(bad_item: Any) -> None:
    ids: list[Any] = [str(position) for position in range(100_000)]
    ids[54_321] = bad_item
    problems = " ".join(config_problems(_config(partner_client_ids=ids), SPEC))
    assert "partner_client_ids[54321] must be text" in problems


def test_long_id_list_keeps_other_problems() -> None:
    ids = [str(position) for position in range(1_000)]
    problems = " ".join(config_problems(_config(partner_client_ids=ids, batch_size=0), SPEC))
    assert "batch_size must be at least 1 (got 0)" in problems
    assert "partner_client_ids" not in problems


def test_long_id_list_follows_stricter_spec() -> None:
    id_list = {**SPEC["properties"]["partner_client_ids"], "maxItems": 2}
    stricter = {**SPEC, "properties": {**SPEC["properties"], "partner_client_ids": id_list}}
    problems = " ".join(config_problems(_config(partner_client_ids=["1", "2", "3"]), stricter))
    assert "partner_client_ids is invalid: maxItems 2." in problems


@pytest.mark.parametrize("workers", [-50, 0, 21, 2.5, float("inf"), True, "8"])
def test_invalid_num_workers_named_by_source(workers: Any) -> None:
    source = SourcePartnerClients(config=_config(num_workers=workers))
    with pytest.raises(AirbyteTracedException) as raised:
        validate_config(source._config, SPEC)
    assert "num_workers must be" in raised.value.message
