"""The entrypoint's shortcuts for large configs: secret masking, one config copy, malloc arenas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets, update_secrets

from source_partner_clients import run
from source_partner_clients.run import PartnerClientsEntrypoint, secret_bearing_fields
from source_partner_clients.source import SourcePartnerClients

MANIFEST = Path(__file__).parent.parent / "source_partner_clients" / "manifest.yaml"
SPEC = yaml.safe_load(MANIFEST.read_text())["spec"]["connection_specification"]
IDS = [str(10_000 + position) for position in range(1_000)]


def _config(credentials: dict[str, Any]) -> dict[str, Any]:
    return {"credentials": credentials, "partner_client_ids": IDS}


@pytest.fixture(autouse=True)
def no_registered_secrets() -> Any:
    update_secrets([])
    yield
    update_secrets([])


def test_only_credentials_can_hold_a_secret() -> None:
    assert secret_bearing_fields(SPEC) == {"credentials"}


@pytest.mark.parametrize(
    ("credentials", "secrets"),
    [
        (
            {"credentials_title": "Private App Credentials", "access_token": "pat-na1-abc"},
            ["pat-na1-abc"],
        ),
        (
            {
                "credentials_title": "OAuth Credentials",
                "client_id": "client-1",
                "client_secret": "shh-client-secret",
                "refresh_token": "shh-refresh-token",
            },
            ["shh-client-secret", "shh-refresh-token"],
        ),
    ],
    ids=["private-app", "oauth"],
)
def test_secret_filter_masks_every_secret_and_no_id(
    credentials: dict[str, Any], secrets: list[str]
) -> None:
    PartnerClientsEntrypoint.set_up_secret_filter(_config(credentials), SPEC)
    masked = filter_secrets(" ".join([*secrets, IDS[0], IDS[-1]]))
    assert all(secret not in masked for secret in secrets)
    assert IDS[0] in masked
    assert IDS[-1] in masked


def test_read_config_reuses_loaded_config(tmp_path: Path) -> None:
    config_path = tmp_path / "config.json"
    config = _config({"credentials_title": "Private App Credentials", "access_token": "t"})
    config_path.write_text(json.dumps(config), encoding="utf-8")
    loaded = YamlDeclarativeSource.read_config(str(config_path))
    source = SourcePartnerClients(config=loaded, config_path=str(config_path))
    assert source.read_config(str(config_path)) is loaded


def test_read_config_reads_other_file(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    config = _config({"credentials_title": "Private App Credentials", "access_token": "t"})
    first.write_text(json.dumps(config), encoding="utf-8")
    second.write_text(json.dumps({**config, "batch_size": 7}), encoding="utf-8")
    source = SourcePartnerClients(config=config, config_path=str(first))
    assert source.read_config(str(second))["batch_size"] == 7


def test_arena_limit_defers_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert run.limit_malloc_arenas() is False


def test_arena_limit_set_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    glibc = Path("/proc/self/maps").read_text().find("libc.so.6") >= 0
    assert run.limit_malloc_arenas() is glibc
