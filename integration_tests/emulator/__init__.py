"""Local HubSpot emulator for the partner_clients CRM object, for integration tests."""

from .data import (
    DEFAULT_PROPERTY_NAMES,
    NO_SCOPE_TOKEN,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_REFRESH_TOKEN,
    PRIVATE_APP_TOKEN,
    READ_SCOPE,
    UNIQUE_ID_PROPERTY,
    Dataset,
    build_dataset,
)
from .server import EmulatorServer

__all__ = [
    "DEFAULT_PROPERTY_NAMES",
    "NO_SCOPE_TOKEN",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "OAUTH_REFRESH_TOKEN",
    "PRIVATE_APP_TOKEN",
    "READ_SCOPE",
    "UNIQUE_ID_PROPERTY",
    "Dataset",
    "EmulatorServer",
    "build_dataset",
]
