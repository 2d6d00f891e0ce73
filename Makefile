# Convenience targets; each is a thin wrapper over bin/ (which works without make too).
.PHONY: install run test lint format check migrate seed bench

install:          ## create .venv with the runtime and dev dependencies
	bash -c 'source bin/_venv.sh dev'

run:              ## migrate, seed and serve on http://127.0.0.1:5000
	bin/run

test:             ## the whole test suite (PostgreSQL needed, see README)
	bin/test

lint:             ## black --check, flake8, mypy
	bin/pre-commit-check.sh --lint

format:           ## rewrite the code with black
	bash -c 'source bin/_venv.sh dev && black src tests migrations bench'

check:            ## lint + unit + integration, as before a commit
	bin/pre-commit-check.sh

migrate:          ## apply migrations to DATABASE_URL (default: instance/billing.db)
	bash -c 'source bin/_venv.sh runtime && APP_ENV=$${APP_ENV:-development} flask db upgrade'

seed:             ## seed the demo catalog (idempotent)
	bash -c 'source bin/_venv.sh runtime && APP_ENV=$${APP_ENV:-development} flask catalog seed'

bench:            ## load benchmarks on PostgreSQL (see bench/README.md)
	bash -c 'source bin/_venv.sh dev && python -m bench.run_all'
