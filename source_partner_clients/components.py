"""Custom CDK components for what manifest.yaml cannot express.

error_handling.py and auth.py hold the error handler, backoff strategy and OAuth authenticator.

- PartnerClientIdBatches: a partition router whose batch size comes from the configuration
  (GroupingPartitionRouter takes a fixed group_size) and that builds each request body in code.
- PartnerClientBatchRetriever: sends one batch read per partition and turns HubSpot's
  per-ID errors (HTTP 207 `errors[]`, or a 404 naming the IDs) into ERROR trace messages,
  which the CDK's SimpleRetriever drops.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

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
from airbyte_cdk.sources.declarative.requesters.requester import Requester
from airbyte_cdk.sources.declarative.retrievers.retriever import Retriever
from airbyte_cdk.sources.streams.core import StreamData
from airbyte_cdk.sources.streams.http.page_size_reduction_exception import (
    PageSizeReductionRequiredException,
)
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.batching import (
    build_batch_read_body,
    effective_batch_size,
    normalize_partner_client_ids,
    split_into_batches,
)
from source_partner_clients.budget import HubSpotRequestBudget
from source_partner_clients.error_handling import body_excerpt, decode_json_object
from source_partner_clients.progress import ReadTally
from source_partner_clients.property_types import Converter, cast_record, split_property_names
from source_partner_clients.schema import converters_from_schema, requested_property_names

LOGGER = logging.getLogger("airbyte")
STREAM_NAME = "partner_clients"
NOT_RETURNED = "NOT_RETURNED"
IDS_IN_MESSAGE = 20


@dataclass(frozen=True)
class RequestLayout:
    """Request plan of a batch: property name chunks, one request each (None requests HubSpot's
    default properties), and the converter of each typed property."""

    chunks: list[list[str] | None]
    converters: Mapping[str, Converter]


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
        tally = ReadTally(
            requested=len(normalized.ids),
            batch_count=len(batches),
            fail_on_batch_errors=bool(self.config.get("fail_on_batch_errors")),
        )
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
    the stream, so each requested ID ends up in a record or in a trace. A batch that HubSpot
    rejects as too large is split in halves. The whole response is read before any record is
    emitted, so a retried request never emits a record twice.
    """

    requester: Requester
    record_selector: HttpSelector
    partition_router: PartnerClientIdBatches
    config: Config
    parameters: InitVar[Mapping[str, Any]]
    name: str = STREAM_NAME
    _id_property: str | None = field(init=False, default=None)
    _layouts: dict[int, tuple[Mapping[str, Any], RequestLayout]] = field(
        init=False, default_factory=dict
    )

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._id_property = self.config.get("id_property") or None
        self._archived = "true" if self.config.get("archived") else "false"

    def read_records(
        self,
        records_schema: Mapping[str, Any],
        stream_slice: StreamSlice | None = None,
    ) -> Iterable[StreamData]:
        if stream_slice is None or "ids" not in stream_slice.partition:
            return
        tally = stream_slice.extra_fields.get("tally")
        if not isinstance(tally, ReadTally):
            tally = ReadTally(requested=len(stream_slice.partition["ids"]), batch_count=1)
        estimate = tally.estimate_message()
        if estimate is not None:
            yield estimate
        emitted, reported = 0, 0
        for outcome in self._read_ids(
            stream_slice.partition["ids"], records_schema, stream_slice, tally
        ):
            if isinstance(outcome, BatchAccounting):
                emitted += outcome.emitted
                reported += len(outcome.reported) + len(outcome.not_returned)
            else:
                yield outcome
        tally.finish_batch(emitted=emitted, reported=reported)

    def _read_ids(
        self,
        ids: Sequence[str],
        records_schema: Mapping[str, Any],
        stream_slice: StreamSlice,
        tally: ReadTally,
    ) -> Iterator[StreamData | BatchAccounting]:
        """Read ids in as many requests as HubSpot's accepted batch size needs."""
        max_inputs = tally.max_inputs
        if max_inputs is not None and len(ids) > max_inputs:
            for sub_batch in split_into_batches(ids, max_inputs):
                yield from self._read_ids(sub_batch, records_schema, stream_slice, tally)
            return
        try:
            body = self._fetch_batch(ids, stream_slice, self._layout(records_schema))
        except PageSizeReductionRequiredException:
            if len(ids) == 1:
                raise _batch_error(
                    ids,
                    "HubSpot rejected a batch of one ID as too large.",
                    FailureType.system_error,
                ) from None
            tally.lower_max_inputs(len(ids))
            yield from self._read_ids(ids, records_schema, stream_slice, tally)
            return
        budget = getattr(self.requester, "api_budget", None)
        if isinstance(budget, HubSpotRequestBudget):
            tally.check_daily_remaining(
                budget.daily_remaining, len(self._layout(records_schema).chunks)
            )
        yield from self._emit_batch(ids, body, records_schema, stream_slice, tally)

    def _emit_batch(
        self,
        ids: Sequence[str],
        body: Mapping[str, Any],
        records_schema: Mapping[str, Any],
        stream_slice: StreamSlice,
        tally: ReadTally,
    ) -> Iterator[StreamData | BatchAccounting]:
        results = _unique_results(body.get("results"), ids)
        errors = [error for error in body.get("errors") or [] if isinstance(error, Mapping)]
        converters = self._layout(records_schema).converters
        for result in results:
            cast_record(result, converters, tally.cast_failures)
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
                "Batch %s to %s: %d of %d IDs reported missing (first: %s).",
                ids[0],
                ids[-1],
                len(missing),
                len(ids),
                ", ".join(missing[:5]),
            )
        yield accounting

    def _layout(self, records_schema: Mapping[str, Any]) -> RequestLayout:
        """Return the property chunks and converters for a schema, computed once per schema."""
        cached = self._layouts.get(id(records_schema))
        if cached is not None and cached[0] is records_schema:
            return cached[1]
        names = requested_property_names(records_schema)
        chunks: list[list[str] | None] = list(split_property_names(names)) if names else [None]
        if len(chunks) > 1:
            LOGGER.info(
                "Requesting %d properties in %d requests per batch, to keep each body small.",
                len(names),
                len(chunks),
            )
        layout = RequestLayout(chunks=chunks, converters=converters_from_schema(records_schema))
        self._layouts[id(records_schema)] = (records_schema, layout)
        return layout

    def _fetch_batch(
        self, ids: Sequence[str], stream_slice: StreamSlice, layout: RequestLayout
    ) -> Mapping[str, Any]:
        """Read a batch, with one request per property chunk, and merge the results by id."""
        first = self._send_batch_read(ids, stream_slice, layout.chunks[0], with_history=True)
        if len(layout.chunks) == 1:
            return first
        merged = {str(result.get("id")): result for result in first.get("results") or []}
        for chunk in layout.chunks[1:]:
            extra = self._send_batch_read(ids, stream_slice, chunk, with_history=False)
            for result in extra.get("results") or []:
                target = merged.setdefault(str(result.get("id")), result)
                if target is not result:
                    target.setdefault("properties", {}).update(result.get("properties") or {})
        return {**first, "results": list(merged.values())}

    def _send_batch_read(
        self,
        ids: Sequence[str],
        stream_slice: StreamSlice,
        properties: Sequence[str] | None,
        with_history: bool,
    ) -> Mapping[str, Any]:
        """Send one batch read and return the decoded body, or raise a traced error."""
        LOGGER.debug("Requesting %d IDs, %s to %s.", len(ids), ids[0], ids[-1])
        body_json = build_batch_read_body(ids, self.config, properties, with_history)
        try:
            response = self.requester.send_request(
                stream_slice=stream_slice,
                request_params={"archived": self._archived},
                request_body_json=body_json,
            )
        except PageSizeReductionRequiredException:
            raise
        except AirbyteTracedException as error:
            raise _batch_error(
                ids,
                error.message or "the request failed.",
                error.failure_type or FailureType.system_error,
                internal=error.internal_message or "",
            ) from error
        if response is None:
            raise _batch_error(ids, "HubSpot sent no response.", FailureType.transient_error)
        body = decode_json_object(response)
        if body is None:
            raise _batch_error(
                ids,
                f"HubSpot returned HTTP {response.status_code} with a body that is not a JSON "
                f"object: {body_excerpt(response)!r}",
                FailureType.transient_error,
            )
        if response.status_code == 404:
            if not _names_ids(body):
                raise _batch_error(
                    ids,
                    "HubSpot returned HTTP 404 without naming the IDs, so the URL is wrong. "
                    "Check api_base_url (default https://api.hubapi.com).",
                    FailureType.config_error,
                    internal=body_excerpt(response),
                )
            return {"results": [], "errors": [body]}
        return body


