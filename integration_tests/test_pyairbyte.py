"""The connector used from PyAirbyte as a local executable, read into PyAirbyte's DuckDB cache.

PyAirbyte (the PyPI package `airbyte`) is installed into its own virtual environment, cached
under the cache directory by PyAirbyte version, because its dependencies conflict with nothing
here but are large. The script pyairbyte_read.py runs there with AIRBYTE_OFFLINE_MODE=1 and
DO_NOT_TRACK=1, so PyAirbyte neither looks up Airbyte's registry nor sends telemetry, and with
proxy variables that send any request to a host other than loopback to a closed local port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from integration_tests.connector import (
    COMMAND,
    configured_catalog,
    known_ids,
    private_app_config,
    run_connector,
)
from integration_tests.local_cache import cache_dir, exclusive_lock

pytestmark = pytest.mark.slow

PYAIRBYTE_VERSION = "0.71.3"
SCRIPT_PATH = Path(__file__).with_name("pyairbyte_read.py")
INSTALL_TIMEOUT_SECONDS = 1200
READ_TIMEOUT_SECONDS = 600
# Any request to a host other than loopback goes to this closed port and fails.
UNREACHABLE_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def pyairbyte_python() -> Path:
    """Return the Python of a virtual environment with PyAirbyte, creating it once per version."""
    venv_dir = cache_dir() / f"pyairbyte-{PYAIRBYTE_VERSION}"
    python = venv_dir / "bin" / "python"
    installed_marker = venv_dir / ".installed"
    with exclusive_lock(venv_dir.with_name(venv_dir.name + ".lock"), INSTALL_TIMEOUT_SECONDS):
        if installed_marker.is_file():
            return python
        # A directory without the marker is left from an interrupted install.
        shutil.rmtree(venv_dir, ignore_errors=True)
        venv.create(venv_dir, with_pip=True)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"airbyte=={PYAIRBYTE_VERSION}"],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
        assert install.returncode == 0, f"pip install failed:\n{install.stderr[-3000:]}"
        installed_marker.write_text(PYAIRBYTE_VERSION, encoding="utf-8")
    return python


def _offline_env(project_dir: Path) -> dict[str, str]:
    env = {**os.environ}
    env |= {
        "AIRBYTE_OFFLINE_MODE": "1",
        "DO_NOT_TRACK": "1",
        "AIRBYTE_PROJECT_DIR": str(project_dir),
        "AIRBYTE_LOGGING_ROOT": str(project_dir / "logs"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = UNREACHABLE_PROXY
    for name in ("NO_PROXY", "no_proxy"):
        env[name] = "127.0.0.1,localhost"
    return env


def test_pyairbyte_reads_into_duckdb(pyairbyte_python: Path, emulator, tmp_path: Path) -> None:
    existing = known_ids(emulator.url)[:25]
    config = private_app_config(
        emulator.url,
        [*existing, "999999999"],
        properties=["client_name", "city", "partner_tier"],
        batch_size=10,
    )
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    output_path = tmp_path / "summary.json"
    project_dir = tmp_path / "project"
    project_dir.mkdir()

    completed = subprocess.run(
        [str(pyairbyte_python), str(SCRIPT_PATH), COMMAND, str(config_path), str(output_path)],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=READ_TIMEOUT_SECONDS,
        env=_offline_env(project_dir),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-3000:]
    summary = json.loads(output_path.read_text(encoding="utf-8"))
    print(f"PyAirbyte summary: {json.dumps(summary)}", file=sys.stderr)

    local_dir = tmp_path / "local"
    local_dir.mkdir()
    local = run_connector("read", local_dir, config, configured_catalog())
    assert local.returncode == 0, local.stderr

    assert summary["pyairbyte_version"] == PYAIRBYTE_VERSION
    assert Path(summary["cache_path"]).is_relative_to(project_dir)
    assert summary["row_count"] == len(existing)
    assert summary["ids"] == sorted(record["id"] for record in local.records)
    types = summary["column_types"]
    assert types["id"] == "VARCHAR"
    assert types["archived"] == "BOOLEAN"
    for column in ("createdat", "updatedat", "archivedat", "_airbyte_extracted_at"):
        assert types[column].startswith("TIMESTAMP"), f"{column} is {types[column]}"
    for column in ("properties", "propertieswithhistory", "_airbyte_meta"):
        assert types[column] in {"JSON", "VARCHAR"}, f"{column} is {types[column]}"
    assert "_airbyte_raw_id" in types
