"""Custom CDK components for what manifest.yaml cannot express.

- PartnerClientIdBatches: a partition router whose batch size comes from the configuration
  (GroupingPartitionRouter takes a fixed group_size) and that builds each request body in code.
- PartnerClientErrorHandler: refreshes the OAuth token on a 401, but fails at once on a 401 for
  a private app token; a response filter's predicate cannot see the config to tell them apart.
- PartnerClientBatchRetriever: sends one batch read per partition and turns HubSpot's
  per-ID errors (HTTP 207 `errors[]`, or a 404 naming the IDs) into ERROR trace messages,
  which the CDK's SimpleRetriever drops.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

import requests
from airbyte_cdk.models import (
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    FailureType,
    StreamDescriptor,
    TraceType,
    Type,
)
from airbyte_cdk.sources.declarative.extractors.http_selector import HttpSelector
from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.declarative.requesters.error_handlers import DefaultErrorHandler
from airbyte_cdk.sources.declarative.requesters.requester import Requester
from airbyte_cdk.sources.declarative.retrievers.retriever import Retriever
from airbyte_cdk.sources.streams.core import StreamData
from airbyte_cdk.sources.streams.http.error_handlers import ErrorResolution, ResponseAction
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.batching import (
    build_batch_read_body,
    effective_batch_size,
    normalize_partner_client_ids,
    split_into_batches,
)

LOGGER = logging.getLogger("airbyte")
STREAM_NAME = "partner_clients"
NOT_RETURNED = "NOT_RETURNED"
IDS_IN_MESSAGE = 20
BODY_EXCERPT_CHARS = 200
OAUTH_CREDENTIALS_TITLE = "OAuth Credentials"


class ReadTally:
    """Sync-wide counts of IDs requested, emitted as records and reported, shared by threads."""

    def __init__(self, requested: int, batch_count: int) -> None:
        self.requested = requested
        self.batch_count = batch_count
        self.emitted = 0
        self.reported = 0
        self.batches_done = 0
        self._lock = threading.Lock()

    def finish_batch(self, emitted: int, reported: int) -> None:
        """Add one batch's counts, and log the summary once the last batch is done."""
        with self._lock:
            self.emitted += emitted
            self.reported += reported
            self.batches_done += 1
            last_batch = self.batches_done == self.batch_count
        if last_batch:
            LOGGER.info(
                "Read %d partner client IDs: %d emitted as records, %d reported missing.",
                self.requested,
                self.emitted,
                self.reported,
            )


@dataclass
class PartnerClientErrorHandler(DefaultErrorHandler):
    """DefaultErrorHandler that refreshes an OAuth access token once when HubSpot answers 401.

    OAuth access tokens expire (HubSpot issues them for 30 minutes), so a 401 with OAuth
    credentials is worth one refresh; a private app token does not change, so its 401 falls
    through to the manifest's response filters and fails at once.
    """

    def interpret_response(
        self, response_or_exception: requests.Response | Exception | None = None
    ) -> ErrorResolution:
        if (
            isinstance(response_or_exception, requests.Response)
            and response_or_exception.status_code == 401
            and _credentials_title(self.config) == OAUTH_CREDENTIALS_TITLE
        ):
            LOGGER.info("HubSpot answered 401 to an OAuth access token; refreshing the token.")
            return ErrorResolution(
                response_action=ResponseAction.REFRESH_TOKEN_THEN_RETRY,
                failure_type=FailureType.config_error,
                error_message=(
                    "HubSpot rejected the OAuth access token (HTTP 401) even after a refresh. "
                    "Reconnect the OAuth app and update the source's credentials."
                ),
            )
        return super().interpret_response(response_or_exception)


def _credentials_title(config: Config) -> str | None:
    credentials = config.get("credentials")
    return credentials.get("credentials_title") if isinstance(credentials, Mapping) else None


