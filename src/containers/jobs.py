"""Jobs: the job engine's app (a task registry, no connection of its own) and the queue that
defers jobs on the current unit of work's connection; plus housekeeping the schedule runs."""

from dependency_injector import containers, providers

from src.handlers.maintenance_handlers import RetentionHandler
from src.jobs.engine import JobQueue, build_job_app, in_transaction_job_manager
from src.repositories.base import SessionProxy
from src.repositories.retention_repository import RetentionRepository
from src.services.retention_service import RetentionService


class JobsContainer(containers.DeclarativeContainer):
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    database_url = providers.Dependency(instance_of=str)

    # Shared and stateless: the task registry with the worker's (unopened) connector, and a
    # job manager that runs only on connections it is handed.
    job_app = providers.ThreadSafeSingleton(build_job_app, sqlalchemy_url=database_url)
    job_manager = providers.ThreadSafeSingleton(in_transaction_job_manager)
    job_queue = providers.Factory(
        JobQueue, job_app=job_app, job_manager=job_manager, session=session
    )

    retention_repository = providers.Factory(RetentionRepository, session=session)
    retention_service = providers.Factory(RetentionService, records=retention_repository)
    retention_handler = providers.Factory(RetentionHandler, retention_service=retention_service)
