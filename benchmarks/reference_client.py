"""A minimal batch-read client that run_benchmarks.py compares the connector with.

It reads the connector's own config and configured catalog and sends the same requests as the
connector: batches of `batch_size` IDs (default 100) to
POST /crm/v3/objects/partner_clients/batch/read, with the same Bearer token, `archived` query
parameter and JSON body, from `num_workers` threads (default 8) with one requests.Session each.
It writes one Airbyte RECORD message per result to stdout. It has no request budget: on a 429 it
sleeps for Retry-After seconds, or 10 seconds without that header, and sends the batch again.
Any other status outside 2xx ends the run with exit code 1.

Run from the repository root:

    .venv/bin/python -m benchmarks.reference_client --config CONFIG --catalog CATALOG
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

STREAM_NAME = "partner_clients"
BATCH_READ_PATH = "/crm/v3/objects/partner_clients/batch/read"
DEFAULT_API_BASE_URL = "https://api.hubapi.com"
DEFAULT_NUM_WORKERS = 8
DEFAULT_BATCH_SIZE = 100
RATE_LIMIT_WAIT_SECONDS = 10.0
MAX_ATTEMPTS_PER_BATCH = 30
TIMEOUT_SECONDS = (10, 120)

_session_storage = threading.local()
_stdout_lock = threading.Lock()


def session_for_thread() -> requests.Session:
    """Return this thread's session, creating it on first use."""
    session = getattr(_session_storage, "session", None)
    if session is None:
        session = requests.Session()
        _session_storage.session = session
    return session


def property_names(catalog: dict[str, Any]) -> list[str]:
    """Return the property names of the partner_clients stream's schema, in schema order."""
    for configured in catalog["streams"]:
        stream = configured["stream"]
        if stream["name"] == STREAM_NAME:
            schema = stream.get("json_schema") or {}
            properties = schema.get("properties", {}).get("properties", {})
            return list(properties.get("properties", {}) or {})
    raise ValueError(f"The catalog has no {STREAM_NAME} stream.")


def read_batch(
    url: str, headers: dict[str, str], params: dict[str, str], body: dict[str, Any]
) -> int:
    """Send one batch read, retrying on 429, and write its results as RECORD messages.

    Returns the number of records written. Raises RuntimeError on any other error status, or
    when the batch got a 429 on every one of MAX_ATTEMPTS_PER_BATCH attempts.
    """
    session = session_for_thread()
    for _ in range(MAX_ATTEMPTS_PER_BATCH):
        response = session.post(
            url, params=params, json=body, headers=headers, timeout=TIMEOUT_SECONDS
        )
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            time.sleep(float(retry_after) if retry_after else RATE_LIMIT_WAIT_SECONDS)
            continue
        if not response.ok:
            raise RuntimeError(
                f"Batch read failed with HTTP {response.status_code}: {response.text[:200]}"
            )
        results = response.json().get("results") or []
        emitted_at = int(time.time() * 1000)
        lines = [
            json.dumps(
                {
                    "type": "RECORD",
                    "record": {"stream": STREAM_NAME, "data": result, "emitted_at": emitted_at},
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for result in results
        ]
        if lines:
            with _stdout_lock:
                sys.stdout.write("\n".join(lines) + "\n")
        return len(lines)
    raise RuntimeError(f"Batch read got HTTP 429 on all {MAX_ATTEMPTS_PER_BATCH} attempts.")


def run(config: dict[str, Any], catalog: dict[str, Any]) -> int:
    """Read every configured ID and return the number of records written."""
    base_url = (config.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    url = base_url + BATCH_READ_PATH
    headers = {"Authorization": f"Bearer {config['credentials']['access_token']}"}
    params = {"archived": "true" if config.get("archived") else "false"}
    ids: Sequence[str] = list(dict.fromkeys(config["partner_client_ids"]))
    batch_size = config.get("batch_size") or DEFAULT_BATCH_SIZE
    properties = property_names(catalog)
    bodies = [
        {
            "inputs": [{"id": partner_client_id} for partner_client_id in ids[i : i + batch_size]],
            "properties": properties,
            "propertiesWithHistory": [],
        }
        for i in range(0, len(ids), batch_size)
    ]
    workers = config.get("num_workers") or DEFAULT_NUM_WORKERS
    with ThreadPoolExecutor(max_workers=workers) as executor:
        counts = executor.map(lambda body: read_batch(url, headers, params, body), bodies)
        total = sum(counts)
    sys.stdout.flush()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reference_client")
    parser.add_argument("--config", required=True, help="path of the connector's config JSON")
    parser.add_argument("--catalog", required=True, help="path of the configured catalog JSON")
    arguments = parser.parse_args(argv)
    with open(arguments.config, encoding="utf-8") as config_file:
        config = json.load(config_file)
    with open(arguments.catalog, encoding="utf-8") as catalog_file:
        catalog = json.load(catalog_file)
    try:
        run(config, catalog)
    except (RuntimeError, requests.RequestException) as error:
        sys.stderr.write(f"Reference client failed: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
