"""Demo: start the local HubSpot emulator, then run spec, check, discover and read against it.

Run from the repository root with `make demo`. The raw Airbyte messages of every command are
kept in demo-output/messages.jsonl.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from integration_tests.connector import configured_catalog, run_connector

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CONFIG = Path(__file__).with_name("sample") / "config.json"
OUTPUT_DIR = REPO_ROOT / "demo-output"


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.emulator", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()
    if not first_line:
        process.kill()
        raise SystemExit("The emulator did not start; run `python -m integration_tests.emulator`.")
    return process, json.loads(first_line)["url"]


def main() -> None:
    OUTPUT_DIR.mkdir(exist_ok=True)
    emulator, url = start_emulator()
    try:
        run_demo(url)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def run_demo(url: str) -> None:
    config = {**json.loads(SAMPLE_CONFIG.read_text(encoding="utf-8")), "api_base_url": url}
    print(f"HubSpot emulator listening on {url}")
    runs = {"spec": run_connector("spec", OUTPUT_DIR)}
    runs["check"] = run_connector("check", OUTPUT_DIR, config)
    runs["discover"] = run_connector("discover", OUTPUT_DIR, config)
    schema = runs["discover"].catalog.streams[0].json_schema
    runs["read"] = run_connector("read", OUTPUT_DIR, config, configured_catalog(schema))

    with (OUTPUT_DIR / "messages.jsonl").open("w", encoding="utf-8") as messages:
        for command, run in runs.items():
            for line in run.stdout.splitlines():
                messages.write(json.dumps({"command": command, "message": json.loads(line)}) + "\n")

    read_run = runs["read"]
    status = runs["check"].connection_status
    print(f"spec:     exit {runs['spec'].returncode}, one SPEC message")
    print(f"check:    {status.status.value} {status.message or ''}".rstrip())
    print(f"discover: stream partner_clients, {len(schema['properties'])} top-level fields")
    print(f"read:     exit {read_run.returncode}, {len(read_run.records)} records read over HTTP")
    for message in read_run.id_reports:
        print(f"          reported: {message.trace.error.message}")
    counts = Counter(message.type.value for message in read_run.messages)
    print(f"          messages by type: {dict(sorted(counts.items()))}")
    if read_run.records:
        first = read_run.records[0]
        print(f"          first record: id={first['id']} properties={first['properties']}")
    print(f"Raw Airbyte messages: {OUTPUT_DIR / 'messages.jsonl'}")
    if read_run.returncode != 0 or status.status.value != "SUCCEEDED":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
