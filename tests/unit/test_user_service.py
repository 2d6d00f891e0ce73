"""UserService over a fake repository and a real (cheap) Argon2 hasher."""

import uuid

import pytest
from argon2 import PasswordHasher

from src.errors import Conflict, Forbidden, NotFound, Unauthorized
from src.models.user import User, UserRole
from src.services.user_service import AdminOutcome, UserService
from tests.unit.fakes import FakeUserRepository

PASSWORD = "correct horse battery staple"


class RacingUserRepository(FakeUserRepository):
    """A concurrent registration committed after our pre-check: lookups miss, insert fails."""

    def get_by_email(self, email: str) -> User | None:
        return None


@pytest.fixture
def users() -> FakeUserRepository:
    return FakeUserRepository()


@pytest.fixture
def service(users: FakeUserRepository, hasher: PasswordHasher) -> UserService:
    return UserService(users=users, password_hasher=hasher)


def test_register_stores_a_user_with_a_hashed_password(
    service: UserService, users: FakeUserRepository, hasher: PasswordHasher
) -> None:
    user = service.register("ada@example.com", PASSWORD)

    assert users.get(user.id) is user
    assert user.email == "ada@example.com"
    assert user.role is UserRole.USER
    assert PASSWORD not in user.password_hash
    assert hasher.verify(user.password_hash, PASSWORD)


def test_register_stores_the_email_exactly_as_given(service: UserService) -> None:
    user = service.register("Ada@Example.COM", PASSWORD)

    assert user.email == "Ada@Example.COM"


def test_register_duplicate_email_is_email_taken(
    service: UserService, users: FakeUserRepository
) -> None:
    service.register("ada@example.com", PASSWORD)

    with pytest.raises(Conflict) as caught:
        service.register("ada@example.com", "another password")

    assert caught.value.code == "email_taken"
    assert caught.value.status_code == 409
    assert len(users.rows) == 1


def test_register_race_on_the_unique_email_is_email_taken(hasher: PasswordHasher) -> None:
    users = RacingUserRepository()
    service = UserService(users=users, password_hasher=hasher)
    service.register("ada@example.com", PASSWORD)

    with pytest.raises(Conflict) as caught:
        service.register("ada@example.com", PASSWORD)

    assert caught.value.code == "email_taken"
    assert len(users.rows) == 1


def test_authenticate_returns_the_user_for_the_right_password(service: UserService) -> None:
    registered = service.register("ada@example.com", PASSWORD)

    assert service.authenticate("ada@example.com", PASSWORD) is registered


def test_authenticate_wrong_password_is_invalid_credentials(service: UserService) -> None:
    service.register("ada@example.com", PASSWORD)

    with pytest.raises(Unauthorized) as caught:
        service.authenticate("ada@example.com", "wrong password")

    assert caught.value.code == "invalid_credentials"
    assert caught.value.status_code == 401


def test_authenticate_unknown_email_is_the_same_invalid_credentials(
    service: UserService,
) -> None:
    service.register("ada@example.com", PASSWORD)
    with pytest.raises(Unauthorized) as wrong_password:
        service.authenticate("ada@example.com", "wrong password")

    with pytest.raises(Unauthorized) as unknown_email:
        service.authenticate("nobody@example.com", PASSWORD)

    assert unknown_email.value.code == "invalid_credentials"
    assert unknown_email.value.to_dict() == wrong_password.value.to_dict()


def test_authenticate_with_a_corrupt_stored_hash_is_invalid_credentials(
    service: UserService, users: FakeUserRepository
) -> None:
    users.add(User(email="ada@example.com", password_hash="not-an-argon2-hash"))

    with pytest.raises(Unauthorized) as caught:
        service.authenticate("ada@example.com", PASSWORD)

    assert caught.value.code == "invalid_credentials"


