"""No cookie session: the API authenticates every request by its bearer token.

Flask opens its signed-cookie session on every request, building an itsdangerous serializer
each time (about 6 % of a balance read's CPU in-process) for a session nothing here reads or
writes. This interface hands Flask its null session instead: reading it is empty, writing to
it raises (so a future use fails loudly rather than silently setting a cookie), and no
``Set-Cookie`` is ever sent.
"""

from flask import Flask, Request, Response
from flask.sessions import NullSession, SessionInterface


class NoSessions(SessionInterface):
    def open_session(self, app: Flask, request: Request) -> NullSession:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: object, response: Response) -> None:
        return None
