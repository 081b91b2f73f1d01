"""The records that Airbyte's standard tests expect, and the command that rewrites them.

test_airbyte_standard.py reads READ_IDS with READ_PROPERTIES from the emulator and compares the
records with expected_records.jsonl. After an intended change of the record shape, rewrite the
file from the repository root, then review its diff:

    .venv/bin/python -m integration_tests.expected_records
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from integration_tests.connector import (
    STREAM_NAME,
    configured_catalog,
    private_app_config,
    run_connector,
)
from integration_tests.emulator import EmulatorServer

EXPECTED_RECORDS_PATH = Path(__file__).with_name("expected_records.jsonl")
# Partner clients that exist in the emulator's fixed data set.
READ_IDS = (
    "1000001",
    "1000003",
    "1000004",
    "1000006",
    "1000009",
    "1000011",
    "1000012",
    "1000013",
    "1000014",
    "1000016",
)
READ_PROPERTIES = ("client_name", "city", "partner_tier", "partner_status")
READ_BATCH_SIZE = 4


def read_settings() -> dict[str, object]:
    """Return the config fields, besides credentials and IDs, of the compared read."""
    return {"properties": list(READ_PROPERTIES), "batch_size": READ_BATCH_SIZE}


def write_expected_records() -> int:
    """Read READ_IDS from a new emulator with the installed command and rewrite the file."""
    with EmulatorServer() as server, tempfile.TemporaryDirectory() as work_dir:
        config = private_app_config(server.url, READ_IDS, **read_settings())
        run = run_connector("read", Path(work_dir), config, configured_catalog())
    if run.returncode != 0:
        sys.stderr.write(f"The read failed with exit code {run.returncode}:\n{run.stderr}\n")
        return 1
    records = sorted(run.records, key=lambda record: str(record["id"]))
    lines = [
        json.dumps({"stream": STREAM_NAME, "data": record}, ensure_ascii=False)
        for record in records
    ]
    EXPECTED_RECORDS_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write(f"Wrote {len(lines)} records to {EXPECTED_RECORDS_PATH}\n")
    return 0


if __name__ == "__main__":
    sys.exit(write_expected_records())
