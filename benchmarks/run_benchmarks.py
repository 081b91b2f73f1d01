"""Benchmark the connector's read against the local HubSpot emulator and a reference client.

Each scenario runs `source-partner-clients read` and benchmarks/reference_client.py as
subprocesses, one after the other, against one emulator subprocess on 127.0.0.1, and prints
one markdown table row per scenario. Every connector figure is followed by its ratio to the
reference client's figure in the same scenario (connector divided by reference).

- Requests and 429s come from the emulator's request log (batch reads only).
- Wall time runs from spawning the subprocess to reaping it, so it includes Python's start-up.
- Percent of ceiling is the batch-read request rate divided by the emulator's limit per 10 s.
  The active rate is (requests - 1) / (last request time - first request time), from the
  log's arrival times. The wall rate is requests / wall time.
- Peak RSS is ru_maxrss of the subprocess from os.wait4, in KiB (Linux), as MEASURE_SCRIPT
  reports it.

Run from the repository root:

    .venv/bin/python -m benchmarks.run_benchmarks [--scenarios a,b,c,d,e,f,spec] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from integration_tests.connector import configured_catalog, private_app_config

LOGGER = logging.getLogger("benchmarks")
REPO_ROOT = Path(__file__).resolve().parent.parent
CONNECTOR_COMMAND = str(Path(sys.executable).with_name("source-partner-clients"))
BATCH_READ_PATH = "/crm/v3/objects/partner_clients/batch/read"
RECORD_PREFIX = b'{"type":"RECORD"'
ALL_SCENARIOS = ("a", "b", "c", "d", "e", "f", "spec")
SETUP_KEYS = {
    "a": ["a"],
    "b": ["b"],
    "c": ["c"],
    "d": ["d"],
    "e": ["e-small", "e-large"],
    "f": ["f-on", "f-off"],
    "spec": [],
}
# A limit far above any rate these benchmarks reach, because the emulator always has one.
NO_LIMIT = 1_000_000_000
WINDOW_SECONDS = 10.0
WINDOW_MS = 10_000
# build_dataset archives 5% of the partner clients, and /_emulator/ids lists the others.
ACTIVE_SHARE = 0.95
FALLBACK_NUM_WORKERS = 8
SPEC_REPEATS = 5
PROCESS_TIMEOUT_SECONDS = 1800
EMULATOR_START_TIMEOUT_SECONDS = 600
HTTP_TIMEOUT_SECONDS = 120
QUICK_DIVISOR = 10

# Runs sys.argv[2:] as a child and writes its exit code, wall time in seconds and ru_maxrss in
# KiB to the file sys.argv[1]. Linux carries a parent's RSS high-water mark into its forked
# child's ru_maxrss, and that survives exec. The benchmark process imports airbyte_cdk and loads
# the emulator's request log, so it is larger than some commands it measures. They run from this
# small process instead, and their peak RSS is at least its own, about 10 MiB.
MEASURE_SCRIPT = """
import os, sys, time
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as result:
    result.write(f"{os.waitstatus_to_exitcode(status)} {wall} {usage.ru_maxrss}")
"""

# Targets, as stated in docs/benchmarks.md.
LATENCY_THROUGHPUT_SHARE = 0.90
MIN_REFERENCE_SHARE = 1 / 3
CEILING_SHARE = 0.95
MAX_RSS_GROWTH = 1.3
MAX_SPEC_RATIO = 1.2


@dataclass(frozen=True)
class ReadSetup:
    """One read: the number of IDs, the emulator's latency and limit, and config overrides."""

    id_count: int
    latency_ms: float = 0
    limit_per_window: int | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Reads per client, of which the one with the median wall time is reported.
    repeats: int = 1


@dataclass
class ProcessResult:
    """Exit code, wall time, peak RSS and RECORD count of one subprocess."""

    exit_code: int
    wall_seconds: float
    max_rss_kib: int
    records: int


