"""GET /health: is the API up, and can it reach its database?"""

import logging
from typing import Literal

from dependency_injector.wiring import Provide, inject
from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from src.container import Container
from src.openapi import ViewResult, responses, spec
from src.repositories.health_repository import HealthRepository
from src.schemas.common import ResponseModel

logger = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


class HealthOut(ResponseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]


@bp.get("/health")
@spec.validate(resp=responses({"HTTP_200": HealthOut, "HTTP_503": HealthOut}), tags=["health"])
@inject
def health(repository: HealthRepository = Provide[Container.health_repository]) -> ViewResult:
    """503 when the database does not answer, so a load balancer takes the instance out."""
    try:
        repository.ping()
    except SQLAlchemyError as error:
        logger.warning("health check: database unreachable: %s", type(error).__name__)
        return HealthOut(status="unavailable", database="unreachable"), 503
    return HealthOut(status="ok", database="ok")
