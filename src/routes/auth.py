"""POST /auth/register and /auth/login."""

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, current_app

from src.container import Container
from src.events.auth_events import LoginRequestedEvent, UserRegistrationRequestedEvent
from src.events.dispatcher import EventDispatcher
from src.openapi import ViewResult, responses, spec
from src.rate_limits import login_limits, register_limit
from src.schemas.auth import Credentials, LoginRequest, LoginResponse, RegisterResponse, UserOut
from src.security import issue_access_token

bp = Blueprint("auth", __name__, url_prefix="/auth")
TAGS = ["auth"]


def _expires_in() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])


@bp.post("/register")
@register_limit
@spec.validate(
    json=Credentials, resp=responses({"HTTP_201": RegisterResponse}, 400, 409, 429), tags=TAGS
)
@inject
def register(
    json: Credentials, dispatcher: EventDispatcher = Provide[Container.dispatcher]
) -> ViewResult:
    """Open an account; answers a bearer token so the client is signed in at once."""
    user = dispatcher.emit(
        UserRegistrationRequestedEvent(email=json.email, password=json.password)
    ).data
    body = RegisterResponse(
        user=UserOut(id=user.id, email=user.email),
        access_token=issue_access_token(user.id, user.role),
        expires_in=_expires_in(),
    )
    return body, 201


@bp.post("/login")
@login_limits
@spec.validate(
    json=LoginRequest, resp=responses({"HTTP_200": LoginResponse}, 400, 401, 429), tags=TAGS
)
@inject
def login(
    json: LoginRequest, dispatcher: EventDispatcher = Provide[Container.dispatcher]
) -> ViewResult:
    """Exchange e-mail and password for a bearer token (same 401 for every mismatch)."""
    user = dispatcher.emit(LoginRequestedEvent(email=json.email, password=json.password)).data
    return LoginResponse(
        access_token=issue_access_token(user.id, user.role), expires_in=_expires_in()
    )