@dataclass
class ReadResult:
    """A read by one client, with the emulator's view of its batch-read requests."""

    client: str
    setup: ReadSetup
    process: ProcessResult
    request_times: list[float]
    rate_limited: int
    # Query parameters and body, without the inputs, of the first batch read.
    first_request: Mapping[str, Any] | None

    @property
    def requests(self) -> int:
        return len(self.request_times)

    @property
    def records_per_second(self) -> float:
        return self.process.records / self.process.wall_seconds

    @property
    def active_seconds(self) -> float | None:
        if len(self.request_times) < 2:
            return None
        return self.request_times[-1] - self.request_times[0]

    def records_per_steady_second(self) -> float:
        """Return records per second from the first request to the last response.

        The last response is taken to arrive one emulator latency after the last request.
        """
        active = self.active_seconds or 0.0
        span = active + self.setup.latency_ms / 1000
        return self.process.records / span if span > 0 else 0.0

    def ceiling_percent_active(self) -> float | None:
        """Return the request rate between the first and last request, in % of the limit.

        NOTE: This can exceed 100 without a 429, because the window is rolling: a client may
        send a whole window's requests at the start, and the last window may be used in part.
        """
        active = self.active_seconds
        if self.setup.limit_per_window is None or not active:
            return None
        rate = (self.requests - 1) / active
        return 100 * rate / (self.setup.limit_per_window / WINDOW_SECONDS)

    def ceiling_percent_wall(self) -> float | None:
        if self.setup.limit_per_window is None:
            return None
        rate = self.requests / self.process.wall_seconds
        return 100 * rate / (self.setup.limit_per_window / WINDOW_SECONDS)

    def max_requests_in_window(self) -> int:
        """Return the maximum number of batch reads that arrived within any WINDOW_SECONDS."""
        max_count, start = 0, 0
        for end, arrival in enumerate(self.request_times):
            while arrival - self.request_times[start] >= WINDOW_SECONDS:
                start += 1
            max_count = max(max_count, end - start + 1)
        return max_count


# Runs of `spec`, then runs of `python -c "import airbyte_cdk"`.
SpecRuns = tuple[list[ProcessResult], list[ProcessResult]]


@dataclass
class Row:
    """One table row: a connector measurement and the reference measurement it is compared to."""

    label: str
    connector: ReadResult
    reference: ReadResult


class EmulatorProcess:
    """`python -m integration_tests.emulator` as a subprocess on 127.0.0.1."""

    def __init__(self, count: int, stderr_path: Path) -> None:
        self.count = count
        self._stderr_path = stderr_path
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.start_seconds = 0.0

    def start(self) -> None:
        """Start the emulator and wait until it prints its URL, which follows the data build."""
        arguments = [sys.executable, "-m", "integration_tests.emulator"]
        arguments += ["--port", "0", "--count", str(self.count), "--latency-ms", "0"]
        started = time.perf_counter()
        with self._stderr_path.open("wb") as stderr_file:
            self._process = subprocess.Popen(
                arguments, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr_file
            )
        LOGGER.info(
            "Emulator pid %d is building %d partner clients.", self._process.pid, self.count
        )
        line = _read_line_before(self._process, EMULATOR_START_TIMEOUT_SECONDS)
        self.url = json.loads(line)["url"]
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"The emulator is not on 127.0.0.1: {self.url}")
        self.start_seconds = time.perf_counter() - started
        LOGGER.info("Emulator serving at %s after %.1f s.", self.url, self.start_seconds)

    def stop(self) -> None:
        """Send SIGTERM to the emulator's pid, and SIGKILL when it has not exited in 10 s."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)

    def reset(self, setup: ReadSetup) -> None:
        """Set the latency and rate limit, and clear the request log and rate-limit counters."""
        settings = {
            "latency_ms": setup.latency_ms,
            "rate_limit_max": setup.limit_per_window or NO_LIMIT,
            "rate_limit_interval_ms": WINDOW_MS,
        }
        response = requests.post(
            f"{self.url}/_emulator/reset", json=settings, timeout=HTTP_TIMEOUT_SECONDS
        )
        response.raise_for_status()

    def ids(self) -> list[str]:
        response = requests.get(f"{self.url}/_emulator/ids", timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()["ids"]

    def batch_reads(self) -> list[dict[str, Any]]:
        """Return the logged batch-read requests since the last reset, in arrival order."""
        response = requests.get(f"{self.url}/_emulator/requests", timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        entries = response.json()["requests"]
        return [entry for entry in entries if entry["path"] == BATCH_READ_PATH]


def _read_line_before(process: subprocess.Popen[bytes], timeout: float) -> str:
    """Return the first stdout line of process, or raise RuntimeError after timeout seconds."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=1):
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"pid {process.pid} exited with {process.wait()}")
                return line.decode()
            if process.poll() is not None:
                raise RuntimeError(f"pid {process.pid} exited with {process.returncode}")
    raise RuntimeError(f"pid {process.pid} printed no line within {timeout:.0f} s")


