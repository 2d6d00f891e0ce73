#!/usr/bin/env bash
# Quality gate before a commit (as in the sprint plans):
#   bin/pre-commit-check.sh                 lint + unit + integration (everything)
#   bin/pre-commit-check.sh --quick         lint + unit (no database)
#   bin/pre-commit-check.sh --lint          black --check, flake8, mypy
#   bin/pre-commit-check.sh --unit          unit tests only
#   bin/pre-commit-check.sh --integration   integration and end-to-end tests
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/_venv.sh dev

run_lint=false run_unit=false run_integration=false
case "${1:-}" in
  "") run_lint=true run_unit=true run_integration=true ;;
  --quick) run_lint=true run_unit=true ;;
  --lint) run_lint=true ;;
  --unit) run_unit=true ;;
  --integration) run_integration=true ;;
  *) echo "usage: $0 [--quick|--lint|--unit|--integration]" >&2; exit 2 ;;
esac

if $run_lint; then
  echo "== black"; black --check --quiet src tests migrations bench
  echo "== flake8"; flake8 src tests migrations bench
  echo "== mypy"; mypy src tests bench
fi
if $run_unit; then
  echo "== unit tests"; python -m pytest tests/unit -q
fi
if $run_integration; then
  echo "== integration and end-to-end tests"; python -m pytest tests/integration tests/e2e -q
fi
echo "All checks passed."
