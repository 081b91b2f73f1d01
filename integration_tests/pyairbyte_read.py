"""Read partner clients with PyAirbyte into its default DuckDB cache and print a JSON summary.

Usage: python pyairbyte_read.py EXECUTABLE CONFIG_JSON OUTPUT_JSON

This script runs in a virtual environment where PyAirbyte (the PyPI package `airbyte`) is
installed, not in the project's environment: test_pyairbyte.py creates that environment. It
runs the connector from EXECUTABLE, reads every stream into the default cache (a DuckDB file
under $AIRBYTE_PROJECT_DIR/.cache) and writes the row count, record IDs and column types to
OUTPUT_JSON, and prints the same JSON.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import airbyte

STREAM_NAME = "partner_clients"


def main(arguments: list[str]) -> int:
    executable, config_path, output_path = arguments
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    source = airbyte.get_source(
        "source-partner-clients", config=config, local_executable=executable
    )
    source.check()
    source.select_all_streams()
    result = source.read()
    dataset = result[STREAM_NAME]
    table = dataset.to_sql_table()
    summary = {
        "pyairbyte_version": version("airbyte"),
        "cache_path": str(result.cache.db_path),
        "row_count": len(dataset),
        "ids": sorted(str(record["id"]) for record in dataset),
        "column_types": {column.name: str(column.type) for column in table.columns},
    }
    text = json.dumps(summary, ensure_ascii=False)
    Path(output_path).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
