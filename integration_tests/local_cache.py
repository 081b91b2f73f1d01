"""The directory where slow tests keep what later runs on the same machine can reuse."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE_ENV_VAR = "SOURCE_PARTNER_CLIENTS_CACHE_DIR"


def cache_dir() -> Path:
    """Return $SOURCE_PARTNER_CLIENTS_CACHE_DIR, else source-partner-clients in the XDG cache."""
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured:
        return Path(configured)
    xdg_cache = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg_cache) if xdg_cache else Path.home() / ".cache") / "source-partner-clients"


@contextmanager
def exclusive_lock(path: Path, timeout_seconds: float) -> Iterator[None]:
    """Hold an exclusive flock on path, waiting up to timeout_seconds for another holder.

    Raise TimeoutError when the lock is still held after that.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as lock_file:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Another test run has held {path} for {timeout_seconds} s. Wait for it "
                        f"to finish, or set {CACHE_ENV_VAR} to another directory."
                    ) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
