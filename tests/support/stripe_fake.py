"""localstripe (the Stripe fake) as a real Stripe peer: started on a free loopback port, reset
with the app's webhook registered (or silenced) through its /_config routes."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.server import ROOT, free_port

API_KEY = "sk_test_localstripe"
WEBHOOK_SECRET = "whsec_localstripe_e2e"
WEBHOOK_ID = "app"


@contextmanager
def running_localstripe(log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.run_localstripe", "--port", str(port)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"localstripe exited:\n{log.read_text()}")
            try:
                if requests.get(f"{url}/v1/balance", auth=(API_KEY, ""), timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def reset(url: str) -> None:
    """Forget every Stripe object (webhook registrations survive)."""
    requests.delete(f"{url}/_config/data", timeout=5).raise_for_status()


def register_webhook(url: str, target: str, secret: str = WEBHOOK_SECRET) -> None:
    response = requests.post(
        f"{url}/_config/webhooks/{WEBHOOK_ID}", data={"url": target, "secret": secret}, timeout=5
    )
    response.raise_for_status()


def silence_webhook(url: str, target: str) -> None:
    """localstripe cannot delete a registration: re-register it for an event that never fires."""
    response = requests.post(
        f"{url}/_config/webhooks/{WEBHOOK_ID}",
        data={"url": target, "secret": WEBHOOK_SECRET, "events[]": "none"},
        timeout=5,
    )
    response.raise_for_status()
