"""The command-line options every benchmark takes, so that they mean the same in each.

``--users``, ``--concurrency`` and ``--duration`` (whose help and default depend on the
benchmark), then the server's ``--workers`` / ``--threads`` and the ``--clients`` load
processes; ``check_counts`` refuses counts below 1 and ``server_config`` turns the arguments
into a ``ServerConfig``.
"""

import argparse

from bench.server import ServerConfig

COUNTS = ("users", "concurrency", "workers", "threads", "clients")


def add_common_arguments(
    parser: argparse.ArgumentParser,
    *,
    concurrency_help: str,
    duration_default: float,
    duration_help: str,
) -> None:
    parser.add_argument("--users", type=int, default=20, help="registered users (default 20)")
    parser.add_argument("--concurrency", type=int, default=16, help=concurrency_help)
    parser.add_argument("--duration", type=float, default=duration_default, help=duration_help)
    defaults = ServerConfig()
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help=f"server worker processes ({defaults.workers})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=defaults.threads,
        help=f"granian's blocking threads per worker ({defaults.threads})",
    )
    parser.add_argument(
        "--clients", type=int, default=2, help="load processes sharing the virtual users (2)"
    )


def check_counts(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Exit with a usage error (as argparse does) when a count is below 1."""
    for name in COUNTS:
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")


def check_whole_seconds(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Exit with a usage error when ``--duration`` is under 1: pgbench's -T takes whole
    seconds, and the benchmarks that run it give the API the same."""
    if arguments.duration < 1:
        parser.error("--duration must be at least 1 (pgbench -T takes whole seconds)")


def server_config(arguments: argparse.Namespace) -> ServerConfig:
    return ServerConfig(workers=arguments.workers, threads=arguments.threads)