def _unique_results(results: Any, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Return the result objects once each, by id, in the order HubSpot sent them.

    A repeated id would otherwise be emitted twice; anything that is not an object is dropped
    with a warning instead of failing the batch.
    """
    if not isinstance(results, list):
        raise _batch_error(
            ids,
            f"HubSpot returned results that are not a list: {str(results)[:200]!r}",
            FailureType.transient_error,
        )
    unique: dict[str, dict[str, Any]] = {}
    for result in results:
        if not isinstance(result, dict):
            LOGGER.warning("Skipped a result that is not an object: %r", str(result)[:200])
            continue
        unique.setdefault(str(result.get("id")), result)
    if len(unique) < len(results):
        LOGGER.warning(
            "Batch %s to %s: HubSpot returned %d results for %d distinct objects; each object "
            "is emitted once.",
            ids[0],
            ids[-1],
            len(results),
            len(unique),
        )
    return list(unique.values())


def _names_ids(body: Mapping[str, Any]) -> bool:
    context = body.get("context")
    return isinstance(context, Mapping) and bool(context.get("ids"))


@dataclass(frozen=True)
class BatchAccounting:
    """Counts of one batch: records emitted, IDs listed in errors, IDs left out altogether."""

    emitted: int
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
    return BatchAccounting(emitted=len(results), reported=in_errors, not_returned=not_returned)


def _id_list(ids: Sequence[str]) -> str:
    listed = ", ".join(ids[:IDS_IN_MESSAGE])
    if len(ids) > IDS_IN_MESSAGE:
        return f"{listed} (first {IDS_IN_MESSAGE} of {len(ids)})"
    return listed


def _error_trace(error: Mapping[str, Any], ids: Sequence[str], batch_len: int) -> AirbyteMessage:
    category = error.get("category") or "UNKNOWN"
    hubspot_message = error.get("message") or "no message"
    subject = f"{len(ids)} of the {batch_len} partner client IDs in a batch" if ids else "a batch"
    message = f"HubSpot reported {category} for {subject}: {hubspot_message}"
    if ids:
        message += f" IDs: {_id_list(ids)}."
    return _trace_message(message, json.dumps(error, ensure_ascii=False, sort_keys=True))


def _not_returned_trace(ids: Sequence[str], batch_len: int) -> AirbyteMessage:
    message = (
        f"HubSpot reported {NOT_RETURNED} for {len(ids)} of the {batch_len} partner client IDs "
        "in a batch: "
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


def _batch_error(
    ids: Sequence[str], reason: str, failure_type: FailureType, internal: str = ""
) -> AirbyteTracedException:
    where = f"batch {ids[0]} to {ids[-1]} ({len(ids)} IDs)" if ids else "an empty batch"
    return AirbyteTracedException(
        message=f"Reading partner_clients failed for {where}: {reason}",
        internal_message=f"{reason} {internal}".strip(),
        failure_type=failure_type,
    )
