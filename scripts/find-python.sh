#!/usr/bin/env bash
# Prints the path of a Python 3.12 interpreter, or explains on stderr why there is none and exits 1.
# 3.12 exactly: medspaCy needs >= 3.12 for spaCy 3.8, scispaCy 0.6.2 needs numpy<2 (no 3.13 wheels).
set -euo pipefail
ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' 2>/dev/null; }
candidates=()
[[ -n "${DOCVERIFY_PYTHON:-}" ]] && candidates+=("$DOCVERIFY_PYTHON")
for name in python3.12 python3; do
    p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for p in "$root"/versions/3.12.*/bin/python; do [[ -x "$p" ]] && candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.12.*/bin/python /usr/local/bin/python3.12 /usr/bin/python3.12; do
    [[ -x "$p" ]] && candidates+=("$p")
done
for p in "${candidates[@]}"; do
    # pyenv shims answer for versions that are not installed; ok() runs them, so a broken shim is skipped.
    if ok "$p"; then echo "$p"; exit 0; fi
done
{
    echo "docverify needs Python 3.12 (with venv and ensurepip) and found none."
    echo "Looked at: \$DOCVERIFY_PYTHON, python3.12, python3, pyenv's versions/3.12.*, /usr/local/bin and /usr/bin."
    for p in python3.13 python3; do command -v "$p" >/dev/null 2>&1 && echo "  found $p: $("$p" -V 2>&1) — not usable (needs exactly 3.12)"; done
    echo "Install it with one of:  apt-get install python3.12 python3.12-venv   |   pyenv install 3.12"
    echo "or point DOCVERIFY_PYTHON at a 3.12 interpreter."
} >&2
exit 1
