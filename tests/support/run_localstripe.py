"""Start localstripe on loopback only, without its shared /tmp pickle.

The stock ``localstripe`` command binds every interface and persists state to
/tmp/localstripe.pickle after each change; this launcher serves the same aiohttp app on
127.0.0.1 and keeps state in memory (see ../shared/references/localstripe.md).
"""

import argparse

from aiohttp import web
from localstripe.resources import Store
from localstripe.server import app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    arguments = parser.parse_args()
    Store.dump_to_disk = lambda self: None
    web.run_app(app, host=arguments.host, port=arguments.port, print=None)


if __name__ == "__main__":
    main()
