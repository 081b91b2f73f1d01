"""Write the lines of every thread to stdout as UTF-8, in chunks, one whole line at a time.

The CDK's PrintBuffer joins its pending text in a StringIO. A single character outside the
Basic Multilingual Plane, such as an emoji in a partner client's name, makes the joined string
use four bytes per character, so each flush of a fast read briefly held several megabytes.
LineWriter keeps the encoded bytes instead.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

from airbyte_cdk.logger import PRINT_BUFFER

RECORD_PREFIX = '{"type":"RECORD"'
FLUSH_BYTES = 256 * 1024
FLUSH_SECONDS = 0.1


class LineWriter:
    """A text stream that every thread may write whole lines to.

    RECORD lines wait until 256 KiB are pending or 0.1 s has passed since the last flush. Any
    other line (a log, trace or state message) is written at once with what is pending, so it
    is never held back behind records that have not arrived yet. flush_if_stale writes records
    that would otherwise wait for the next line, for example while the read waits for its
    request budget.
    """

    encoding = "utf-8"

    def __init__(self, binary: BinaryIO) -> None:
        self._binary = binary
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "backslashreplace")
        with self._lock:
            self._pending.append(data)
            self._pending_bytes += len(data)
            if (
                self._pending_bytes >= FLUSH_BYTES
                or not text.startswith(RECORD_PREFIX)
                or time.monotonic() - self._last_flush >= FLUSH_SECONDS
            ):
                self._flush_pending()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._flush_pending()

    def flush_if_stale(self) -> None:
        """Write the pending lines when the last flush was 0.1 s ago or longer."""
        with self._lock:
            if self._pending and time.monotonic() - self._last_flush >= FLUSH_SECONDS:
                self._flush_pending()

    def writable(self) -> bool:
        return True

    def _flush_pending(self) -> None:
        if self._pending:
            self._binary.write(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0
        self._binary.flush()
        self._last_flush = time.monotonic()


@contextmanager
def lines_to_stdout(text_stdout: TextIO | None = None) -> Iterator[LineWriter]:
    """Send sys.stdout and the CDK's log handler through one LineWriter for the duration.

    The LineWriter writes to the byte stream under text_stdout, by default the process's
    stdout. sys.stderr stays as it is: the CDK's PrintBuffer also moves stderr to stdout, where
    a line that is not an Airbyte message breaks the protocol.
    """
    text_stdout = text_stdout or sys.__stdout__
    if text_stdout is None:
        raise RuntimeError("The process has no stdout to write Airbyte messages to.")
    text_stdout.flush()
    writer = LineWriter(text_stdout.buffer)
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is PRINT_BUFFER
    ]
    saved_stdout = sys.stdout
    for handler in handlers:
        handler.setStream(writer)  # type: ignore[arg-type]
    sys.stdout = writer  # type: ignore[assignment]
    stop = threading.Event()
    flusher = threading.Thread(
        target=_flush_stale_lines, args=(writer, stop), name="stdout-flusher", daemon=True
    )
    flusher.start()
    try:
        yield writer
    finally:
        stop.set()
        flusher.join()
        sys.stdout = saved_stdout
        for handler in handlers:
            handler.setStream(PRINT_BUFFER)
        writer.flush()
        PRINT_BUFFER.flush()


def _flush_stale_lines(writer: LineWriter, stop: threading.Event) -> None:
    while not stop.wait(FLUSH_SECONDS):
        try:
            writer.flush_if_stale()
        except (OSError, ValueError):
            # stdout is closed or its reader is gone, and the main thread's next write raises
            # the same error.
            return
