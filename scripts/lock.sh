#!/usr/bin/env bash
# `make lock`: regenerate the hashed locks with pip-compile (pip-tools, from .venv-tools/):
#   requirements/lock.txt  every runtime and dev dependency of pyproject.toml, and the build backend (setuptools), for
#                          `pip install --require-hashes --no-deps` (scripts/setup.sh);
#   requirements/train.txt what `make model` adds (pyproject's `train` extra), consistent with lock.txt;
#   requirements/tools.txt pip-tools and pip-audit themselves (requirements/tools.in).
# pip-compile keeps every pin already in an output file unless pyproject.toml asks for another version: to move a
# version, change it in pyproject.toml (or delete its line from the lock) and run `make lock`. Then `make audit`.
# requirements/model.txt (the spaCy model, hashed by hand) is not compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools-venv.sh
export CUSTOM_COMPILE_COMMAND="make lock"
compile() {
    nice -n 5 .venv-tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --no-emit-find-links --no-emit-trusted-host "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
echo "==> requirements/lock.txt"
compile --extra dev --build-deps-for editable -o requirements/lock.txt pyproject.toml
echo "==> requirements/train.txt"
compile -c requirements/lock.txt -o requirements/train.txt requirements/train.in
echo "==> requirements/tools.txt"
compile -o requirements/tools.txt requirements/tools.in
echo "locked: $(grep -c '^[A-Za-z]' requirements/lock.txt) packages in lock.txt; now run: make audit"