def run_process(arguments: Sequence[str], work_dir: Path, name: str) -> ProcessResult:
    """Run a command under MEASURE_SCRIPT, counting RECORD lines on stdout as they arrive.

    Stdout is read line by line and not stored, except the last five non-RECORD lines, which
    the warning for a non-zero exit shows. stderr goes to work_dir/NAME.stderr. A watchdog kills
    the process group after PROCESS_TIMEOUT_SECONDS.
    """
    stderr_path = work_dir / f"{name}.stderr"
    result_path = work_dir / f"{name}.rusage"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, "-c", MEASURE_SCRIPT, str(result_path), *arguments]
    with stderr_path.open("wb") as stderr_file:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            start_new_session=True,
        )
    watchdog = threading.Timer(PROCESS_TIMEOUT_SECONDS, _kill_group, args=(process,))
    watchdog.start()
    records = 0
    tail: deque[str] = deque(maxlen=5)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(RECORD_PREFIX):
                records += 1
            else:
                tail.append(line[:500].decode(errors="replace").rstrip())
        process.wait(timeout=PROCESS_TIMEOUT_SECONDS)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            _kill_group(process)
            process.wait(timeout=10)
    if not result_path.exists():
        raise RuntimeError(f"{Path(arguments[0]).name} was killed: {stderr_path.read_text()}")
    exit_code, wall, max_rss_kib = result_path.read_text().split()
    if int(exit_code) != 0:
        stderr_tail = stderr_path.read_text(errors="replace").splitlines()[-5:]
        LOGGER.warning(
            "%s exited with %s. Last output: %s",
            Path(arguments[0]).name,
            exit_code,
            "\n".join([*tail, *stderr_tail]),
        )
    return ProcessResult(int(exit_code), float(wall), int(max_rss_kib), records)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group that `process` leads: MEASURE_SCRIPT and the command it runs."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class Bench:
    """The emulator, the files and the discovered catalogs that every scenario shares."""

    def __init__(self, emulator: EmulatorProcess, work_dir: Path, num_workers: int) -> None:
        self.emulator = emulator
        self.work_dir = work_dir
        self.num_workers = num_workers
        self.all_ids = emulator.ids()
        self._catalog_paths: dict[bool, Path] = {}

    def config(self, setup: ReadSetup) -> dict[str, Any]:
        if setup.id_count > len(self.all_ids):
            raise RuntimeError(f"The emulator has {len(self.all_ids)} IDs, not {setup.id_count}.")
        ids = self.all_ids[: setup.id_count]
        overrides = {"num_workers": self.num_workers, **setup.overrides}
        return private_app_config(self.emulator.url, ids, **overrides)

    def catalog_path(self, cast_values: bool) -> Path:
        """Discover the schema for this casting setting once, and write its configured catalog."""
        if cast_values not in self._catalog_paths:
            self.emulator.reset(ReadSetup(id_count=1))
            config = private_app_config(
                self.emulator.url, self.all_ids[:1], cast_property_values=cast_values
            )
            config_path = self.work_dir / f"discover-{cast_values}.json"
            config_path.write_text(json.dumps(config), encoding="utf-8")
            arguments = [CONNECTOR_COMMAND, "discover", "--config", str(config_path)]
            completed = subprocess.run(
                arguments,
                cwd=REPO_ROOT,
                capture_output=True,
                timeout=PROCESS_TIMEOUT_SECONDS,
                check=False,
            )
            schema = _discovered_schema(completed.stdout.decode())
            if completed.returncode != 0 or schema is None:
                raise RuntimeError(f"discover failed: {completed.stderr.decode()[-2000:]}")
            path = self.work_dir / f"catalog-{cast_values}.json"
            path.write_text(json.dumps(configured_catalog(schema)), encoding="utf-8")
            self._catalog_paths[cast_values] = path
        return self._catalog_paths[cast_values]

    def read(self, client: str, key: str, setup: ReadSetup) -> ReadResult:
        """Run one read by "connector" or "reference" and collect the emulator's log of it."""
        name = f"{key}-{client}"
        config_path = self.work_dir / f"{name}.json"
        config_path.write_text(json.dumps(self.config(setup)), encoding="utf-8")
        catalog_path = self.catalog_path(bool(setup.overrides.get("cast_property_values", True)))
        if client == "connector":
            arguments = [CONNECTOR_COMMAND, "read"]
        else:
            arguments = [sys.executable, "-m", "benchmarks.reference_client"]
        arguments += ["--config", str(config_path), "--catalog", str(catalog_path)]
        self.emulator.reset(setup)
        LOGGER.info("Running %s on %d IDs.", client, setup.id_count)
        process = run_process(arguments, self.work_dir, name)
        entries = self.emulator.batch_reads()
        LOGGER.info(
            "%s: %d records, %d requests in %.2f s.",
            client,
            process.records,
            len(entries),
            process.wall_seconds,
        )
        return ReadResult(
            client=client,
            setup=setup,
            process=process,
            request_times=sorted(entry["time"] for entry in entries),
            rate_limited=sum(1 for entry in entries if entry["status"] == 429),
            first_request=_without_inputs(entries[0]) if entries else None,
        )

    def compare(self, key: str, label: str, setup: ReadSetup) -> Row:
        return Row(
            label,
            self.median_read("connector", key, setup),
            self.median_read("reference", key, setup),
        )

    def median_read(self, client: str, key: str, setup: ReadSetup) -> ReadResult:
        """Read setup.repeats times and return the read with the median wall time."""
        results = [self.read(client, key, setup) for _ in range(setup.repeats)]
        results.sort(key=lambda result: result.process.wall_seconds)
        return results[len(results) // 2]


def _discovered_schema(stdout: str) -> dict[str, Any] | None:
    for line in stdout.splitlines():
        if line.startswith('{"type":"CATALOG"'):
            return json.loads(line)["catalog"]["streams"][0]["json_schema"]
    return None


def _without_inputs(entry: Mapping[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in (entry["body"] or {}).items() if key != "inputs"}
    return {"query": entry["query"], "body": body}


def spec_default_num_workers() -> int:
    """Return num_workers' default from the connector's spec, or 8 when the spec has none."""
    completed = subprocess.run(
        [CONNECTOR_COMMAND, "spec"],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=PROCESS_TIMEOUT_SECONDS,
        check=True,
    )
    for line in completed.stdout.decode().splitlines():
        if line.startswith('{"type":"SPEC"'):
            properties = json.loads(line)["spec"]["connectionSpecification"]["properties"]
            default = properties.get("num_workers", {}).get("default")
            if isinstance(default, int):
                return default
    LOGGER.warning("The spec has no num_workers default; using %d.", FALLBACK_NUM_WORKERS)
    return FALLBACK_NUM_WORKERS


def measure_spec(work_dir: Path) -> SpecRuns:
    """Time `spec` and `python -c "import airbyte_cdk"` SPEC_REPEATS times each, interleaved."""
    spec_runs, import_runs = [], []
    for _ in range(SPEC_REPEATS):
        spec_runs.append(run_process([CONNECTOR_COMMAND, "spec"], work_dir, "spec"))
        import_command = [sys.executable, "-c", "import airbyte_cdk"]
        import_runs.append(run_process(import_command, work_dir, "import"))
    return spec_runs, import_runs


# --- output --------------------------------------------------------------------------------


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return ""
    return f" ({value / reference:.2f}×)"


def _cell(value: float | None, reference: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{_ratio(value, reference)}"


def main_table(rows: Sequence[Row], spec: SpecRuns | None) -> str:
    header = (
        "| Scenario | IDs | Requests | 429s | Wall s | Records/s | % ceiling, active"
        " | % ceiling, wall | Peak RSS KiB |"
    )
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        ours, theirs = row.connector, row.reference
        cells = [
            row.label,
            f"{ours.setup.id_count:,}",
            _cell(ours.requests, theirs.requests),
            _cell(ours.rate_limited, theirs.rate_limited),
            _cell(ours.process.wall_seconds, theirs.process.wall_seconds, 2),
            _cell(ours.records_per_second, theirs.records_per_second),
            _cell(ours.ceiling_percent_active(), theirs.ceiling_percent_active(), 1),
            _cell(ours.ceiling_percent_wall(), theirs.ceiling_percent_wall(), 1),
            _cell(ours.process.max_rss_kib, theirs.process.max_rss_kib),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if spec is not None:
        spec_runs, import_runs = spec
        wall = statistics.median(run.wall_seconds for run in spec_runs)
        import_wall = statistics.median(run.wall_seconds for run in import_runs)
        rss = statistics.median(run.max_rss_kib for run in spec_runs)
        import_rss = statistics.median(run.max_rss_kib for run in import_runs)
        label = f"spec (median of {SPEC_REPEATS})"
        cells = [label, "—", "—", "—", _cell(wall, import_wall, 2), "—", "—", "—"]
        cells.append(_cell(rss, import_rss))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def runs_table(rows: Sequence[Row]) -> str:
    header = (
        "| Scenario | Client | Exit | Records | Requests | 429s | Wall s | Records/s"
        " | Active s | Max requests in 10 s | Peak RSS KiB |"
    )
    lines = [header, "|" + "---|" * 11]
    for row in rows:
        for result in (row.connector, row.reference):
            active = result.active_seconds
            cells = [
                row.label,
                result.client,
                str(result.process.exit_code),
                f"{result.process.records:,}",
                f"{result.requests:,}",
                str(result.rate_limited),
                f"{result.process.wall_seconds:.2f}",
                f"{result.records_per_second:,.0f}",
                f"{active:.2f}" if active is not None else "—",
                str(result.max_requests_in_window()),
                f"{result.process.max_rss_kib:,}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "not met"


def target_notes(rows: Mapping[str, Row], spec: SpecRuns | None, num_workers: int) -> list[str]:
    """Return one line per scenario with its main figure and, where it has one, its target."""
    notes = []
    for key, row in rows.items():
        ours, theirs = row.connector, row.reference
        if key == "a":
            share = ours.records_per_second / theirs.records_per_second
            notes.append(
                f"(a) {ours.records_per_second:,.0f} records/s over the wall time and "
                f"{ours.records_per_steady_second():,.0f} from the first request to the last "
                f"response; the reference client: {theirs.records_per_second:,.0f} and "
                f"{theirs.records_per_steady_second():,.0f}, so {share:.2f}× over the wall "
                f"time; target ≥ 1/3 of the reference client: "
                f"{_verdict(share >= MIN_REFERENCE_SHARE)}."
            )
        elif key == "b":
            latency = ours.setup.latency_ms / 1000
            target = LATENCY_THROUGHPUT_SHARE * num_workers * 100 / latency
            steady = ours.records_per_steady_second()
            notes.append(
                f"(b) {ours.records_per_second:,.0f} records/s over the wall time and "
                f"{steady:,.0f} from the first request to the last response; target "
                f"{target:,.0f} (90% of {num_workers} × 100 / {latency:g} s): wall "
                f"{_verdict(ours.records_per_second >= target)}, "
                f"steady {_verdict(steady >= target)}. The wall target allows "
                f"{ours.setup.id_count / target:.2f} s, of which "
                f"{math.ceil(ours.requests / num_workers) * latency:.2f} s are round trips of "
                f"{num_workers} concurrent batch reads."
            )
        elif key in ("c", "d"):
            notes.append(_ceiling_note(key, ours))
        elif key == "e-large" and "e-small" in rows:
            small = rows["e-small"].connector
            growth = ours.process.max_rss_kib / small.process.max_rss_kib
            notes.append(
                f"(e) peak RSS {ours.process.max_rss_kib:,} KiB at {ours.setup.id_count:,} IDs and "
                f"{small.process.max_rss_kib:,} KiB at {small.setup.id_count:,}, {growth:.2f}×; "
                f"target ≤ {MAX_RSS_GROWTH}×: {_verdict(growth <= MAX_RSS_GROWTH)}."
            )
        elif key == "f-off" and "f-on" in rows:
            cast_on = rows["f-on"].connector
            notes.append(
                f"(f) {cast_on.records_per_second:,.0f} records/s with casting and "
                f"{ours.records_per_second:,.0f} without over the wall time, "
                f"{cast_on.records_per_second / ours.records_per_second:.2f}×; "
                f"{cast_on.records_per_steady_second():,.0f} and "
                f"{ours.records_per_steady_second():,.0f} from the first request to the last "
                f"response, "
                f"{cast_on.records_per_steady_second() / ours.records_per_steady_second():.2f}× "
                "(no target)."
            )
    if spec is not None:
        spec_runs, import_runs = spec
        wall = statistics.median(run.wall_seconds for run in spec_runs)
        import_wall = statistics.median(run.wall_seconds for run in import_runs)
        ratio = wall / import_wall
        notes.append(
            f"(spec) median {wall:.2f} s for spec and {import_wall:.2f} s for import "
            f"airbyte_cdk, {ratio:.2f}×; target ≤ {MAX_SPEC_RATIO}×: "
            f"{_verdict(ratio <= MAX_SPEC_RATIO)}."
        )
    return notes


def _ceiling_note(key: str, result: ReadResult) -> str:
    limit = result.setup.limit_per_window
    percent = result.ceiling_percent_active() or 0.0
    met = percent >= 100 * CEILING_SHARE and result.rate_limited == 0
    note = (
        f"({key}) {percent:.1f}% of {limit} per 10 s over the active period "
        f"({result.ceiling_percent_wall() or 0:.1f}% over the wall time), "
        f"{result.rate_limited} 429s, at most {result.max_requests_in_window()} requests in any "
        f"10 s; target ≥ 95% and no 429: {_verdict(met)}."
    )
    if limit is not None and result.requests <= limit:
        note += " The read needs no more requests than one window allows, so this says little."
    return note


def body_mismatches(rows: Sequence[Row]) -> list[str]:
    """Return a line per row whose two clients sent different query parameters or bodies."""
    lines = []
    for row in rows:
        ours, theirs = row.connector.first_request, row.reference.first_request
        if ours != theirs:
            lines.append(f"{row.label}: the connector sent {ours} but the reference sent {theirs}")
    return lines


# --- scenarios -----------------------------------------------------------------------------


def scenario_setups(quick: bool) -> dict[str, tuple[str, ReadSetup]]:
    """Return every read setup by key, with ID counts divided by QUICK_DIVISOR when quick."""
    divisor = QUICK_DIVISOR if quick else 1

    def scaled(count: int) -> int:
        return count // divisor

    return {
        "a": ("a: no latency, no limit", ReadSetup(scaled(100_000))),
        "b": ("b: 300 ms, no limit", ReadSetup(scaled(20_000), latency_ms=300)),
        "c": ("c: 300 ms, 100 per 10 s", ReadSetup(scaled(20_000), 300, limit_per_window=100)),
        "d": ("d: 100 ms, 190 per 10 s", ReadSetup(scaled(40_000), 100, limit_per_window=190)),
        "e-small": ("e: RSS, small", ReadSetup(scaled(1_000))),
        "e-large": ("e: RSS, large", ReadSetup(scaled(100_000))),
        "f-on": (
            "f: casting on, median of 3",
            ReadSetup(scaled(20_000), overrides={"cast_property_values": True}, repeats=3),
        ),
        "f-off": (
            "f: casting off, median of 3",
            ReadSetup(scaled(20_000), overrides={"cast_property_values": False}, repeats=3),
        ),
    }


def selected_keys(scenarios: Sequence[str]) -> list[str]:
    """Return the read setup keys of the scenarios, in order. `spec` has none."""
    return [key for scenario in scenarios for key in SETUP_KEYS[scenario]]


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, {date}"
    )


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_benchmarks")
    parser.add_argument(
        "--scenarios",
        default=",".join(ALL_SCENARIOS),
        help=f"comma-separated scenarios to run, from {','.join(ALL_SCENARIOS)} (default all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"divide every ID count by {QUICK_DIVISOR}, for a smoke run",
    )
    arguments = parser.parse_args(argv)
    arguments.scenarios = [name.strip() for name in arguments.scenarios.split(",") if name.strip()]
    unknown = sorted(set(arguments.scenarios) - set(ALL_SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {','.join(ALL_SCENARIOS)}")
    return arguments


def run_reads(
    setups: Mapping[str, tuple[str, ReadSetup]],
    keys: Sequence[str],
    work_dir: Path,
    num_workers: int,
) -> dict[str, Row]:
    """Start the emulator, run the read setups of keys, and stop the emulator."""
    max_id_count = max(setups[key][1].id_count for key in keys)
    emulator = EmulatorProcess(math.ceil(max_id_count / ACTIVE_SHARE) + 2, work_dir / "emu")
    rows: dict[str, Row] = {}
    try:
        emulator.start()
        sys.stdout.write(
            f"Emulator: {emulator.count:,} partner clients, ready after "
            f"{emulator.start_seconds:.1f} s. num_workers: {num_workers}.\n\n"
        )
        bench = Bench(emulator, work_dir, num_workers)
        for key in keys:
            label, setup = setups[key]
            rows[key] = bench.compare(key, label, setup)
    finally:
        emulator.stop()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    # force=True replaces the root handler that importing airbyte_cdk installs.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr, force=True
    )
    arguments = parse_arguments(argv)
    setups = scenario_setups(arguments.quick)
    keys = selected_keys(arguments.scenarios)
    out = sys.stdout
    out.write(f"Machine: {machine_description()}\n\n")
    num_workers = spec_default_num_workers()

    rows: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="partner-clients-bench-") as work_name:
        work_dir = Path(work_name)
        if keys:
            rows = run_reads(setups, keys, work_dir, num_workers)
        spec = measure_spec(work_dir) if "spec" in arguments.scenarios else None

    out.write(main_table(list(rows.values()), spec) + "\n\n")
    if rows:
        out.write(
            "Both clients in each scenario (for repeated reads, the read with the median wall "
            "time):\n\n" + runs_table(list(rows.values())) + "\n\n"
        )
    for line in target_notes(rows, spec, num_workers):
        out.write(f"- {line}\n")
    for line in body_mismatches(list(rows.values())):
        out.write(f"- WARNING: {line}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