def test_authenticate_rehashes_when_the_parameters_changed(
    service: UserService, users: FakeUserRepository, hasher: PasswordHasher
) -> None:
    costlier = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    old_hash = costlier.hash(PASSWORD)
    user = users.add(User(email="ada@example.com", password_hash=old_hash))

    service.authenticate("ada@example.com", PASSWORD)

    assert user.password_hash != old_hash
    assert not hasher.check_needs_rehash(user.password_hash)
    assert hasher.verify(user.password_hash, PASSWORD)


def test_authenticate_keeps_a_current_hash(service: UserService) -> None:
    user = service.register("ada@example.com", PASSWORD)
    current_hash = user.password_hash

    service.authenticate("ada@example.com", PASSWORD)

    assert user.password_hash == current_hash


def test_ensure_admin_creates_an_admin(service: UserService, hasher: PasswordHasher) -> None:
    admin, outcome = service.ensure_admin("root@example.com", PASSWORD)

    assert outcome is AdminOutcome.CREATED
    assert admin.role is UserRole.ADMIN
    assert admin.is_admin
    assert hasher.verify(admin.password_hash, PASSWORD)


def test_ensure_admin_promotes_an_existing_user_and_keeps_the_password(
    service: UserService, users: FakeUserRepository
) -> None:
    user = service.register("ada@example.com", PASSWORD)
    original_hash = user.password_hash

    admin, outcome = service.ensure_admin("ada@example.com", "a new password", promote=True)

    assert outcome is AdminOutcome.PROMOTED
    assert admin is user
    assert user.role is UserRole.ADMIN
    assert user.password_hash == original_hash
    assert len(users.rows) == 1


@pytest.mark.parametrize("password", [None, ""])
def test_ensure_admin_needs_a_password_to_create(
    service: UserService, users: FakeUserRepository, password: str | None
) -> None:
    with pytest.raises(ValueError, match="password is needed"):
        service.ensure_admin("root@example.com", password)

    assert users.rows == {}


def test_require_admin_returns_an_admin(service: UserService) -> None:
    admin, _ = service.ensure_admin("root@example.com", PASSWORD)

    assert service.require_admin(admin.id) is admin


def test_require_admin_forbids_a_regular_user(service: UserService) -> None:
    user = service.register("ada@example.com", PASSWORD)

    with pytest.raises(Forbidden) as caught:
        service.require_admin(user.id)

    assert caught.value.status_code == 403


def test_require_admin_forbids_an_unknown_user(service: UserService) -> None:
    with pytest.raises(Forbidden):
        service.require_admin(uuid.uuid4())


def test_require_admin_sees_a_demotion_at_once(service: UserService) -> None:
    admin, _ = service.ensure_admin("root@example.com", PASSWORD)
    admin.role = UserRole.USER

    with pytest.raises(Forbidden):
        service.require_admin(admin.id)


def test_get_unknown_user_is_user_not_found(service: UserService) -> None:
    with pytest.raises(NotFound) as caught:
        service.get(uuid.uuid4())

    assert caught.value.code == "user_not_found"


def trial_service(users: FakeUserRepository, hasher: PasswordHasher) -> UserService:
    return UserService(users=users, password_hasher=hasher, trial_credits=3)


def test_registration_grants_the_configured_trial_credits(
    users: FakeUserRepository, hasher: PasswordHasher
) -> None:
    user = trial_service(users, hasher).register("ada@example.com", PASSWORD)

    assert user.trial_remaining == 3


def test_a_created_admin_gets_the_trial_credits_and_a_promoted_user_keeps_hers(
    users: FakeUserRepository, hasher: PasswordHasher
) -> None:
    service = trial_service(users, hasher)
    user = service.register("ada@example.com", PASSWORD)
    user.trial_remaining = 1

    admin, _ = service.ensure_admin("root@example.com", PASSWORD)
    promoted, _ = service.ensure_admin("ada@example.com", None, promote=True)

    assert (admin.trial_remaining, promoted.trial_remaining) == (3, 1)
