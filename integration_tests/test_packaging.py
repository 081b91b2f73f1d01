"""The package installs with pip into a new virtual environment and runs from any folder."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from integration_tests.connector import parse_message

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_pip_install_then_spec_from_other_folder(tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec = subprocess.run(
        [str(environment / "bin" / "source-partner-clients"), "spec"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert spec.returncode == 0, spec.stderr[-2000:]
    messages = [parse_message(line) for line in spec.stdout.splitlines() if line.strip()]
    spec_messages = [m for m in messages if m.type.value == "SPEC"]
    assert len(spec_messages) == 1
    specification = spec_messages[0].spec.connectionSpecification
    assert "partner_client_ids" in specification["properties"]
    assert json.dumps(specification)


def test_installed_command_is_not_the_checkout() -> None:
    """The console script the integration tests run belongs to this interpreter's environment."""
    command = Path(sys.executable).with_name("source-partner-clients")
    assert command.exists()
