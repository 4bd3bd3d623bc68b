"""Serving an app for the security tests: in a thread (for the browser) or as a process of
its own (to measure its memory)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def in_thread(app: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@contextmanager
def in_process(db_url: str, keys: Path) -> Iterator[tuple[str, int]]:
    """`truceline serve` as a process of its own: its address and its pid."""
    port = free_port()
    env = {**os.environ, "TRUCELINE_DATABASE_URL": db_url, "TRUCELINE_KEY_DIR": str(keys)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "truceline.web.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/api/v1/reports", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)


def memory_kib(pid: int) -> dict[str, int]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def need_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing (make test installs it)")
        pytest.skip("Debian's chromium is not installed")


def only_local(asked: list[str]) -> list[str]:
    """What a browser asked of a host other than this machine (data: and blob: are its own)."""
    from urllib.parse import urlparse

    return [u for u in asked if urlparse(u).hostname not in ("127.0.0.1", None)
            and not u.startswith(("data:", "blob:"))]  # fmt: skip
