"""HubSpot's published OpenAPI documents, and JSON Schema validators built from them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4

REPO_ROOT = Path(__file__).resolve().parents[1]
OPENAPI_DIR_ENV = "HUBSPOT_OPENAPI_DIR"
DOCUMENT_FILES = {
    "objects": "partner-clients-v3.openapi.json",
    "properties": "properties-v3.openapi.json",
    "oauth": "oauth-v1.openapi.json",
}


def openapi_dir() -> Path:
    """Return $HUBSPOT_OPENAPI_DIR, or else shared/reference/hubspot beside the repository."""
    configured = os.environ.get(OPENAPI_DIR_ENV)
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "reference" / "hubspot"


def load_openapi_documents() -> dict[str, dict[str, Any]]:
    """Load the three documents, keyed "objects", "properties" and "oauth".

    Raise FileNotFoundError, naming the folder and HUBSPOT_OPENAPI_DIR, when one is missing.
    """
    directory = openapi_dir()
    missing = [name for name in DOCUMENT_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"HubSpot OpenAPI documents {missing} not found in {directory}. "
            f"Set {OPENAPI_DIR_ENV} to the folder that contains them."
        )
    return {
        key: json.loads((directory / name).read_text(encoding="utf-8"))
        for key, name in DOCUMENT_FILES.items()
    }


def schema_validator(document: dict[str, Any], schema_name: str) -> Draft4Validator:
    """Build a validator for components/schemas/`schema_name` of an OpenAPI document.

    The whole document is registered as the root resource, so the `#/components/...`
    references inside it resolve. OpenAPI 3.0 schemas are close to JSON Schema draft 4.
    Formats such as date-time and uuid are checked.
    """
    root_uri = f"urn:openapi:{document['info']['title']}:{document['info']['version']}"
    registry = Registry().with_resource(root_uri, DRAFT4.create_resource(document))
    schema = {"$ref": f"{root_uri}#/components/schemas/{schema_name}"}
    return Draft4Validator(schema, registry=registry, format_checker=FormatChecker())


def schema_errors(document: dict[str, Any], schema_name: str, instance: Any) -> list[str]:
    """Return every validation error as "path: message", or [] when `instance` is valid."""
    validator = schema_validator(document, schema_name)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(instance)
    ]
