"""The README's walk-through, run as a new user would: its shell blocks, pasted into bash, twice.

The blocks marked ``<!-- walkthrough -->`` are joined in order and run with bash against the
app served by granian with bin/run's settings: an instance folder holding the secrets file
bin/run writes (admin password, webhook secret), the catalog seeded and the admin created by
the same ``flask`` commands bin/run runs, rate limits on and the default trial credits. The
script gets nothing else from the test (a clean environment: PATH, HOME, BASE, INSTANCE_PATH),
so what it needs it must find the way the README says.
"""

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import served_env
from tests.support.server import ROOT, free_port, app_server_command, serve

MARKER = "<!-- walkthrough -->"
BLOCK = re.compile(re.escape(MARKER) + r"\s*```sh\n(.*?)```", re.DOTALL)
ADMIN_EMAIL = "admin@example.com"  # bin/run's default (src/local_stack.py)

# What the commands of the walk-through print, run after run (the README's comments say the
# first run's): invoice pending, mark-paid, invoice paid, webhook, balance after two bundles,
# what paid the use, the balance after the debit, then the ledger newest first.
FIRST_RUN = [
    "pending",
    "success",
    "paid",
    "success",
    "100",
    "tokens",
    "95",
    "usage -5 95",
    "purchase 50 100",
    "purchase 50 50",
]
SECOND_RUN = [
    "pending",
    "success",
    "paid",
    "success",
    "195",
    "tokens",
    "190",
    "usage -5 190",
    "purchase 50 195",
    "purchase 50 145",
    *FIRST_RUN[-3:],
]


def walkthrough_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


@pytest.fixture(scope="module")
def local_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder as bin/run's first start leaves it (its secrets file, same names)."""
    instance = tmp_path_factory.mktemp("instance")
    lines = [
        f"{name}={secrets.token_urlsafe(32)}"
        for name in ("SECRET_KEY", "JWT_SECRET_KEY", "PAYMENT_WEBHOOK_SECRET")
    ]
    lines.append(f"ADMIN_PASSWORD={secrets.token_urlsafe(12)}")
    (instance / "dev-secrets.env").write_text("\n".join(lines) + "\n")
    return instance


@pytest.fixture(scope="module")
def local_env(database_url: str, local_instance: Path) -> dict[str, str]:
    """bin/run's environment: development, its secrets exported, rate limits on."""
    exported = dict(
        line.split("=", 1) for line in (local_instance / "dev-secrets.env").read_text().split()
    )
    return served_env(
        database_url,
        APP_ENV="development",
        INSTANCE_PATH=str(local_instance),
        RATELIMIT_ENABLED="true",
        **exported,
    )


@pytest.fixture(scope="module")
def local_stack_url(
    local_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """What bin/run does before it serves (seed, create the admin), then granian."""
    for command in (["catalog", "seed"], ["users", "create-admin", ADMIN_EMAIL]):
        prepared = subprocess.run(
            [sys.executable, "-m", "flask", *command],
            cwd=ROOT,
            env={**os.environ, **local_env},
            capture_output=True,
            text=True,
        )
        assert prepared.returncode == 0, prepared.stderr
    port = free_port()
    log = Path(tmp_path_factory.mktemp("granian-walkthrough")) / "server.log"
    with serve(app_server_command(port), local_env, port, log) as url:
        yield url


def run_walkthrough(base_url: str, instance: Path, workdir: Path) -> list[str]:
    script = "\n".join(walkthrough_blocks())
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=workdir,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(workdir)),
            "BASE": base_url,
            "INSTANCE_PATH": str(instance),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout.splitlines()


def test_the_walkthrough_is_marked_in_the_readme() -> None:
    blocks = walkthrough_blocks()
    text = (ROOT / "README.md").read_text()
    assert len(blocks) == text.count(MARKER) >= 5
    script = "\n".join(blocks)
    for step in ("/auth/register", "/auth/login", "/user/checkout", "/mark-paid"):
        assert step in script
    for step in ("/webhooks/payment", "/user/tokens/consume", "/user/tokens/transactions"):
        assert step in script
    assert "BASE=${BASE:-http://127.0.0.1:5000}" in script


def test_a_new_user_finishes_the_walkthrough_twice(
    local_stack_url: str, local_instance: Path, tmp_path: Path
) -> None:
    first = run_walkthrough(local_stack_url, local_instance, tmp_path)
    assert first == FIRST_RUN
    # The ledger the README shows (its last block's comments) is the one a first run prints.
    documented = [
        line[2:] for line in walkthrough_blocks()[-1].splitlines() if line.startswith("# ")
    ]
    assert documented == FIRST_RUN[-3:]

    second = run_walkthrough(local_stack_url, local_instance, tmp_path)
    assert second == SECOND_RUN
