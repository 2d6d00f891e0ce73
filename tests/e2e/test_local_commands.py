"""What a new user types first in the project directory: ``flask --help`` and ``make help``.

``flask`` runs in a copy of the project (``src``, ``migrations``, ``.flaskenv``) with an
environment holding only PATH and HOME, as on a fresh clone: it must find the app through
``.flaskenv`` and bin/run's local settings (src/cli_app.py) and list every project command.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from src.cli import register_cli
from tests.support.server import ROOT

VENV_BIN = Path(sys.executable).parent
RANDOM_SECRET_WARNING = "is not set: using a random value"


def project_commands() -> set[str]:
    """Every command group the project registers, and Flask-Migrate's ``db``."""
    probe = Flask("probe")
    register_cli(probe)
    return set(probe.cli.commands) | {"db"}


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "billing"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("src", "migrations"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=ignore)
    shutil.copy(ROOT / ".flaskenv", copy / ".flaskenv")
    return copy


def flask_help(cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(cwd), **extra}
    return subprocess.run(
        ["flask", "--help"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def listed_commands(output: str) -> set[str]:
    section = output.split("Commands:", 1)[1]
    return {match.group(1) for match in re.finditer(r"^  (\S+)", section, re.MULTILINE)}


def test_flask_help_lists_every_project_command_on_a_fresh_clone(project_copy: Path) -> None:
    result = flask_help(project_copy)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert project_commands() <= listed_commands(result.stdout), result.stdout
    assert {"billing", "catalog", "users", "apikeys", "jobs", "payments", "tokens", "worker"} <= (
        project_commands()
    )


def test_flask_reads_the_secrets_bin_run_generated(project_copy: Path) -> None:
    instance = project_copy / "instance"
    instance.mkdir()
    (instance / "dev-secrets.env").write_text(
        "SECRET_KEY=local-secret\nJWT_SECRET_KEY=local-jwt-secret-of-at-least-32-bytes\n"
    )
    result = flask_help(project_copy)

    assert result.returncode == 0, result.stderr
    assert RANDOM_SECRET_WARNING not in result.stderr, result.stderr
    assert project_commands() <= listed_commands(result.stdout)
    # Without the file the same command says it made up throw-away secrets.
    shutil.rmtree(instance)
    assert RANDOM_SECRET_WARNING in flask_help(project_copy).stderr


def test_a_deployment_without_secrets_is_told_in_one_line(project_copy: Path) -> None:
    """With DATABASE_URL (a deployment, production by default) nothing local is assumed."""
    result = flask_help(project_copy, DATABASE_URL="postgresql://billing@db.invalid/billing")

    assert result.returncode == 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "SECRET_KEY is not set" in errors[0], result.stderr
    assert "routes" in listed_commands(result.stdout)
    assert not project_commands() & listed_commands(result.stdout)


def makefile_targets() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text()
    return dict(re.findall(r"^([a-zA-Z_-]+):.*?## (.+)$", text, re.MULTILINE))


@pytest.mark.parametrize("goal", [["help"], []], ids=["make help", "make"])
def test_make_help_lists_every_target_with_its_description(goal: list[str]) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", *goal],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    targets = makefile_targets()
    assert {"help", "install", "run", "test", "lint", "check"} <= set(targets)
    rules = re.findall(r"^([a-zA-Z_-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert set(rules) == set(targets), "every target carries a ## description"
    lines = result.stdout.splitlines()
    assert len(lines) == len(targets)
    for target, description in targets.items():
        assert any(
            line.split()[:2] == ["make", target] and line.endswith(description.strip())
            for line in lines
        ), f"{target}: {result.stdout}"
