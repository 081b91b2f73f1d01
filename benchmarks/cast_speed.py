"""Time the cost of casting partner-client property values per record.

Each scenario decodes the emulator's records from JSON, optionally types them, and encodes
them again with orjson, the encoder airbyte-cdk uses for its messages. The difference to
"no casting" is the cost of casting. The CDK's TypeTransformer with
DefaultSchemaNormalization, given the same typed schema, is timed for comparison.

Run from the repository root:

    .venv/bin/python -m benchmarks.cast_speed --records 3000 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from airbyte_cdk.sources.utils.transform import TransformConfig, TypeTransformer

from integration_tests.emulator.data import build_dataset
from source_partner_clients.property_types import (
    CastFailures,
    build_converters,
    build_stream_schema,
    cast_record,
)

Step = Callable[[dict[str, Any]], Any]


def time_pipeline(encoded: Sequence[bytes], step: Step, repeats: int) -> float:
    """Return the best wall time over repeats of decode, step and encode for every record."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for document in encoded:
            record = orjson.loads(document)
            step(record)
            orjson.dumps(record)
        best = min(best, time.perf_counter() - started)
    return best


def time_step_only(encoded: Sequence[bytes], step: Step, repeats: int) -> float:
    """Return the best wall time over repeats of the step alone, on freshly decoded records."""
    best = float("inf")
    for _ in range(repeats):
        records = [orjson.loads(document) for document in encoded]
        started = time.perf_counter()
        for record in records:
            step(record)
        best = min(best, time.perf_counter() - started)
    return best


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build_steps(records: int) -> tuple[list[bytes], dict[str, Step], int]:
    """Build the encoded records and the steps to time, and count the property values."""
    dataset = build_dataset(records)
    encoded = [orjson.dumps(client) for client in dataset.clients]
    schema = build_stream_schema(dataset.properties)
    converters = build_converters(dataset.properties)
    failures = CastFailures()
    transformer = TypeTransformer(TransformConfig.DefaultSchemaNormalization)
    steps: dict[str, Step] = {
        "no casting": lambda record: record,
        "cast_record": lambda record: cast_record(record, converters, failures),
        "CDK TypeTransformer": lambda record: transformer.transform(record, schema),
    }
    values = sum(
        len(client["properties"]) + sum(len(h) for h in client["propertiesWithHistory"].values())
        for client in dataset.clients
    )
    return encoded, steps, values


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000, help="records per repeat")
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed runs per scenario, of which the best is reported",
    )
    args = parser.parse_args(argv)

    encoded, steps, values = build_steps(args.records)
    out = sys.stdout
    python = platform.python_version()
    out.write(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs, Python {python}\n")
    out.write(f"{args.records} records, {values} property values, best of {args.repeats}\n\n")
    out.write(f"{'scenario':<22}{'pipeline µs/rec':>16}{'records/s':>12}{'step µs/rec':>13}\n")
    for name, step in steps.items():
        pipeline = time_pipeline(encoded, step, args.repeats)
        step_only = time_step_only(encoded, step, args.repeats)
        out.write(
            f"{name:<22}{pipeline / args.records * 1e6:>16.2f}"
            f"{args.records / pipeline:>12,.0f}{step_only / args.records * 1e6:>13.2f}\n"
        )


if __name__ == "__main__":
    main()
