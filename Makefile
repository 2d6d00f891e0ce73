# Convenience targets; each is a thin wrapper over bin/ (which works without make too).
.PHONY: help install run worker test lint format check migrate seed bench
.DEFAULT_GOAL := help

help:             ## list these targets with what each does (also plain `make`)
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  make %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

install:          ## create .venv with the runtime and dev dependencies
	bash -c 'source bin/_venv.sh dev'

run:              ## embedded PostgreSQL, migrate, seed, serve on :5000 with a job worker
	bin/run

test:             ## the whole test suite (local PostgreSQL, or an embedded one)
	bin/test

lint:             ## black --check, flake8, mypy
	bin/pre-commit-check.sh --lint

format:           ## rewrite the code with black
	bash -c 'source bin/_venv.sh dev && black src tests migrations bench'

check:            ## lint + unit + integration, as before a commit
	bin/pre-commit-check.sh

migrate:          ## apply migrations to DATABASE_URL (default: the embedded server bin/run started)
	bash -c 'source bin/_venv.sh runtime && APP_ENV=$${APP_ENV:-development} flask db upgrade'

worker:           ## one more job worker on DATABASE_URL (bin/run starts one already)
	bash -c 'source bin/_venv.sh runtime && APP_ENV=$${APP_ENV:-development} flask worker'

seed:             ## seed the demo catalog (idempotent)
	bash -c 'source bin/_venv.sh runtime && APP_ENV=$${APP_ENV:-development} flask catalog seed'

bench:            ## load benchmarks on PostgreSQL (see bench/README.md)
	bash -c 'source bin/_venv.sh dev && python -m bench.run_all'
