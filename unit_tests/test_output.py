"""LineWriter: whole lines from every thread reach stdout as UTF-8, records in chunks."""

from __future__ import annotations

import io
import json
import logging
import threading
import time

from airbyte_cdk.logger import PRINT_BUFFER

from source_partner_clients.output import FLUSH_BYTES, LineWriter, lines_to_stdout

RECORD_LINE = '{"type":"RECORD","record":{"stream":"partner_clients","data":{"name":"🚀 Café"}}}\n'
LOG_LINE = '{"type":"LOG","log":{"level":"INFO","message":"Read 1 record."}}\n'


def test_records_wait_for_flush_as_utf8() -> None:
    binary = io.BytesIO()
    writer = LineWriter(binary)
    writer.write(RECORD_LINE)
    assert binary.getvalue() == b""
    writer.flush()
    assert binary.getvalue() == RECORD_LINE.encode("utf-8")


def test_log_line_flushes_pending_records() -> None:
    binary = io.BytesIO()
    writer = LineWriter(binary)
    writer.write(RECORD_LINE)
    writer.write(LOG_LINE)
    assert binary.getvalue() == (RECORD_LINE + LOG_LINE).encode("utf-8")


def test_full_chunk_writes_records() -> None:
    binary = io.BytesIO()
    writer = LineWriter(binary)
    line_bytes = len(RECORD_LINE.encode("utf-8"))
    lines_per_chunk = -(-FLUSH_BYTES // line_bytes)
    for _ in range(lines_per_chunk - 1):
        writer.write(RECORD_LINE)
    assert binary.getvalue() == b""
    writer.write(RECORD_LINE)
    assert len(binary.getvalue()) == lines_per_chunk * line_bytes


def test_lone_surrogate_is_escaped() -> None:
    binary = io.BytesIO()
    LineWriter(binary).write('{"type":"LOG","log":{"message":"\udc80"}}\n')
    assert binary.getvalue() == b'{"type":"LOG","log":{"message":"\\udc80"}}\n'


def test_lines_from_many_threads_stay_whole() -> None:
    binary = io.BytesIO()
    writer = LineWriter(binary)

    def write_lines(thread: int) -> None:
        for position in range(2_000):
            line = RECORD_LINE if position % 100 else LOG_LINE
            writer.write(line.replace("Café", f"Café {thread}-{position}"))

    threads = [threading.Thread(target=write_lines, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.flush()
    lines = binary.getvalue().decode("utf-8").splitlines()
    assert len(lines) == 8 * 2_000
    assert all(json.loads(line)["type"] in {"RECORD", "LOG"} for line in lines)


def test_context_redirects_and_restores_streams() -> None:
    handler = logging.StreamHandler(PRINT_BUFFER)
    root = logging.getLogger()
    root.addHandler(handler)
    text_stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        with lines_to_stdout(text_stdout) as writer:
            assert handler.stream is writer
            logging.getLogger("airbyte.partner_clients_test").warning("Budget changed.")
            print(RECORD_LINE, end="")  # noqa: T201 - print is what is redirected
        assert handler.stream is PRINT_BUFFER
    finally:
        root.removeHandler(handler)
    written = text_stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert "Budget changed." in written
    assert written.endswith(RECORD_LINE)


def test_stale_records_flush_without_writes() -> None:
    text_stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    binary = text_stdout.buffer
    with lines_to_stdout(text_stdout) as writer:
        writer.write(RECORD_LINE)
        # The unit tests' conftest replaces time.sleep, so the poll waits on an Event.
        poll = threading.Event()
        deadline = time.monotonic() + 10
        while not binary.getvalue() and time.monotonic() < deadline:  # type: ignore[attr-defined]
            poll.wait(0.01)
        assert binary.getvalue() == RECORD_LINE.encode("utf-8")  # type: ignore[attr-defined]