@dataclass
class PartnerClientIdBatches(PartitionRouter):
    """Split the configured partner-client IDs into batches, one partition each.

    HubSpot's batch read takes at most 100 inputs, and 50 with propertiesWithHistory.
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._parameters = parameters

    def stream_slices(self) -> Iterable[StreamSlice]:
        normalized = normalize_partner_client_ids(self.config.get("partner_client_ids") or [])
        if normalized.blank_count:
            LOGGER.warning(
                "Skipped %d blank entries in partner_client_ids.", normalized.blank_count
            )
        if normalized.duplicate_count:
            LOGGER.info(
                "Skipped %d repeated IDs in partner_client_ids.", normalized.duplicate_count
            )
        batch_size = effective_batch_size(self.config)
        batches = list(split_into_batches(normalized.ids, batch_size))
        tally = ReadTally(requested=len(normalized.ids), batch_count=len(batches))
        LOGGER.info(
            "Reading %d partner client IDs in %d batches of at most %d.",
            len(normalized.ids),
            len(batches),
            batch_size,
        )
        for index, batch in enumerate(batches):
            yield StreamSlice(
                partition={"batch": index, "ids": list(batch)},
                cursor_slice={},
                extra_fields={"tally": tally},
            )

    def get_request_body_json(
        self,
        *,
        stream_state: StreamState | None = None,
        stream_slice: StreamSlice | None = None,
        next_page_token: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        if not stream_slice or "ids" not in stream_slice.partition:
            return {}
        return build_batch_read_body(stream_slice.partition["ids"], self.config)

    def get_request_params(self, **kwargs: Any) -> Mapping[str, Any]:
        return {}

    def get_request_headers(self, **kwargs: Any) -> Mapping[str, Any]:
        return {}

    def get_request_body_data(self, **kwargs: Any) -> Mapping[str, Any]:
        return {}

    def get_stream_state(self) -> Mapping[str, StreamState] | None:
        return None


@dataclass
class PartnerClientBatchRetriever(Retriever):
    """Read one batch of partner clients and account for every requested ID.

    Every `results[]` entry becomes a record. Every `errors[]` entry, and every requested ID
    that HubSpot neither returned nor listed in `errors[]`, becomes an ERROR trace message for
    the stream, so each requested ID ends up in a record or in a trace.
    """

    requester: Requester
    record_selector: HttpSelector
    partition_router: PartnerClientIdBatches
    config: Config
    parameters: InitVar[Mapping[str, Any]]
    name: str = STREAM_NAME
    _id_property: str | None = field(init=False, default=None)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._id_property = self.config.get("id_property") or None

    def read_records(
        self,
        records_schema: Mapping[str, Any],
        stream_slice: StreamSlice | None = None,
    ) -> Iterable[StreamData]:
        if stream_slice is None or "ids" not in stream_slice.partition:
            return
        ids: Sequence[str] = stream_slice.partition["ids"]
        LOGGER.debug("Batch %s: requesting %d IDs.", stream_slice.partition["batch"], len(ids))
        body = self._send_batch_read(ids, stream_slice)
        results = body.get("results") or []
        errors = body.get("errors") or []

        yield from self.record_selector.filter_and_transform(
            results, stream_state={}, records_schema=records_schema, stream_slice=stream_slice
        )
        reported: set[str] = set()
        for error in errors:
            error_ids = [str(i) for i in (error.get("context") or {}).get("ids") or []]
            reported.update(error_ids)
            yield _error_trace(error, error_ids, len(ids))
        accounting = _account_for_ids(ids, results, reported, self._id_property)
        if accounting.not_returned:
            yield _not_returned_trace(accounting.not_returned, len(ids))

        missing = [*accounting.reported, *accounting.not_returned]
        if missing:
            LOGGER.warning(
                "Batch %s: %d of %d IDs reported missing (first: %s).",
                stream_slice.partition["batch"],
                len(missing),
                len(ids),
                ", ".join(missing[:5]),
            )
        tally = stream_slice.extra_fields.get("tally")
        if isinstance(tally, ReadTally):
            tally.finish_batch(emitted=len(results), reported=len(missing))

    def _send_batch_read(self, ids: Sequence[str], stream_slice: StreamSlice) -> Mapping[str, Any]:
        """Send the batch read and return the decoded body, or raise a traced error."""
        request_body = self.partition_router.get_request_body_json(stream_slice=stream_slice)
        response = self.requester.send_request(
            stream_slice=stream_slice, request_body_json=request_body
        )
        if response is None:
            raise _batch_error(ids, "HubSpot sent no response", FailureType.transient_error)
        body = _decode_json(response, ids)
        if response.status_code == 404:
            if not _names_ids(body):
                raise _batch_error(
                    ids,
                    "HubSpot answered HTTP 404 without naming the IDs, so the URL is wrong. "
                    "Check api_base_url (default https://api.hubapi.com).",
                    FailureType.config_error,
                    internal=_excerpt(response.text),
                )
            return {"results": [], "errors": [body]}
        return body


def _decode_json(response: requests.Response, ids: Sequence[str]) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, Mapping):
        raise _batch_error(
            ids,
            f"HubSpot answered HTTP {response.status_code} with a body that is not a JSON object: "
            f"{_excerpt(response.text)}",
            FailureType.transient_error,
        )
    return body


def _names_ids(body: Mapping[str, Any]) -> bool:
    context = body.get("context")
    return isinstance(context, Mapping) and bool(context.get("ids"))


@dataclass(frozen=True)
class BatchAccounting:
    """Requested IDs of one batch that HubSpot listed in errors, or left out altogether."""

    reported: list[str]
    not_returned: list[str]


def _account_for_ids(
    ids: Sequence[str],
    results: Sequence[Mapping[str, Any]],
    reported: set[str],
    id_property: str | None,
) -> BatchAccounting:
    """Sort the requested IDs that are not in results into reported and not returned.

    With idProperty, results are matched by that property's value; HubSpot may change its
    letter case (email addresses, for example), so that comparison ignores case.
    """
    if id_property:
        returned = {
            str((result.get("properties") or {}).get(id_property) or "").casefold()
            for result in results
        }
        reported_keys = {i.casefold() for i in reported}
        keys = [i.casefold() for i in ids]
    else:
        returned = {str(result.get("id")) for result in results}
        reported_keys = reported
        keys = list(ids)
    in_errors = [i for i, key in zip(ids, keys, strict=True) if key in reported_keys]
    not_returned = [
        i
        for i, key in zip(ids, keys, strict=True)
        if key not in returned and key not in reported_keys
    ]
    return BatchAccounting(reported=in_errors, not_returned=not_returned)


def _id_list(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:IDS_IN_MESSAGE])
    if len(ids) > IDS_IN_MESSAGE:
        return f"{shown} (first {IDS_IN_MESSAGE} of {len(ids)})"
    return shown


def _error_trace(error: Mapping[str, Any], ids: Sequence[str], batch_len: int) -> AirbyteMessage:
    category = error.get("category") or "UNKNOWN"
    hubspot_message = error.get("message") or "no message"
    subject = f"{len(ids)} of {batch_len} partner client IDs" if ids else "a batch"
    message = f"HubSpot reported {category} for {subject}: {hubspot_message}"
    if ids:
        message += f" IDs: {_id_list(ids)}."
    return _trace_message(message, json.dumps(error, ensure_ascii=False, sort_keys=True))


def _not_returned_trace(ids: Sequence[str], batch_len: int) -> AirbyteMessage:
    message = (
        f"HubSpot reported {NOT_RETURNED} for {len(ids)} of {batch_len} partner client IDs: "
        f"the batch succeeded but neither returned them nor listed them in errors. "
        f"IDs: {_id_list(ids)}."
    )
    internal = json.dumps({"category": NOT_RETURNED, "ids": list(ids)})
    return _trace_message(message, internal)


def _trace_message(message: str, internal_message: str) -> AirbyteMessage:
    return AirbyteMessage(
        type=Type.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.ERROR,
            emitted_at=time.time() * 1000,
            error=AirbyteErrorTraceMessage(
                message=message,
                internal_message=internal_message,
                failure_type=FailureType.config_error,
                stream_descriptor=StreamDescriptor(name=STREAM_NAME),
            ),
        ),
    )


def _excerpt(text: str) -> str:
    return repr(text[:BODY_EXCERPT_CHARS])


def _batch_error(
    ids: Sequence[str], reason: str, failure_type: FailureType, internal: str = ""
) -> AirbyteTracedException:
    where = f"batch {ids[0]} to {ids[-1]} ({len(ids)} IDs)" if ids else "an empty batch"
    return AirbyteTracedException(
        message=f"Reading partner_clients failed for {where}: {reason}",
        internal_message=f"{reason} {internal}".strip(),
        failure_type=failure_type,
    )
