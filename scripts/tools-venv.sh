#!/usr/bin/env bash
# The lock and audit tools (pip-tools, pip-audit) in their own venv .venv-tools/ (gitignored), never in .venv:
# installed from requirements/tools.txt with --require-hashes; skipped when tools.txt has not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv-tools/bin/python ]]; then
    PY=$(scripts/find-python.sh)
    echo "==> creating .venv-tools with $PY"
    rm -rf .venv-tools && "$PY" -m venv .venv-tools
fi
stamp_value=$(sha256sum requirements/tools.txt | cut -d' ' -f1)
if [[ "$(cat .venv-tools/.tools-stamp 2>/dev/null)" != "$stamp_value" ]]; then
    echo "==> installing the lock and audit tools (requirements/tools.txt)"
    # This machine's pip.conf names local mirror folders that may not exist; pip warns once per package.
    .venv-tools/bin/python -m pip install -q --require-hashes --no-deps -r requirements/tools.txt \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    echo "$stamp_value" > .venv-tools/.tools-stamp
fi
