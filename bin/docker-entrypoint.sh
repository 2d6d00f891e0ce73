#!/bin/sh
# Container start: migrate (explicitly, never inside create_app), optionally seed and create the
# admin, then hand over to the command (gunicorn by default).
set -eu
flask db upgrade
if [ "${SEED_DEMO_CATALOG:-false}" = "true" ]; then
  flask catalog seed
fi
if [ -n "${ADMIN_EMAIL:-}" ] && [ -n "${ADMIN_PASSWORD:-}" ]; then
  flask users create-admin "$ADMIN_EMAIL"
fi
exec "$@"
