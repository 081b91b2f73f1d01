"""Sync-wide accounting of requested IDs, shared by the threads that read batches."""

from __future__ import annotations

import logging
import threading
import time

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    FailureType,
    TraceType,
    Type,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_partner_clients.property_types import CastFailures

LOGGER = logging.getLogger("airbyte")
STREAM_NAME = "partner_clients"
PROGRESS_STEP_PERCENT = 10
PROGRESS_INTERVAL_SECONDS = 30.0


class ReadTally:
    """Counts of IDs requested, emitted as records and reported missing, for one sync.

    It also issues the ESTIMATE trace once, logs progress at least every 10% of the IDs or every
    30 seconds, and logs the summary when the last batch is done.
    """

    def __init__(
        self, requested: int, batch_count: int, fail_on_batch_errors: bool = False
    ) -> None:
        self.requested = requested
        self.batch_count = batch_count
        self.fail_on_batch_errors = fail_on_batch_errors
        self.emitted = 0
        self.reported = 0
        self.batches_done = 0
        self._estimate_sent = False
        self._next_progress_percent = PROGRESS_STEP_PERCENT
        self._last_progress_time = time.monotonic()
        self._max_inputs: int | None = None
        self.cast_failures = CastFailures()
        self._daily_checked = False
        self._lock = threading.Lock()

    def check_daily_remaining(self, daily_remaining: int | None, requests_per_batch: int) -> None:
        """Warn once when the requests this sync still needs exceed HubSpot's daily remainder."""
        if daily_remaining is None:
            return
        with self._lock:
            if self._daily_checked:
                return
            self._daily_checked = True
            needed = (self.batch_count - self.batches_done) * requests_per_batch
        if needed > daily_remaining:
            LOGGER.warning(
                "This sync needs about %d more requests, but HubSpot reports %d left in the "
                "account's daily limit. The sync will stop when the limit is reached; the limit "
                "resets at midnight in the account's time zone.",
                needed,
                daily_remaining,
            )

    @property
    def max_inputs(self) -> int | None:
        """The largest batch HubSpot accepted after rejecting one for its size, if it did."""
        return self._max_inputs

    def lower_max_inputs(self, rejected_size: int) -> int:
        """Record that HubSpot rejected a batch of rejected_size IDs; return the new maximum.

        The first rejection logs one warning; later batches are split before they are sent.
        """
        new_max = max(1, rejected_size // 2)
        with self._lock:
            first = self._max_inputs is None
            if self._max_inputs is None or new_max < self._max_inputs:
                self._max_inputs = new_max
            current = self._max_inputs
        if first:
            LOGGER.warning(
                "HubSpot rejected a batch of %d IDs as too large; sending batches of at most %d "
                "IDs from now on. Lower batch_size to avoid the extra requests.",
                rejected_size,
                current,
            )
        return current

    def estimate_message(self) -> AirbyteMessage | None:
        """Return the ESTIMATE trace for the first caller, None for every later one."""
        with self._lock:
            if self._estimate_sent:
                return None
            self._estimate_sent = True
        return AirbyteMessage(
            type=Type.TRACE,
            trace=AirbyteTraceMessage(
                type=TraceType.ESTIMATE,
                emitted_at=time.time() * 1000,
                estimate=AirbyteEstimateTraceMessage(
                    name=STREAM_NAME, type=EstimateType.STREAM, row_estimate=self.requested
                ),
            ),
        )

    def finish_batch(self, emitted: int, reported: int) -> None:
        """Add one batch's counts; log progress, and the summary after the last batch.

        Raises a config error after the last batch when fail_on_batch_errors is set and any ID
        was reported, so the sync exits non-zero after emitting every record it could.
        """
        with self._lock:
            self.emitted += emitted
            self.reported += reported
            self.batches_done += 1
            last_batch = self.batches_done == self.batch_count
            log_progress = self._progress_due() and not last_batch
        if log_progress:
            self._log_progress()
        if not last_batch:
            return
        LOGGER.info(
            "Read %d partner client IDs: %d emitted as records, %d reported missing.",
            self.requested,
            self.emitted,
            self.reported,
        )
        for name, count in self.cast_failures.summary().items():
            LOGGER.warning(
                "%d values of property %s could not be cast to its HubSpot type and were "
                "emitted as HubSpot sent them.",
                count,
                name,
            )
        if self.fail_on_batch_errors and self.reported:
            raise AirbyteTracedException(
                message=(
                    f"{self.reported} of {self.requested} partner client IDs were reported "
                    "missing (see the error traces above), and fail_on_batch_errors is set."
                ),
                internal_message=f"reported={self.reported} requested={self.requested}",
                failure_type=FailureType.config_error,
            )

    def _progress_due(self) -> bool:
        """Tell whether a progress line is due; call with the lock held."""
        done = self.emitted + self.reported
        percent = 100 * done / self.requested if self.requested else 100
        now = time.monotonic()
        if (
            percent < self._next_progress_percent
            and now - self._last_progress_time < PROGRESS_INTERVAL_SECONDS
        ):
            return False
        while self._next_progress_percent <= percent:
            self._next_progress_percent += PROGRESS_STEP_PERCENT
        self._last_progress_time = now
        return True

    def _log_progress(self) -> None:
        done = self.emitted + self.reported
        percent = 100 * done / self.requested if self.requested else 100
        LOGGER.info(
            "read %s of %s partner clients (%d%%), %s reported missing",
            f"{done:,}",
            f"{self.requested:,}",
            percent,
            f"{self.reported:,}",
        )
