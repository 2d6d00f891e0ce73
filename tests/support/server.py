"""Serve the app for real (a subprocess on loopback) and wait until it answers."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from src import serve as http_server

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} in {timeout}s:\n{log.read_text()}")


@contextmanager
def serve(
    command: Sequence[str], env: dict[str, str], port: int, log: Path, timeout: float = 60
) -> Iterator[str]:
    """Run ``command`` (which must listen on ``port``) and yield its base URL."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, swept at the end (as bin/run does)
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base_url}/api/v1/health", process, log, timeout)
        yield base_url
    finally:
        process.terminate()
        try:
            # granian kills a worker that has not stopped after STOP_GRACE_SECONDS itself
            process.wait(timeout=http_server.STOP_GRACE_SECONDS + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        http_server.sweep_process_group(process.pid)


def app_server_command(port: int, workers: int = 2) -> list[str]:
    """The app as bin/run and the image serve it (granian, src/serve.py), on loopback."""
    return http_server.command("127.0.0.1", port, workers)


def worker_command(concurrency: int = 2) -> list[str]:
    return [sys.executable, "-m", "flask", "worker", "--concurrency", str(concurrency)]


@contextmanager
def running_worker(
    env: dict[str, str], log: Path, concurrency: int = 2
) -> Iterator[subprocess.Popen[bytes]]:
    """``flask worker`` as a subprocess; SIGTERM at the end (it finishes its running job)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            worker_command(concurrency),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
