"""Request ids: accepted from a proxy's X-Request-ID or minted, echoed on every response."""

import re
import secrets

from flask import Flask, Response, g, request

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        # 128 random bits as hex; uuid4 made the same from os.urandom plus an object
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else secrets.token_hex(16)

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
