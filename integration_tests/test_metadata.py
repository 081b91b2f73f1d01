"""metadata.yaml follows Airbyte's connector metadata schema and agrees with the other files.

Airbyte's JSON schema (ConnectorMetadataDefinitionV0, draft-07) is read from the file that
AIRBYTE_METADATA_SCHEMA names, else from DEFAULT_SCHEMA_PATH in the reference folder beside the
clone. Without it, the schema test is skipped, and the consistency tests run anyway.
"""

from __future__ import annotations

import ast
import json
import os
import re
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from airbyte_cdk.models.connector_metadata import ConnectorLanguage, MetadataFile

REPO_ROOT = Path(__file__).resolve().parent.parent
METADATA_PATH = REPO_ROOT / "metadata.yaml"
SCHEMA_ENV_VAR = "AIRBYTE_METADATA_SCHEMA"
SCHEMA_FILE_NAME = "connector-metadata-v0.schema.json"
DEFAULT_SCHEMA_PATH = REPO_ROOT.parent / "shared" / "reference" / "airbyte" / SCHEMA_FILE_NAME
DIGEST_PATTERN = re.compile(r"@sha256:[0-9a-f]{64}$")


def _metadata() -> dict[str, Any]:
    return yaml.safe_load(METADATA_PATH.read_text(encoding="utf-8"))


def _setup_version() -> str:
    """Return VERSION from setup.py, read without running setup.py."""
    tree = ast.parse((REPO_ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "VERSION" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py assigns no VERSION")


def _dockerfile_text() -> str:
    return (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")


def _dockerfile_labels() -> dict[str, str]:
    return dict(re.findall(r"^LABEL\s+(\S+?)=(\S+)\s*$", _dockerfile_text(), flags=re.MULTILINE))


def _dockerfile_base_image() -> str:
    match = re.search(r"^ARG\s+BASE_IMAGE=(\S+)\s*$", _dockerfile_text(), flags=re.MULTILINE)
    assert match, "the Dockerfile has no `ARG BASE_IMAGE=<default>` line"
    return match.group(1)


@pytest.fixture(scope="module")
def metadata_schema() -> dict[str, Any]:
    configured = os.environ.get(SCHEMA_ENV_VAR)
    path = Path(configured) if configured else DEFAULT_SCHEMA_PATH
    if not path.is_file():
        pytest.skip(
            f"Airbyte's connector metadata schema is not at {path}; set {SCHEMA_ENV_VAR} to the "
            f"path of {SCHEMA_FILE_NAME}"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def test_metadata_validates_against_schema(metadata_schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(
        metadata_schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(_metadata()), key=lambda error: list(error.path))
    messages = [f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors]
    assert not messages, "metadata.yaml does not match the schema:\n" + "\n".join(messages)


def test_metadata_loads_with_cdk_model() -> None:
    metadata = MetadataFile.from_file(METADATA_PATH).data
    assert metadata.dockerRepository == "airbyte/source-partner-clients"
    assert metadata.language == ConnectorLanguage.PYTHON
    assert metadata.connectorBuildOptions is not None
    assert metadata.connectorBuildOptions.baseImage == _dockerfile_base_image()


def test_metadata_required_fields() -> None:
    data = _metadata()["data"]
    assert uuid.UUID(data["definitionId"]).version == 4
    assert data["connectorType"] == "source"
    assert data["connectorSubtype"] == "api"
    assert data["releaseStage"] in {"alpha", "beta", "generally_available"}
    assert data["supportLevel"] in {"community", "certified"}
    assert "language:python" in data["tags"]
    assert "cdk:low-code" in data["tags"]
    assert data["allowedHosts"]["hosts"] == ["api.hubapi.com"]
    assert set(data["registryOverrides"]) == {"oss", "cloud"}


def test_documentation_url_matches_spec() -> None:
    """The registry and the spec point users at the same documentation page."""
    data = _metadata()["data"]
    manifest_path = REPO_ROOT / "source_partner_clients" / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    assert urlsplit(data["documentationUrl"]).scheme == "https"
    assert data["documentationUrl"] == manifest["spec"]["documentation_url"]


def test_versions_agree() -> None:
    data = _metadata()["data"]
    labels = _dockerfile_labels()
    assert data["dockerImageTag"] == _setup_version()
    assert labels["io.airbyte.version"] == data["dockerImageTag"]
    assert labels["io.airbyte.name"] == data["dockerRepository"]


def test_base_image_digests_agree() -> None:
    metadata_image = _metadata()["data"]["connectorBuildOptions"]["baseImage"]
    dockerfile_image = _dockerfile_base_image()
    assert DIGEST_PATTERN.search(metadata_image), f"{metadata_image} is not pinned by digest"
    assert dockerfile_image == metadata_image


def test_icon_is_svg() -> None:
    icon_path = REPO_ROOT / _metadata()["data"]["icon"]
    root = ElementTree.parse(icon_path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox")
