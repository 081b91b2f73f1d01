"""Pure functions that turn the configuration into batch read requests.

HubSpot's batch read (POST /crm/v3/objects/partner_clients/batch/read) takes at most 100 inputs,
and at most 50 when propertiesWithHistory is set; larger batches are rejected
with 400 VALIDATION_ERROR.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_BATCH_SIZE = 100
MAX_HISTORY_BATCH_SIZE = 50

# HubSpot returns these properties when a batch read names none. They are sent explicitly when
# id_property has to be added, so that adding it does not drop the defaults.
HUBSPOT_DEFAULT_PROPERTIES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


@dataclass(frozen=True)
class NormalizedIds:
    """Configured partner-client IDs after trimming and de-duplication, in first-seen order."""

    ids: tuple[str, ...]
    blank_count: int
    duplicate_count: int


def normalize_partner_client_ids(raw_ids: Iterable[Any]) -> NormalizedIds:
    """Trim each ID, skip blank entries and keep the first occurrence of repeated IDs.

    Integers are accepted and read as their decimal text; any other type raises ValueError,
    because HubSpot matches IDs as strings.
    """
    seen: dict[str, None] = {}
    blank_count = 0
    duplicate_count = 0
    for position, raw_id in enumerate(raw_ids):
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            raise ValueError(
                f"partner_client_ids[{position}] is {type(raw_id).__name__}, expected a string."
            )
        partner_client_id = str(raw_id).strip()
        if not partner_client_id:
            blank_count += 1
        elif partner_client_id in seen:
            duplicate_count += 1
        else:
            seen[partner_client_id] = None
    return NormalizedIds(tuple(seen), blank_count, duplicate_count)


def effective_batch_size(config: Mapping[str, Any]) -> int:
    """Return the batch size in force: batch_size, capped at 50 when history is requested."""
    configured = config.get("batch_size") or MAX_BATCH_SIZE
    limit = MAX_HISTORY_BATCH_SIZE if config.get("properties_with_history") else MAX_BATCH_SIZE
    return max(1, min(int(configured), limit))


def split_into_batches(ids: Sequence[str], batch_size: int) -> Iterator[Sequence[str]]:
    """Yield consecutive slices of at most batch_size IDs."""
    for start in range(0, len(ids), batch_size):
        yield ids[start : start + batch_size]


def requested_properties(
    config: Mapping[str, Any], names: Sequence[str] | None = None
) -> list[str]:
    """Return the property names to request, with id_property added when it is set.

    names defaults to the configured properties. Results carry the object ID, not the
    idProperty value, so the idProperty value has to be among the returned properties to match
    results to requested IDs.
    """
    properties = list(dict.fromkeys(config.get("properties") or [] if names is None else names))
    id_property = config.get("id_property")
    if not id_property or id_property in properties:
        return properties
    if not properties:
        properties = list(HUBSPOT_DEFAULT_PROPERTIES)
    return [*properties, id_property]


def build_batch_read_body(
    ids: Sequence[str],
    config: Mapping[str, Any],
    properties: Sequence[str] | None = None,
    with_history: bool = True,
) -> dict[str, Any]:
    """Build the JSON body of one batch read.

    properties defaults to the configured properties. with_history=False leaves out
    propertiesWithHistory, for the extra requests of a batch whose properties are split.

    The body is built in code and never through the CDK's string interpolation, which passes
    every rendered string through ast.literal_eval and would turn the ID "007" into 7.
    """
    body: dict[str, Any] = {
        "inputs": [{"id": partner_client_id} for partner_client_id in ids],
        "properties": requested_properties(config, properties),
        "propertiesWithHistory": (
            list(dict.fromkeys(config.get("properties_with_history") or [])) if with_history else []
        ),
    }
    if config.get("id_property"):
        body["idProperty"] = config["id_property"]
    return body
