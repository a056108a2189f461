#!/usr/bin/env bash
# `make audit` (part of `make test`): known vulnerabilities in every pinned release (requirements/lock.txt,
# model.txt, train.txt). pip-audit first (from .venv-tools/, PyPI as its data source); where it cannot get data for
# every package (it then skips them and still says "No known vulnerabilities found"), scripts/pypi_audit.py reads
# PyPI's JSON API itself and names what it could not check. AUDIT_REQUIRED=1: an unchecked pin fails the audit.
# Accepted findings: requirements/audit-ignore.txt (an id and the reason, one a line).
set -euo pipefail
cd "$(dirname "$0")/.."
files=(requirements/lock.txt requirements/model.txt requirements/train.txt)
scripts/tools-venv.sh
ignore_args=()
while read -r id _; do
    [[ -z "$id" || "$id" == \#* ]] || ignore_args+=(--ignore-vuln "$id")
done < requirements/audit-ignore.txt
req_args=()
for f in "${files[@]}"; do req_args+=(-r "$f"); done

out=$(mktemp); trap 'rm -f "$out"' EXIT
rc=0
timeout 600 .venv-tools/bin/pip-audit --disable-pip --require-hashes --progress-spinner off -s pypi -f json -o "$out" \
    "${req_args[@]}" "${ignore_args[@]}" 2>/dev/null || rc=$?
verdict=$(.venv-tools/bin/python - "$out" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("nodata 0 0"); sys.exit()
deps = report.get("dependencies", [])
skipped = sum(1 for d in deps if "skip_reason" in d)
vulns = sum(len(d.get("vulns", [])) for d in deps)
print(("complete" if deps and not skipped else "partial"), skipped, vulns)
PY
)
read -r state skipped vulns <<< "$verdict"
if [[ "$state" == complete ]]; then
    echo "pip-audit: every pinned release checked, $vulns known vulnerabilities not accepted"
    if ((rc != 0)); then .venv-tools/bin/python -m json.tool "$out"; exit 1; fi
    exit 0
fi
echo "pip-audit could not get data (exit $rc, $skipped packages skipped): falling back to scripts/pypi_audit.py"
exec .venv-tools/bin/python scripts/pypi_audit.py "${files[@]}"
