"""Headless Chromium for the report's browser test and the docs screenshot script.

A fresh machine has no Chromium: install the distribution's package with
apt (we run as root in CI), once, under a file lock so that two pytest-xdist
workers do not run apt at the same time. Where installation is impossible
(no apt-get, not root, apt fails e.g. offline) the caller skips and says why.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCK = Path(os.environ.get("TMPDIR", "/tmp")) / "colossus-chromium-install.lock"


class Unavailable(Exception):
    """Chromium is missing and cannot be installed here; the message says why."""


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", *args], capture_output=True, text=True, env=env, timeout=900, check=False)


def ensure_chromium() -> str:
    """The path of a Chromium executable, installing the ``chromium`` package if it is missing."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise Unavailable(f"{CHROMIUM} is missing and this machine has no apt-get to install it")
    if os.geteuid() != 0:
        raise Unavailable(f"{CHROMIUM} is missing and installing it needs root (run: apt-get install -y chromium)")
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing; wait for it
        if os.access(CHROMIUM, os.X_OK):
            return CHROMIUM
        done = _apt("install", "-y", "chromium")
        if done.returncode != 0:  # stale or absent package lists: refresh and retry once
            _apt("update")
            done = _apt("install", "-y", "chromium")
        if done.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise Unavailable(f"apt-get install chromium failed (exit {done.returncode}): {' | '.join(tail)}")
    return CHROMIUM
