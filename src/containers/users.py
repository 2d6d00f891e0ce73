"""Users and authentication: accounts, password hashing, service API keys.

Upstream of every other area: it reads nothing but settings and the session.
"""

from argon2 import PasswordHasher
from dependency_injector import containers, providers
from sqlalchemy import Engine

from src.config import Settings
from src.handlers.auth_handlers import LoginHandler, RegisterUserHandler
from src.repositories.account_reads import AccountReadRepository
from src.repositories.api_key_repository import ApiKeyRepository
from src.repositories.base import SessionProxy
from src.repositories.user_repository import UserRepository
from src.services.account_reads import AccountReadService
from src.services.api_key_service import ApiKeyService
from src.services.user_service import UserService


class UsersContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    # The autocommit engine (one round trip per read, no transaction around it).
    read_engine: providers.Dependency[Engine] = providers.Dependency()

    # Stateless and costly to configure: the one shared object in this area.
    password_hasher = providers.ThreadSafeSingleton(
        PasswordHasher,
        time_cost=settings.provided.PASSWORD_HASH_TIME_COST,
        memory_cost=settings.provided.PASSWORD_HASH_MEMORY_KIB,
        parallelism=settings.provided.PASSWORD_HASH_PARALLELISM,
    )

    user_repository = providers.Factory(UserRepository, session=session)
    api_key_repository = providers.Factory(ApiKeyRepository, session=session)

    user_service = providers.Factory(
        UserService,
        users=user_repository,
        password_hasher=password_hasher,
        trial_credits=settings.provided.TRIAL_CREDITS,
    )
    api_key_service = providers.Factory(ApiKeyService, keys=api_key_repository)
    # Stateless over the engine: built once per app, not on every request.
    account_read_service = providers.Singleton(
        AccountReadService, reads=providers.Singleton(AccountReadRepository, engine=read_engine)
    )

    register_user_handler = providers.Factory(RegisterUserHandler, user_service=user_service)
    login_handler = providers.Factory(LoginHandler, user_service=user_service)
