# Sourced by bin/run and bin/test: make .venv exist and match the requirements (by content hash).
# Usage: source bin/_venv.sh [runtime|dev]
set -euo pipefail

# runtime: what bin/run needs (the service and the embedded PostgreSQL); dev: plus the tooling.
requirements="requirements-local.txt"
[ "${1:-runtime}" = "dev" ] && requirements="requirements-dev.txt"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..."
  "$PYTHON" -m venv .venv
fi
wanted="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)-$requirements"
stamp=".venv/.installed-$(basename "$requirements" .txt)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "Installing $requirements into .venv ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$wanted" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
