"""Run the HubSpot emulator until SIGTERM or SIGINT.

Usage from the repository root:
    python -m integration_tests.emulator [--port 0] [--count 3000] [--latency-ms 0]
        [--faults '[{"kind": "status", "status": 503, "rate": 0.05}]'] [--fault-seed 0]

Stdout gets one JSON line, {"url": "http://127.0.0.1:PORT"}, once the server accepts
connections. Start and stop messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from types import FrameType

from .server import EmulatorServer

logger = logging.getLogger("integration_tests.emulator")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m integration_tests.emulator",
        description="Serve a local HubSpot emulator for partner clients on 127.0.0.1.",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port to bind; 0 picks a free port (default 0)"
    )
    parser.add_argument(
        "--count", type=int, default=3000, help="number of partner clients (default 3000)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="delay in milliseconds before each CRM response (default 0)",
    )
    parser.add_argument(
        "--faults",
        type=json.loads,
        default=[],
        help="fault plan as a JSON list of rules, as described in faults.py (default none)",
    )
    parser.add_argument(
        "--fault-seed", type=int, default=0, help="seed of the fault plan's draws (default 0)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the emulator, print its URL as JSON, and stop it on SIGTERM or SIGINT."""
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop_requested = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        logger.info("Received %s, stopping", signal.Signals(signal_number).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    settings = {
        "latency_ms": arguments.latency_ms,
        "faults": arguments.faults,
        "fault_seed": arguments.fault_seed,
    }
    try:
        server = EmulatorServer(port=arguments.port, count=arguments.count, settings=settings)
    except (TypeError, ValueError) as error:
        logger.error("Invalid settings: %s", error)
        return 2
    server.start()
    logger.info("Emulator serving %d partner clients at %s", arguments.count, server.url)
    print(json.dumps({"url": server.url}), flush=True)
    try:
        stop_requested.wait()
    finally:
        server.stop()
        logger.info("Emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
