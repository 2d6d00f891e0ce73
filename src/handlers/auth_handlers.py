"""Registration and login. Token minting stays in the route: it is an HTTP concern."""

from src.events.auth_events import (
    AuthenticatedUser,
    LoginRequestedEvent,
    UserRegisteredEvent,
    UserRegistrationRequestedEvent,
)
from src.events.base import EventResult, IEventHandler
from src.services.user_service import UserService


class RegisterUserHandler(IEventHandler[UserRegistrationRequestedEvent, AuthenticatedUser]):
    def __init__(self, user_service: UserService) -> None:
        self._users = user_service

    def handle(self, event: UserRegistrationRequestedEvent) -> EventResult[AuthenticatedUser]:
        user = self._users.register(event.email, event.password)
        registered = UserRegisteredEvent(user_id=user.id, email=user.email)
        return EventResult(AuthenticatedUser.of(user), (registered,))


class LoginHandler(IEventHandler[LoginRequestedEvent, AuthenticatedUser]):
    def __init__(self, user_service: UserService) -> None:
        self._users = user_service

    def handle(self, event: LoginRequestedEvent) -> EventResult[AuthenticatedUser]:
        return EventResult(
            AuthenticatedUser.of(self._users.authenticate(event.email, event.password))
        )
