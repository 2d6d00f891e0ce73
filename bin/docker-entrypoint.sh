#!/bin/sh
# Container start: migrate (explicitly, never inside create_app), optionally seed and create the
# admin, then hand over to the command (granian by default, python -m src.serve; or flask worker).
set -eu
# Workers set RUN_MIGRATIONS=false: one container (the API) migrates, the others wait for it.
if [ "${RUN_MIGRATIONS:-true}" != "true" ]; then
  exec "$@"
fi
flask db upgrade
if [ "${SEED_DEMO_CATALOG:-false}" = "true" ]; then
  flask catalog seed
fi
if [ -n "${ADMIN_EMAIL:-}" ] && [ -n "${ADMIN_PASSWORD:-}" ]; then
  flask users create-admin "$ADMIN_EMAIL"
fi
exec "$@"
