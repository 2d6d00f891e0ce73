"""In-memory fakes of the repository ports, of the unit of work and of a payment provider
(no database anywhere).

Models are built transiently, so the column defaults a flush would apply (ids, timestamps,
statuses) are filled by each fake's ``add``; the unique constraints the services rely on are
imitated by raising ``DuplicateRow`` like the SQL repositories do, and CHECK constraints by
raising ``CheckViolation``. One module per aggregate; everything is re-exported here.
"""

from tests.unit.fakes.accounts import FakeIdempotencyKeyRepository, FakeUserRepository
from tests.unit.fakes.billing import FakeInvoiceRepository
from tests.unit.fakes.jobs import FakeJobQueue
from tests.unit.fakes.catalog import (
    OPEN_STATUSES,
    FakeAddOnSubscriptionRepository,
    FakeCatalogRepository,
    FakePurchaseRepository,
    FakeSubscriptionRepository,
)
from tests.unit.fakes.ledger import FakeTokenRepository
from tests.unit.fakes.payments import (
    FakeBundleCaptures,
    FakePaymentRepository,
    FakeWebhookEventRepository,
)
from tests.unit.fakes.providers import FakePaymentProvider
from tests.unit.fakes.rows import CheckViolation, apply_defaults
from tests.unit.fakes.savepoints import FakeSavepoints
from tests.unit.fakes.unit_of_work import FakeUnitOfWork
from tests.unit.fakes.usage import (
    FakeApiKeyRepository,
    FakeAutoReloadRepository,
    FakeUsageRepository,
)

__all__ = [
    "OPEN_STATUSES",
    "CheckViolation",
    "FakeAddOnSubscriptionRepository",
    "FakeApiKeyRepository",
    "FakeAutoReloadRepository",
    "FakeCatalogRepository",
    "FakeIdempotencyKeyRepository",
    "FakeInvoiceRepository",
    "FakeJobQueue",
    "FakeSavepoints",
    "FakePaymentProvider",
    "FakeBundleCaptures",
    "FakePaymentRepository",
    "FakePurchaseRepository",
    "FakeSubscriptionRepository",
    "FakeTokenRepository",
    "FakeUnitOfWork",
    "FakeUsageRepository",
    "FakeUserRepository",
    "FakeWebhookEventRepository",
    "apply_defaults",
]
